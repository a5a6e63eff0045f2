import { memoryStorage } from './memory.js';
import { describeStorage } from './storage.suite.js';

describeStorage('memory', () => memoryStorage());
