/**
 * `<AuthProvider>` and `useAuth()`: the React side of the adapter. All the work is in
 * `AuthController` (lib/controller.ts); this file only ties its life to the component's and its
 * state to React's (`useSyncExternalStore`, so every reader sees the same snapshot).
 */
import { ClientError } from '@gatehouse/client';
import {
  createContext,
  type ReactNode,
  useContext,
  useEffect,
  useMemo,
  useState,
  useSyncExternalStore,
} from 'react';
import {
  AuthController,
  type AuthOptions,
  type AuthSnapshot,
  type LoginOptions,
  type LogoutOptions,
} from './lib/controller.js';

export interface AuthProviderProps extends AuthOptions {
  children?: ReactNode;
}

/** What `useAuth()` returns. The functions keep their identity for the provider's life. */
export interface Auth extends AuthSnapshot {
  /** Leaves for the provider's login page. Never rejects: failures show in `error`. */
  login(options?: LoginOptions): Promise<void>;
  /** Ends the session (here, in the other tabs, at the provider). Never rejects. */
  logout(options?: LogoutOptions): Promise<void>;
  /** A valid access token, refreshed when about to expire. Rejects when there is none. */
  getAccessToken(): Promise<string>;
}

const AuthContext = createContext<AuthController | undefined>(undefined);

/**
 * Signs the users of a single-page app in with a Gatehouse `spa` client (authorization code +
 * PKCE, public client). Mount it once, at the root, around everything that calls `useAuth()`.
 * Its props are read when it mounts; to change the issuer or client, remount it (a `key`).
 *
 * On mount it handles the callback when the page is the redirect URI with a code or an error —
 * once, even under StrictMode or with a reload — and removes the OAuth parameters from the
 * address bar. Tokens stay in memory (never in localStorage); tabs share the session.
 *
 * @example
 * ```tsx
 * createRoot(el).render(
 *   <StrictMode>
 *     <AuthProvider issuer="https://id.example" clientId="my-spa">
 *       <App />
 *     </AuthProvider>
 *   </StrictMode>,
 * );
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-2.1.1 (PKCE for public clients)
 */
export function AuthProvider({ children, ...options }: AuthProviderProps): ReactNode {
  // Created once per mounted provider; creating one has no side effect (StrictMode may make two
  // and keep one).
  const [controller] = useState(() => new AuthController(options));
  useEffect(() => {
    controller.start();
    return controller.stop;
  }, [controller]);
  return <AuthContext.Provider value={controller}>{children}</AuthContext.Provider>;
}

/**
 * The authentication state and actions, inside `<AuthProvider>`.
 *
 * @example
 * ```tsx
 * const { isLoading, isAuthenticated, user, error, login, logout, getAccessToken } = useAuth();
 * const res = await fetch('/api', { headers: { authorization: `Bearer ${await getAccessToken()}` } });
 * ```
 */
export function useAuth(): Auth {
  const controller = useContext(AuthContext);
  if (!controller) {
    throw new ClientError('config_invalid', 'useAuth() must be called inside <AuthProvider>');
  }
  const snapshot = useSyncExternalStore(
    controller.subscribe,
    controller.getSnapshot,
    controller.getServerSnapshot,
  );
  return useMemo(
    () => ({
      ...snapshot,
      login: controller.login,
      logout: controller.logout,
      getAccessToken: controller.getAccessToken,
    }),
    [snapshot, controller],
  );
}
