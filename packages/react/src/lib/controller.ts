/**
 * The adapter without React: the state `useAuth()` shows, the callback handled once, login,
 * logout, and access tokens refreshed when they are about to expire. `AuthProvider` creates one
 * and subscribes to it (`useSyncExternalStore`).
 *
 * Nothing happens in the constructor (React may create and discard one during a render); the
 * browser is touched from `start()` on, which `AuthProvider` calls in an effect.
 */
import {
  type AuthorizationOptions,
  ClientError,
  type ClientErrorCode,
  type ClientOptions,
  GatehouseClient,
  type IdTokenClaims,
  TokenEndpointError,
} from '@gatehouse/client';
import {
  type BrowserTransaction,
  type SessionTransactionStore,
  sessionTransactionStore,
} from '../session-transactions.js';
import { type BrowserEnv, browserEnv } from './env.js';
import { callbackKey, once, runningFor } from './once.js';
import { newer, type SharedSession, Tabs } from './tabs.js';

/** Options of `<AuthProvider>` (besides `children`). Read once, when it mounts. */
export interface AuthOptions {
  /** The provider's issuer identifier, e.g. `https://id.example`. */
  issuer: string;
  /** The `spa` client's id. */
  clientId: string;
  /** Registered redirect URI. Default: `<origin>/callback`. */
  redirectUri?: string;
  /** Registered post-logout redirect URI. Default: `<origin>/`. */
  postLogoutRedirectUri?: string;
  /** Default: `openid profile email offline_access` (`offline_access` brings a refresh token). */
  scope?: string;
  /**
   * On a page load that is not a callback, and when no other tab shares a session, try a
   * `prompt=none` login: a round trip to the provider that signs the user back in if they still
   * have a session there, and comes back quietly signed out otherwise. Tokens live in memory
   * only, so without it a reload (or a new tab, when no other tab is open) starts signed out.
   * Default: false.
   */
  silentLogin?: boolean;
  /** Refresh the access token when it expires within this many seconds. Default: 60. */
  refreshSkewSeconds?: number;
  /**
   * Share the session between the tabs of this origin (BroadcastChannel) and refresh it under a
   * browser-wide Web Lock. Needs both APIs; without them each tab keeps its own session.
   * Default: true.
   */
  shareAcrossTabs?: boolean;
  /**
   * Takes the app to `path` (same origin) after a callback: your router's navigate. Default:
   * `history.replaceState` (no reload, no new history entry).
   */
  navigate?: (path: string) => void;
  /** Client toolkit options a public client may set. */
  client?: Pick<
    ClientOptions,
    | 'fetch'
    | 'timeoutMs'
    | 'transactionTtlMs'
    | 'idTokenAlgorithms'
    | 'clockToleranceSeconds'
    | 'logger'
    | 'metadata'
    | 'jwksSnapshot'
    | 'now'
  >;
  /** Where login transactions live. Default: {@link sessionTransactionStore}. */
  transactions?: SessionTransactionStore;
}

/** Options of `login()`. */
export interface LoginOptions
  extends Pick<AuthorizationOptions, 'scope' | 'prompt' | 'maxAge' | 'loginHint' | 'extra'> {
  /** A path of this app to come back to. Default: the current page. */
  returnTo?: string;
}

/** Options of `logout()`. */
export interface LogoutOptions {
  /** Default: the provider's `postLogoutRedirectUri` option. */
  postLogoutRedirectUri?: string;
  /** Only forget the session here (and revoke the refresh token); stay on the page. */
  localOnly?: boolean;
}

/** What `useAuth()` shows. */
export interface AuthSnapshot {
  /** True until the first decision: callback handled, session received from a tab, or none. */
  isLoading: boolean;
  isAuthenticated: boolean;
  /** The ID token's claims (validated). */
  user: IdTokenClaims | undefined;
  /**
   * Why the last login, callback or refresh failed; `login()` and `logout()` clear it.
   * Every callback error is a `ClientError` with a stable `code` (docs/client.md).
   */
  error: ClientError | undefined;
}

type Outcome =
  | { kind: 'session'; session: SharedSession; returnTo: string; navigated: boolean }
  | {
      kind: 'error';
      error: ClientError;
      /** A silent login that found no session: not an error for the user. */
      quiet: boolean;
      returnTo: string | undefined;
      navigated: boolean;
    };

/** The parameters an authorization response may carry; removed from the address bar. */
const OAUTH_PARAMS = [
  'code',
  'state',
  'iss',
  'error',
  'error_description',
  'error_uri',
  'session_state',
];
/** A `prompt=none` answer that only means "not signed in at the provider". */
const QUIET_ERRORS = new Set([
  'login_required',
  'consent_required',
  'interaction_required',
  'account_selection_required',
]);
/** How long a starting tab waits for another tab's session, when one holds a session. */
const ASK_TIMEOUT_MS = 1000;
/** How long a tab waits for the session another tab refreshed. */
const HANDOFF_TIMEOUT_MS = 5000;

const INITIAL: AuthSnapshot = Object.freeze({
  isLoading: true,
  isAuthenticated: false,
  user: undefined,
  error: undefined,
});

/** The code of "sign in again" errors. */
const LOGIN_REQUIRED: ClientErrorCode = 'login_required';

function loginRequired(message: string): ClientError {
  return new ClientError(LOGIN_REQUIRED, message, {
    hint: 'sign in again (login()); tokens live in this page only, so a reload also ends the session unless silentLogin is on or another tab shares it',
    retryable: true,
  });
}

/** Any failure as a `ClientError`: the toolkit's own, or an unexpected one wrapped. */
function asClientError(err: unknown): ClientError {
  if (err instanceof ClientError) return err;
  const secure = typeof globalThis.crypto?.subtle?.digest === 'function';
  const name = err instanceof Error ? err.name : typeof err;
  return new ClientError(
    'config_invalid',
    `unexpected ${name}${err instanceof Error ? `: ${err.message}` : ''}`,
    {
      cause: err,
      ...(secure
        ? {}
        : { hint: 'Web Crypto is missing: serve the app over https (or http://localhost)' }),
    },
  );
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class AuthController {
  private snapshot: AuthSnapshot = INITIAL;
  private readonly listeners = new Set<() => void>();
  private readonly waiters = new Set<() => void>();
  /** Logins ended here or in another tab: never adopted again. */
  private readonly ended = new Set<string>();
  private env: BrowserEnv | undefined;
  private store: SessionTransactionStore | undefined;
  private tabs: Tabs | undefined;
  private session: SharedSession | undefined;
  private clientPromise: Promise<GatehouseClient> | undefined;
  private initialized: Promise<void> | undefined;
  private refreshing: Promise<SharedSession> | undefined;
  private started = false;
  private readonly scope: string;
  private readonly skewMs: number;

  constructor(
    private readonly options: AuthOptions,
    private readonly makeEnv: () => BrowserEnv = browserEnv,
  ) {
    for (const name of ['issuer', 'clientId'] as const) {
      if (typeof options?.[name] !== 'string' || options[name] === '') {
        throw new ClientError('config_invalid', `AuthProvider: \`${name}\` is required`);
      }
    }
    const skew = options.refreshSkewSeconds ?? 60;
    if (!Number.isFinite(skew) || skew < 0) {
      throw new ClientError(
        'config_invalid',
        'AuthProvider: `refreshSkewSeconds` must be a number of seconds, 0 or more',
      );
    }
    this.skewMs = skew * 1000;
    this.scope = options.scope ?? 'openid profile email offline_access';
  }

  // Arrow properties: stable identities for React (subscribe) and for apps (login, logout…).

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): AuthSnapshot => this.snapshot;

  getServerSnapshot = (): AuthSnapshot => INITIAL;

  /** Starts (or, after `stop()`, resumes): idempotent, safe under StrictMode's double effects. */
  start = (): void => {
    if (this.started) return;
    this.started = true;
    let env: BrowserEnv;
    try {
      env = this.setup();
    } catch (err) {
      this.update({ isLoading: false, error: asClientError(err) });
      return;
    }
    if (this.options.shareAcrossTabs !== false && Tabs.supported(env)) {
      try {
        this.tabs = new Tabs(env, this.options.clientId, this.options.issuer, {
          session: (session) => {
            if (newer(session, this.session)) this.adopt(session, false);
          },
          ask: () => {
            if (this.session) this.tabs?.announce(this.session);
          },
          ended: (id) => this.forget(id, undefined, false),
        });
        if (this.session) void this.tabs.mark(this.session).catch(() => undefined);
      } catch {
        // A channel the browser refuses (sandboxed frame): this tab keeps its session alone.
        this.tabs = undefined;
      }
    }
    this.initialized ??= this.init();
  };

  /** Stops listening to other tabs (unmount). The session and a callback in flight stay. */
  stop = (): void => {
    this.started = false;
    this.tabs?.close();
    this.tabs = undefined;
  };

  /** Starts a login: saves the transaction, then leaves for the provider. Never rejects. */
  login = async (options: LoginOptions = {}): Promise<void> => {
    await this.startLogin(options, false);
  };

  /**
   * Ends the session here and in the other tabs, revokes the refresh token (best effort), then
   * goes to the provider's end-session endpoint (RP-Initiated Logout) unless `localOnly`.
   * Never rejects.
   */
  logout = async (options: LogoutOptions = {}): Promise<void> => {
    const session = this.session;
    if (session) this.forget(session.id, undefined, true);
    else this.update({ isAuthenticated: false, user: undefined, error: undefined });
    try {
      const env = this.setup();
      const client = await this.client();
      const refreshToken = session?.tokens.refreshToken;
      if (refreshToken !== undefined && client.metadata.revocation_endpoint) {
        await client.revoke(refreshToken, 'refresh_token').catch(() => undefined);
      }
      if (options.localOnly || !client.metadata.end_session_endpoint) return;
      const idToken = session?.tokens.idToken;
      const url = client.logoutUrl({
        ...(idToken !== undefined ? { idTokenHint: idToken } : {}),
        postLogoutRedirectUri:
          options.postLogoutRedirectUri ??
          this.options.postLogoutRedirectUri ??
          `${env.url().origin}/`,
      });
      env.navigate(url.href);
    } catch (err) {
      this.update({ error: asClientError(err) });
    }
  };

  /**
   * A valid access token: the current one, or a refreshed one when it expires within
   * `refreshSkewSeconds`. Rejects with `login_required` when there is no session (or it cannot
   * be refreshed), or with the refresh's error.
   */
  getAccessToken = async (): Promise<string> => {
    await this.initialized;
    const session = this.session;
    if (!session) throw loginRequired('not signed in');
    if (this.fresh(session)) return session.tokens.accessToken;
    return (await this.refresh()).tokens.accessToken;
  };

  // ---------------------------------------------------------------------------------------------

  private setup(): BrowserEnv {
    if (this.env) return this.env;
    const env = this.makeEnv();
    this.store =
      this.options.transactions ??
      sessionTransactionStore({ storage: () => env.sessionStorage(), now: env.now });
    this.env = env;
    return env;
  }

  private redirectUri(env: BrowserEnv): string {
    return this.options.redirectUri ?? `${env.url().origin}/callback`;
  }

  private client(): Promise<GatehouseClient> {
    const env = this.setup();
    this.clientPromise ??= GatehouseClient.create({
      now: env.now,
      ...this.options.client,
      issuer: this.options.issuer,
      clientId: this.options.clientId,
      redirectUri: this.redirectUri(env),
      scope: this.scope,
    }).catch((err: unknown) => {
      // Discovery failed: the next login tries again.
      this.clientPromise = undefined;
      throw err;
    });
    return this.clientPromise;
  }

  private async init(): Promise<void> {
    const env = this.env!;
    const { clientId } = this.options;
    try {
      const url = env.url();
      let run: Promise<Outcome> | undefined;
      if (this.isCallback(url)) {
        run = once(callbackKey(clientId, url), () => this.handleCallbackOnce(url));
      }
      // A provider mounted while this page's callback is still being handled waits for it.
      run ??= runningFor<Outcome>(clientId);
      if (run) {
        this.finish(await run);
        return;
      }
      if (await this.askOtherTabs()) return;
      if (this.options.silentLogin) {
        const silent = once(`silent\n${clientId}`, () => this.startLogin({}, true));
        if (silent) {
          await silent;
          return;
        }
      }
      this.update({ isLoading: false });
    } catch (err) {
      this.update({ isLoading: false, error: asClientError(err) });
    }
  }

  private onRedirectPath(url: URL): boolean {
    const redirect = new URL(this.redirectUri(this.env!));
    return url.origin === redirect.origin && url.pathname === redirect.pathname;
  }

  /** The redirect URI's path, with an authorization response (a code or an error) in the query. */
  private isCallback(url: URL): boolean {
    return (
      this.onRedirectPath(url) && (url.searchParams.has('code') || url.searchParams.has('error'))
    );
  }

  /**
   * The callback, in the order that makes it run once — under StrictMode, with several
   * providers, and across reloads:
   *
   * 1. take the transaction out of sessionStorage (read and delete);
   * 2. remove the OAuth parameters from the address bar (`history.replaceState`);
   * 3. only then talk to the provider (discovery, the code exchange).
   *
   * 1 and 2 run in one synchronous block, before any `await`. A reload happens between tasks,
   * so it comes either before both — the reloaded page finds the code and its transaction and
   * handles the callback itself, once — or after both — it finds neither: not a callback, no
   * exchange, no error. There is no moment where the address bar still shows a code whose
   * transaction is gone (a spurious `transaction_not_found`), nor a stored transaction whose
   * code could be exchanged a second time (`invalid_grant`, and the provider revoking the
   * tokens of the first). Within the page, `once()` gives every caller the same run.
   *
   * A reload during step 3 loses that login's tokens (they lived in this page's memory): the
   * page starts signed out, or signs in again silently with `silentLogin`. The code is never
   * sent twice.
   */
  private handleCallbackOnce(url: URL): Promise<Outcome> {
    const params = new URLSearchParams(url.search);
    const state = params.get('state');
    const store = this.store!;
    // 1. One-time: deleted before anything else looks at the response (SECURITY.md).
    const transaction = state ? store.takeNow(state) : undefined;
    // The logins still pending in this tab tell a state mismatch from a lost transaction.
    const pending = store.pendingNow();
    // 2. Same task: a reload cannot fall between 1 and 2.
    const clean = new URL(url.href);
    for (const name of OAUTH_PARAMS) clean.searchParams.delete(name);
    this.env!.replaceUrl(`${clean.pathname}${clean.search}${clean.hash}`);
    // 3.
    return this.exchange(params, state, transaction, pending);
  }

  private async exchange(
    params: URLSearchParams,
    state: string | null,
    transaction: BrowserTransaction | undefined,
    pending: number,
  ): Promise<Outcome> {
    const returnTo =
      transaction?.returnTo !== undefined ? this.safePath(transaction.returnTo) : undefined;
    try {
      const client = await this.client();
      const result = await client.callback(params, {
        take: async (s) => (s === state ? transaction : undefined),
        pending: async () => pending,
      });
      const session: SharedSession = {
        id: randomId(),
        generation: 1,
        createdAt: this.env!.now(),
        tokens: result.tokens,
        claims: result.claims,
      };
      return { kind: 'session', session, returnTo: returnTo ?? '/', navigated: false };
    } catch (err) {
      const error = asClientError(err);
      const providerError = (error as { error?: unknown }).error;
      const quiet =
        transaction?.silent === true &&
        error.code === 'provider_error' &&
        typeof providerError === 'string' &&
        QUIET_ERRORS.has(providerError);
      return { kind: 'error', error, quiet, returnTo, navigated: false };
    }
  }

  /** Applies a callback's outcome (each provider sharing the run applies it; one navigates). */
  private finish(outcome: Outcome): void {
    if (outcome.kind === 'session') this.adopt(outcome.session, true);
    else this.update({ isLoading: false, ...(outcome.quiet ? {} : { error: outcome.error }) });
    if (outcome.navigated) return;
    if (outcome.kind === 'session' || outcome.quiet) {
      outcome.navigated = true;
      if (outcome.returnTo !== undefined) this.goTo(outcome.returnTo);
    }
  }

  private goTo(path: string): void {
    if (this.options.navigate) {
      this.options.navigate(path);
      return;
    }
    const url = this.env!.url();
    if (`${url.pathname}${url.search}${url.hash}` !== path) this.env!.replaceUrl(path);
  }

  /** A path on this origin, or `/`: `returnTo` never leaves the app. */
  private safePath(value: string): string {
    if (typeof value !== 'string' || !value.startsWith('/') || /^\/[/\\]/.test(value)) return '/';
    const origin = this.env!.url().origin;
    try {
      const url = new URL(value, origin);
      return url.origin === origin ? `${url.pathname}${url.search}${url.hash}` : '/';
    } catch {
      return '/';
    }
  }

  /** Asks the other tabs for their session, when some tab holds one. */
  private async askOtherTabs(): Promise<boolean> {
    // `this.tabs` again after the await: StrictMode may have stopped and restarted meanwhile.
    if (!this.tabs || !(await this.tabs.anySession())) return false;
    this.tabs?.ask();
    return this.waitFor(() => this.session !== undefined, ASK_TIMEOUT_MS);
  }

  private async startLogin(options: LoginOptions, silent: boolean): Promise<void> {
    this.update({ error: undefined });
    try {
      const env = this.setup();
      const client = await this.client();
      const url = env.url();
      // Never back to the redirect URI itself (it would show an empty callback page).
      const here = this.onRedirectPath(url) ? '/' : `${url.pathname}${url.search}${url.hash}`;
      const request = await client.authorizationRequest({
        scope: options.scope ?? this.scope,
        ...(silent
          ? { prompt: 'none' }
          : options.prompt !== undefined
            ? { prompt: options.prompt }
            : {}),
        ...(options.maxAge !== undefined ? { maxAge: options.maxAge } : {}),
        ...(options.loginHint !== undefined ? { loginHint: options.loginHint } : {}),
        ...(options.extra !== undefined ? { extra: options.extra } : {}),
        returnTo: this.safePath(options.returnTo ?? here),
      });
      const transaction: BrowserTransaction = silent
        ? { ...request.transaction, silent: true }
        : request.transaction;
      await this.store!.save(undefined, transaction);
      env.navigate(request.url.href);
    } catch (err) {
      this.update({ isLoading: false, error: asClientError(err) });
    }
  }

  private fresh(session: SharedSession): boolean {
    const expiresAt = session.tokens.expiresAt;
    const now = this.env?.now() ?? Date.now();
    return expiresAt === undefined || expiresAt - this.skewMs > now;
  }

  /** One refresh at a time in this tab; in the whole browser when the tabs share the session. */
  private refresh(): Promise<SharedSession> {
    if (!this.refreshing) {
      const tabs = this.tabs;
      const run = tabs ? tabs.withRefreshLock(() => this.refreshNow()) : this.refreshNow();
      this.refreshing = run.finally(() => {
        this.refreshing = undefined;
      });
    }
    return this.refreshing;
  }

  private async refreshNow(): Promise<SharedSession> {
    let current: SharedSession;
    for (;;) {
      const session = this.session;
      if (!session) throw loginRequired('not signed in');
      // While this tab waited for the lock, another may have refreshed and handed it over.
      if (this.fresh(session)) return session;
      current = session;
      if (!this.tabs) break;
      // The hand-over may still be on its way: the marker of a later generation says so.
      const highest = await this.tabs.highestGeneration(current.id).catch(() => 0);
      if (highest <= current.generation) break;
      const { id } = current;
      this.tabs?.ask();
      const arrived = await this.waitFor(
        () => this.session?.id !== id || this.session.generation >= highest,
        HANDOFF_TIMEOUT_MS,
      );
      if (!arrived) {
        throw new ClientError(
          'network_timeout',
          'another tab refreshed the tokens but did not hand them over in time',
          {
            retryable: true,
            hint: 'the refresh token was not used here: presenting a rotated one would revoke the session',
          },
        );
      }
      // Check again what arrived: fresh, or itself due for a refresh.
    }
    const refreshToken = current.tokens.refreshToken;
    if (refreshToken === undefined) {
      const error = loginRequired('the access token has expired and there is no refresh token');
      this.forget(current.id, error, true);
      throw error;
    }
    let result: Awaited<ReturnType<GatehouseClient['refresh']>>;
    try {
      const client = await this.client();
      result = await client.refresh(refreshToken, { expectedSub: current.claims.sub });
    } catch (err) {
      const error = asClientError(err);
      // The grant is gone (expired, revoked, reused) or the provider now names another user.
      if (
        (error instanceof TokenEndpointError && error.error === 'invalid_grant') ||
        error.code === 'id_token_invalid'
      ) {
        this.forget(current.id, error, true);
      }
      throw error;
    }
    if (this.ended.has(current.id)) throw loginRequired('signed out during the refresh');
    const { tokens, claims } = result;
    const next: SharedSession = {
      id: current.id,
      generation: current.generation + 1,
      createdAt: current.createdAt,
      tokens: {
        ...tokens,
        // RFC 6749 §6: without a new refresh token (or ID token) the old one stays valid.
        ...(tokens.refreshToken === undefined ? { refreshToken } : {}),
        ...(tokens.idToken === undefined && current.tokens.idToken !== undefined
          ? { idToken: current.tokens.idToken }
          : {}),
      },
      claims: claims ?? current.claims,
    };
    // The marker before the lock is released (this function's return): whoever takes the lock
    // next sees that generation `next` exists, even before the announcement reaches it.
    // Never fatal: the tokens are rotated already, and losing them would cost the session.
    await this.tabs?.mark(next).catch(() => undefined);
    this.adopt(next, true);
    return next;
  }

  private adopt(session: SharedSession, announce: boolean): void {
    if (this.ended.has(session.id)) return;
    this.session = session;
    if (this.tabs) {
      void this.tabs.mark(session).catch(() => undefined);
      if (announce) this.tabs.announce(session);
    }
    this.update({
      isLoading: false,
      isAuthenticated: true,
      user: session.claims,
      error: undefined,
    });
    this.wake();
  }

  /** Ends login `id` here (and, when `announce`, in the other tabs). */
  private forget(id: string, error: ClientError | undefined, announce: boolean): void {
    this.ended.add(id);
    if (announce) this.tabs?.ended(id);
    if (this.session?.id !== id) return;
    this.session = undefined;
    void this.tabs?.mark(undefined).catch(() => undefined);
    this.update({ isLoading: false, isAuthenticated: false, user: undefined, error });
    this.wake();
  }

  /** Resolves true when `done()` holds (checked at each change), false after `ms`. */
  private waitFor(done: () => boolean, ms: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        resolve(done());
      }, ms);
      this.waiters.add(check);
    });
  }

  private update(patch: Partial<AuthSnapshot>): void {
    const next = { ...this.snapshot, ...patch };
    const keys = Object.keys(next) as (keyof AuthSnapshot)[];
    if (keys.every((key) => next[key] === this.snapshot[key])) return;
    this.snapshot = Object.freeze(next);
    this.wake();
    for (const listener of [...this.listeners]) listener();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
