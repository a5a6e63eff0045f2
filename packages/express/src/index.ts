/**
 * @gatehouse/express — Gatehouse for Express 5: one call mounts the login, callback and logout
 * routes, keeps the application session in an encrypted cookie (or a store) with its tokens
 * refreshed before they expire, and gives `requiresAuth()`.
 */
export {
  type Gatehouse,
  type GatehouseContext,
  type GatehouseOptions,
  gatehouse,
  type LoginOptions,
  type Routes,
} from './gatehouse.js';
export {
  type MemorySessionStoreOptions,
  memorySessionStore,
  type SessionStore,
  type StoredSession,
} from './session.js';
