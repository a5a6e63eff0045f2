/**
 * @gatehouse/react — Gatehouse for React single-page apps: a public (`spa`) client with PKCE,
 * tokens in memory, the callback handled exactly once, refresh coordinated across tabs.
 * Browser APIs only; no server code (the client toolkit's Node fast paths are left out of
 * browser bundles).
 */
export type {
  AuthOptions,
  AuthSnapshot,
  LoginOptions,
  LogoutOptions,
} from './lib/controller.js';
export { type Auth, AuthProvider, type AuthProviderProps, useAuth } from './provider.js';
export {
  type BrowserTransaction,
  type SessionTransactionStore,
  type SessionTransactionStoreOptions,
  sessionTransactionStore,
} from './session-transactions.js';
