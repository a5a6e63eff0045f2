/** Opens the storage a configuration names. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ProviderConfig } from '../config/schema.js';
import { memoryStorage } from './memory.js';
import { sqliteStorage } from './sqlite.js';
import type { Storage } from './types.js';

export function openStorage(storage: ProviderConfig['storage']): Storage {
  if ('memory' in storage) return memoryStorage();
  if (storage.sqlite !== ':memory:') mkdirSync(dirname(storage.sqlite), { recursive: true });
  return sqliteStorage(storage.sqlite);
}
