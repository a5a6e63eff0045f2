/**
 * The page a failed login shows: what failed (a title from the error's code), why (the error's
 * message and hint), what to do (sign in again when that can help), and the code to quote. The
 * errors it renders never carry a code, token, state or secret (the client toolkit's rule); the
 * page escapes everything and runs no script. One page for every adapter: here as a Web
 * `Response`; @gatehouse/express sends the same page and headers from `@gatehouse/web/kit`.
 */
import { AuthorizationResponseError, ClientError, TokenEndpointError } from '@gatehouse/client';

export interface ErrorPageContent {
  status: number;
  title: string;
  /** What happened, in the error's words. */
  message: string;
  /** Why it probably happened. */
  hint?: string;
  /** What the user can do. */
  advice: string;
  /** Offer a "Try signing in again" link. */
  retry: boolean;
  /** The error's stable code, with the provider's OAuth error when there is one. */
  code: string;
}

/** Provider errors that need the user to act, not a fresh attempt to go differently. */
const USER_SIDE = new Set([
  'login_required',
  'consent_required',
  'interaction_required',
  'account_selection_required',
]);

/** What the page says about `err`, and with which status. */
export function describeError(err: unknown): ErrorPageContent {
  if (!(err instanceof ClientError)) {
    return {
      status: 500,
      title: 'Sign-in failed',
      message: 'An unexpected error stopped the sign-in.',
      advice: 'Try signing in again. If it keeps failing, contact the site’s support.',
      retry: true,
      code: 'unexpected',
    };
  }
  const base = {
    message: err.message,
    ...(err.hint !== undefined ? { hint: err.hint } : {}),
    code: err.code,
  };
  const again = 'Start the sign-in again from this site.';
  const support = 'If it keeps happening, contact the site’s support and quote the error code.';
  switch (err.code) {
    case 'state_missing':
    case 'transaction_not_found':
    case 'state_mismatch':
      return {
        ...base,
        status: 400,
        title:
          err.code === 'transaction_not_found'
            ? 'Your sign-in expired or could not be matched to this browser'
            : 'This sign-in response was not started here',
        advice: `${again} Use the same browser (and the same address of this site) from start to finish, and allow cookies. If you were already signed in, you can simply go back to the site.`,
        retry: true,
      };
    case 'callback_duplicate_parameter':
    case 'callback_code_and_error':
    case 'code_missing':
    case 'code_malformed':
      return {
        ...base,
        status: 400,
        title: 'The sign-in response is malformed',
        advice: `The link was altered on the way back from the identity provider. ${again}`,
        retry: true,
      };
    case 'issuer_mismatch':
    case 'issuer_missing':
      return {
        ...base,
        status: 400,
        title: 'The sign-in response came from an unexpected identity provider',
        advice: `This can be an attack (a "mix-up"); nothing was accepted. ${again} ${support}`,
        retry: true,
      };
    case 'provider_error': {
      const error = err instanceof AuthorizationResponseError ? err.error : 'unknown';
      const code = `provider_error (${error})`;
      if (error === 'access_denied') {
        return {
          ...base,
          code,
          status: 400,
          title: 'Sign-in was cancelled',
          advice:
            'You (or the identity provider) declined the sign-in. You can sign in again if you change your mind.',
          retry: true,
        };
      }
      if (error === 'server_error' || error === 'temporarily_unavailable') {
        return {
          ...base,
          code,
          status: 502,
          title: 'The identity provider could not complete the sign-in',
          advice: 'The problem is on the identity provider’s side. Wait a moment and try again.',
          retry: true,
        };
      }
      return {
        ...base,
        code,
        status: 400,
        title: 'The identity provider refused the sign-in',
        advice: USER_SIDE.has(error)
          ? 'Sign in again and complete the steps the identity provider asks for.'
          : `The site’s sign-in request was not accepted. ${support}`,
        retry: USER_SIDE.has(error) || err.retryable,
      };
    }
    case 'token_endpoint_error': {
      const error = err instanceof TokenEndpointError ? err.error : 'unknown';
      const code = `token_endpoint_error (${error})`;
      if (error === 'invalid_grant') {
        return {
          ...base,
          code,
          status: 400,
          title: 'This sign-in was already used or has expired',
          advice: `A sign-in link works once and for a few minutes only. ${again}`,
          retry: true,
        };
      }
      return {
        ...base,
        code,
        status: 502,
        title: 'The identity provider did not accept the site’s sign-in',
        advice: err.retryable
          ? 'Wait a moment and try again.'
          : `The site is probably misconfigured. ${support}`,
        retry: err.retryable,
      };
    }
    case 'network_timeout':
    case 'network_error':
    case 'discovery_failed':
    case 'jwks_failed':
    case 'par_failed':
      return {
        ...base,
        status: 502,
        title: 'The identity provider could not be reached',
        advice: `Wait a moment and try again. ${support}`,
        retry: true,
      };
    case 'token_response_invalid':
    case 'id_token_invalid':
    case 'userinfo_invalid':
      return {
        ...base,
        status: 502,
        title: 'The identity provider’s answer could not be verified',
        advice: `Nothing was accepted. Try again; ${support.charAt(0).toLowerCase()}${support.slice(1)}`,
        retry: true,
      };
    case 'config_invalid':
      return {
        ...base,
        status: 500,
        title: 'Sign-in is misconfigured on this site',
        advice: support,
        retry: false,
      };
    default:
      return {
        ...base,
        status: 400,
        title: 'Sign-in failed',
        advice: `${again} ${support}`,
        retry: err.retryable,
      };
  }
}

/** The page's one stylesheet, allowed by its hash in the CSP. */
export const ERROR_PAGE_STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}' +
  'main{max-width:36rem;margin:10vh auto;padding:2rem;background:#fff;border-radius:8px;' +
  'box-shadow:0 1px 4px rgba(0,0,0,.12)}h1{font-size:1.4rem;margin-top:0}' +
  'h2{font-size:1rem;margin:1.25rem 0 .25rem}p{margin:.25rem 0}' +
  'a.button{display:inline-block;margin-top:1rem;padding:.5rem 1rem;background:#2554c7;' +
  'color:#fff;border-radius:4px;text-decoration:none}code{font-size:.9rem}' +
  '.links a{margin-right:1rem}.code{color:#5c6373;font-size:.9rem;margin-top:1.5rem}';
/** SHA-256 of the stylesheet, for the CSP (computed once; `crypto.subtle` is asynchronous). */
let styleHash: Promise<string> | undefined;

/** No script at all; the one stylesheet by its hash; no framing, no referrer. */
export async function errorPageCsp(): Promise<string> {
  styleHash ??= crypto.subtle
    .digest('SHA-256', new TextEncoder().encode(ERROR_PAGE_STYLE))
    .then((digest) => btoa(String.fromCharCode(...new Uint8Array(digest))));
  return errorPageCspFor(await styleHash);
}

/** The CSP for `ERROR_PAGE_STYLE`'s SHA-256 in base64 (for a caller that hashes it itself). */
export function errorPageCspFor(styleHash: string): string {
  return `default-src 'none'; style-src 'sha256-${styleHash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

/** The page's response headers (never cached, never framed), given its CSP. */
export function errorPageHeaders(csp: string): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': csp,
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
  };
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

export function renderErrorPage(
  content: ErrorPageContent,
  links: { login: string; home: string },
): string {
  const e = escapeHtml;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${e(content.title)}</title>
<style>${ERROR_PAGE_STYLE}</style>
</head>
<body>
<main>
<h1>${e(content.title)}</h1>
<h2>What happened</h2>
<p>${e(content.message)}</p>
${content.hint ? `<h2>Why</h2>\n<p>${e(content.hint)}</p>\n` : ''}<h2>What to do</h2>
<p>${e(content.advice)}</p>
<p class="links">${content.retry ? `<a class="button" href="${e(links.login)}">Try signing in again</a> ` : ''}<a href="${e(links.home)}">Back to the site</a></p>
<p class="code">Error code: <code>${e(content.code)}</code></p>
</main>
</body>
</html>
`;
}

/** The page as a response, with its status and headers (never cached, never framed). */
export async function errorPageResponse(
  err: unknown,
  links: { login: string; home: string },
): Promise<Response> {
  const content = describeError(err);
  return new Response(renderErrorPage(content, links), {
    status: content.status,
    headers: errorPageHeaders(await errorPageCsp()),
  });
}
