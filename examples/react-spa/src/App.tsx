/**
 * The example's one page: sign in, the user's card, a call to the example API with the access
 * token, sign out — and every error of the login with its code, message and hint.
 *
 * Every control has a `data-testid` for the browser end-to-end test.
 */
import type { ClientError } from '@gatehouse/client';
import { useAuth } from '@gatehouse/react';
import { useState } from 'react';
import { config } from './config.js';

type ApiState =
  | { status: 'idle' }
  | { status: 'loading' }
  | { status: 'ok'; body: unknown }
  | { status: 'error'; message: string };

export function App() {
  const { isLoading, isAuthenticated, user, error, login, logout } = useAuth();
  return (
    <main>
      <header>
        <h1>Gatehouse React SPA example</h1>
        <p>
          A public <code>spa</code> client of <code>{config.issuer}</code>: authorization code with
          PKCE, tokens in memory only.
        </p>
      </header>
      {error ? <ErrorPanel error={error} onRetry={() => login()} /> : null}
      {isLoading ? (
        <p data-testid="loading" role="status">
          Loading…
        </p>
      ) : isAuthenticated && user ? (
        <SignedIn
          name={typeof user['name'] === 'string' ? user['name'] : undefined}
          email={typeof user['email'] === 'string' ? user['email'] : undefined}
          sub={user.sub}
          onLogout={() => logout()}
        />
      ) : (
        <section data-testid="signed-out" aria-labelledby="signed-out-title">
          <h2 id="signed-out-title">You are not signed in</h2>
          <button type="button" data-testid="login-button" onClick={() => login()}>
            Sign in
          </button>
        </section>
      )}
    </main>
  );
}

function SignedIn(props: {
  name: string | undefined;
  email: string | undefined;
  sub: string;
  onLogout: () => void;
}) {
  const { getAccessToken } = useAuth();
  const [api, setApi] = useState<ApiState>({ status: 'idle' });

  async function callApi() {
    setApi({ status: 'loading' });
    try {
      const token = await getAccessToken();
      const res = await fetch(`${config.apiUrl}/api/hello`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body: unknown = await res.json().catch(() => null);
      if (res.ok) {
        setApi({ status: 'ok', body });
      } else {
        const problem = body as { error?: string; error_description?: string } | null;
        setApi({
          status: 'error',
          message: `HTTP ${res.status}${problem?.error ? ` ${problem.error}` : ''}${problem?.error_description ? `: ${problem.error_description}` : ''}`,
        });
      }
    } catch (err) {
      const e = err as Partial<ClientError>;
      setApi({
        status: 'error',
        message: e.code
          ? `${e.code}: ${e.message}`
          : `the API could not be reached (${config.apiUrl})`,
      });
    }
  }

  return (
    <section data-testid="user-card" aria-labelledby="user-title">
      <h2 id="user-title">
        Signed in as <span data-testid="user-name">{props.name ?? props.sub}</span>
      </h2>
      <dl>
        <dt>Email</dt>
        <dd data-testid="user-email">{props.email ?? '—'}</dd>
        <dt>Subject</dt>
        <dd>
          <code data-testid="user-sub">{props.sub}</code>
        </dd>
      </dl>
      <p>
        <button
          type="button"
          data-testid="call-api-button"
          onClick={callApi}
          disabled={api.status === 'loading'}
        >
          Call the API
        </button>{' '}
        <button type="button" data-testid="logout-button" onClick={props.onLogout}>
          Sign out
        </button>
      </p>
      {api.status === 'loading' ? (
        <p role="status" data-testid="api-loading">
          Calling {config.apiUrl}/api/hello…
        </p>
      ) : null}
      {api.status === 'ok' ? (
        <pre data-testid="api-result">{JSON.stringify(api.body, null, 2)}</pre>
      ) : null}
      {api.status === 'error' ? (
        <p role="alert" data-testid="api-error">
          {api.message}
        </p>
      ) : null}
    </section>
  );
}

function ErrorPanel({ error, onRetry }: { error: ClientError; onRetry: () => void }) {
  // The provider's own error (AuthorizationResponseError, TokenEndpointError), when there is one.
  const provider = error as ClientError & {
    error?: string;
    errorDescription?: string;
    errorUri?: string;
  };
  return (
    <section role="alert" data-testid="auth-error" aria-labelledby="auth-error-title">
      <h2 id="auth-error-title">Sign-in failed</h2>
      <dl>
        <dt>Code</dt>
        <dd>
          <code data-testid="auth-error-code">{error.code}</code>
          {provider.error ? (
            <>
              {' '}
              (provider: <code data-testid="auth-error-provider">{provider.error}</code>)
            </>
          ) : null}
        </dd>
        <dt>Message</dt>
        <dd data-testid="auth-error-message">{error.message}</dd>
        {error.hint ? (
          <>
            <dt>Hint</dt>
            <dd data-testid="auth-error-hint">{error.hint}</dd>
          </>
        ) : null}
        {provider.errorUri?.startsWith('https://') || provider.errorUri?.startsWith('http://') ? (
          <>
            <dt>Reference</dt>
            <dd>
              <a href={provider.errorUri} rel="noreferrer">
                {provider.errorUri}
              </a>
            </dd>
          </>
        ) : null}
      </dl>
      <button type="button" data-testid="retry-button" onClick={onRetry}>
        Try again
      </button>
    </section>
  );
}
