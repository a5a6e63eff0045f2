/**
 * `@gatehouse/provider`: the OpenID Connect provider as a `Request → Response` function, its
 * configuration, storage adapters, logger and pages. The Node server and the CLI live in
 * `@gatehouse/provider/node`.
 */
export {
  ConfigError,
  type ConfigInput,
  type ProviderConfig,
  parseConfig,
} from './config/schema.js';
export { jsonLogger, type Logger, silentLogger } from './engine/logger.js';
export { type HttpRequest, Reply, ReplyHeaders } from './engine/reply.js';
export { defaultPages } from './interaction/pages.js';
export type { Pages } from './interaction/types.js';
export { createProvider, type Provider, type ProviderOptions } from './provider.js';
export { memoryStorage } from './storage/memory.js';
export { sqliteStorage } from './storage/sqlite.js';
export type * from './storage/types.js';
