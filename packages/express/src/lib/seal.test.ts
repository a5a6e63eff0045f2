import { sealerSuite } from '../../../../test/support/sealer-suite.js';
import { sealer } from './seal.js';

sealerSuite('sealer (node:crypto)', sealer);
