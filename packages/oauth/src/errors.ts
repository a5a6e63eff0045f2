/**
 * The one error hierarchy shared by the Gatehouse provider and client.
 *
 * Every error has a stable `code`. Protocol errors (the ones that travel on the wire) also carry
 * the OAuth `error` value, an `error_description` that is safe to show, the HTTP status, and
 * whether the error may be redirected back to the client. The `detail` field is for logs only and
 * is never sent.
 */

/** The OAuth / OpenID Connect error values Gatehouse produces or understands. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'unauthorized_client'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'invalid_request_object'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  | 'invalid_request_uri'
  | 'login_required'
  | 'consent_required'
  | 'interaction_required'
  | 'account_selection_required'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'unsupported_token_type';

/** Where an error is produced. */
export type ErrorEndpoint = 'authorization' | 'token' | 'resource' | 'revocation';

/** What the registry knows of each error code: used for responses and for the `/errors` page. */
export interface ErrorInfo {
  readonly code: OAuthErrorCode;
  /** HTTP status when the error is returned as JSON or as an error page. */
  readonly status: number;
  /** Endpoints that can produce it. */
  readonly endpoints: readonly ErrorEndpoint[];
  /** Whether repeating the same request later may succeed. */
  readonly retryable: boolean;
  /** Where the code is defined. */
  readonly reference: string;
  /** One line: what the error means. */
  readonly meaning: string;
  /** The usual causes. */
  readonly cause: string;
  /** What the developer or user should do. */
  readonly fix: string;
}

const entries: ErrorInfo[] = [
  {
    code: 'invalid_request',
    status: 400,
    endpoints: ['authorization', 'token', 'resource', 'revocation'],
    retryable: false,
    reference: 'RFC 6749 §4.1.2.1, §5.2',
    meaning: 'The request is missing a required parameter, repeats one, or has a malformed value.',
    cause:
      'A required parameter such as response_type, redirect_uri, code or code_challenge is absent; a parameter appears twice; a value has the wrong format; id_token_hint was sent without prompt=none; client credentials were put in the URL.',
    fix: 'Read error_description: it names the parameter. Send each parameter once, in the request body for POST endpoints, and register the exact redirect_uri you send.',
  },
  {
    code: 'unauthorized_client',
    status: 400,
    endpoints: ['authorization', 'token'],
    retryable: false,
    reference: 'RFC 6749 §4.1.2.1, §5.2',
    meaning: 'The client is unknown, or is not allowed to use this flow or grant type.',
    cause:
      'The client_id is not registered (shown on an error page, never redirected), or the client type does not allow the response type or grant requested.',
    fix: 'Check the client_id against the provider’s registration and the grant_types registered for the client.',
  },
  {
    code: 'access_denied',
    status: 403,
    endpoints: ['authorization'],
    retryable: true,
    reference: 'RFC 6749 §4.1.2.1',
    meaning: 'The user (or the provider’s policy) refused the request.',
    cause: 'The user pressed “Deny” on the consent page.',
    fix: 'Show the user that sign-in was cancelled and offer to start again.',
  },
  {
    code: 'unsupported_response_type',
    status: 400,
    endpoints: ['authorization'],
    retryable: false,
    reference: 'RFC 6749 §4.1.2.1',
    meaning: 'The provider does not issue the response type requested.',
    cause:
      'response_type is something other than "code". Implicit and hybrid flows are not offered.',
    fix: 'Use the authorization code flow: response_type=code with PKCE.',
  },
  {
    code: 'invalid_scope',
    status: 400,
    endpoints: ['authorization', 'token'],
    retryable: false,
    reference: 'RFC 6749 §4.1.2.1, §5.2',
    meaning: 'The scope requested is unknown, malformed, or not allowed for this client.',
    cause:
      'The scope does not include "openid", names a scope the provider does not support, or one outside the client’s registered scope.',
    fix: 'Request "openid" plus only scopes listed in scopes_supported and registered for the client.',
  },
  {
    code: 'server_error',
    status: 500,
    endpoints: ['authorization', 'token', 'resource', 'revocation'],
    retryable: true,
    reference: 'RFC 6749 §4.1.2.1',
    meaning: 'The provider met an unexpected condition.',
    cause: 'An internal failure. The provider’s log has the detail, keyed by the request id.',
    fix: 'Retry later; if it persists, give the provider’s operator the time and request id.',
  },
  {
    code: 'temporarily_unavailable',
    status: 503,
    endpoints: ['authorization', 'token', 'resource', 'revocation'],
    retryable: true,
    reference: 'RFC 6749 §4.1.2.1',
    meaning: 'The provider is overloaded or a backing service is down.',
    cause: 'The database or cache could not be reached, or the provider is shedding load.',
    fix: 'Retry after a short back-off.',
  },
  {
    code: 'invalid_request_object',
    status: 400,
    endpoints: ['authorization'],
    retryable: false,
    reference: 'OpenID Connect Core §6.6; RFC 9101 §6',
    meaning: 'The signed request object (JAR) is invalid.',
    cause:
      'Its signature does not verify with the client’s key or secret, it has expired, its jti was already used, or its aud/iss/client_id are wrong.',
    fix: 'Sign a fresh request object for every request: iss = client_id, aud = the issuer, exp at most 300 s after iat, a new jti.',
  },
  {
    code: 'request_not_supported',
    status: 400,
    endpoints: ['authorization'],
    retryable: false,
    reference: 'OpenID Connect Core §6.6',
    meaning: 'The provider does not accept the request parameter for this client.',
    cause: 'A public client (spa, native) sent a request object.',
    fix: 'Public clients send plain query parameters with PKCE S256.',
  },
  {
    code: 'request_uri_not_supported',
    status: 400,
    endpoints: ['authorization'],
    retryable: false,
    reference: 'OpenID Connect Core §6.6; RFC 9126',
    meaning: 'The provider does not accept this request_uri.',
    cause: 'request_uri values are only accepted when they come from the provider’s PAR endpoint.',
    fix: 'Push the request to the PAR endpoint first, or send the parameters directly.',
  },
  {
    code: 'invalid_request_uri',
    status: 400,
    endpoints: ['authorization'],
    retryable: false,
    reference: 'RFC 9101 §6.2; RFC 9126 §4',
    meaning:
      'The request_uri from the PAR endpoint is unknown, expired, already used, or belongs to another client.',
    cause:
      'A pushed request can be used once, by the client that pushed it, within its expires_in (60 s by default). A page reload or a second tab reuses it.',
    fix: 'Push a new request for every authorization request and send the browser to the authorization endpoint right away with the same client_id.',
  },
  {
    code: 'login_required',
    status: 400,
    endpoints: ['authorization'],
    retryable: true,
    reference: 'OpenID Connect Core §3.1.2.6',
    meaning: 'prompt=none was requested but the user must sign in.',
    cause:
      'There is no session at the provider, it is older than max_age, or it belongs to a different user than id_token_hint.',
    fix: 'Send the user through an interactive sign-in (the same request without prompt=none).',
  },
  {
    code: 'consent_required',
    status: 400,
    endpoints: ['authorization'],
    retryable: true,
    reference: 'OpenID Connect Core §3.1.2.6',
    meaning: 'prompt=none was requested but the user has not consented to this client and scope.',
    cause: 'The user never approved the scopes requested, or a new scope was added.',
    fix: 'Send the user through an interactive request so they can approve.',
  },
  {
    code: 'interaction_required',
    status: 400,
    endpoints: ['authorization'],
    retryable: true,
    reference: 'OpenID Connect Core §3.1.2.6',
    meaning: 'prompt=none was requested but the provider needs the user to interact.',
    cause: 'Something other than sign-in or consent needs the user.',
    fix: 'Repeat the request without prompt=none.',
  },
  {
    code: 'account_selection_required',
    status: 400,
    endpoints: ['authorization'],
    retryable: true,
    reference: 'OpenID Connect Core §3.1.2.6',
    meaning: 'prompt=none was requested but the user must choose an account.',
    cause: 'prompt=select_account semantics are needed to continue.',
    fix: 'Repeat the request without prompt=none.',
  },
  {
    code: 'invalid_client',
    status: 401,
    endpoints: ['token', 'revocation'],
    retryable: false,
    reference: 'RFC 6749 §5.2',
    meaning: 'Client authentication failed.',
    cause:
      'Unknown client, wrong secret, no credentials, or a different authentication method than the one registered (token_endpoint_auth_method).',
    fix: 'Authenticate with the registered method; for client_secret_basic, form-encode the id and secret before Base64.',
  },
  {
    code: 'invalid_grant',
    status: 400,
    endpoints: ['token'],
    retryable: false,
    reference: 'RFC 6749 §5.2',
    meaning:
      'The code or refresh token is invalid, expired, already used, or was issued to another client.',
    cause:
      'The authorization code was redeemed before (a replay revokes every token issued from it), is older than its lifetime, the redirect_uri or code_verifier do not match the authorization request, or the refresh token was rotated or revoked.',
    fix: 'Never retry a code exchange. Start a new authorization; for refresh, use the newest refresh token.',
  },
  {
    code: 'unsupported_grant_type',
    status: 400,
    endpoints: ['token'],
    retryable: false,
    reference: 'RFC 6749 §5.2',
    meaning: 'The grant type is not supported, or not registered for this client.',
    cause: 'grant_type is missing, unknown, or not in the client’s grant_types.',
    fix: 'Use authorization_code, refresh_token or (service clients) client_credentials.',
  },
  {
    code: 'invalid_token',
    status: 401,
    endpoints: ['resource'],
    retryable: false,
    reference: 'RFC 6750 §3.1',
    meaning: 'The access token is missing, expired, revoked or malformed.',
    cause: 'The token has expired, was revoked, or was not sent in the Authorization header.',
    fix: 'Send "Authorization: Bearer <token>"; refresh the token when it expires.',
  },
  {
    code: 'insufficient_scope',
    status: 403,
    endpoints: ['resource'],
    retryable: false,
    reference: 'RFC 6750 §3.1',
    meaning: 'The access token does not carry the scope this resource needs.',
    cause: 'UserInfo needs an access token issued with the "openid" scope.',
    fix: 'Request the scope during authorization.',
  },
  {
    code: 'unsupported_token_type',
    status: 400,
    endpoints: ['revocation'],
    retryable: false,
    reference: 'RFC 7009 §2.2.1',
    meaning: 'The provider cannot revoke this kind of token.',
    cause: 'token_type_hint names a type the provider does not know.',
    fix: 'Use token_type_hint access_token or refresh_token, or omit it.',
  },
];

/** The error registry: code → what it means, its status, and how to fix it. */
export const ERRORS: ReadonlyMap<OAuthErrorCode, ErrorInfo> = new Map(
  entries.map((e) => [e.code, e]),
);

/** Looks up an error code; unknown codes (from a peer) get a generic entry. */
export function errorInfo(code: string): ErrorInfo | undefined {
  return ERRORS.get(code as OAuthErrorCode);
}

/**
 * Makes a string safe for `error_description`: RFC 6749 allows only %x20-21 / %x23-5B / %x5D-7E
 * (printable ASCII without `"` and `\`).
 */
export function sanitizeDescription(text: string): string {
  let out = '';
  for (const ch of text.normalize('NFKD')) {
    const c = ch.charCodeAt(0);
    if (c === 0x22) out += "'";
    else if (c === 0x5c) out += '/';
    else if (c >= 0x20 && c <= 0x7e) out += ch;
    else if (c === 0x2018 || c === 0x2019) out += "'";
    else if (c === 0x201c || c === 0x201d) out += "'";
    else if (c === 0x2192) out += '->';
    else if (c === 0x2014 || c === 0x2013) out += '-';
    else if (c === 0x09 || c === 0x0a || c === 0x0d) out += ' ';
    // other characters (combining marks, non-ASCII) are dropped
  }
  return out;
}

/** Base class: every Gatehouse error has a stable code. */
export class GatehouseError extends Error {
  /** Stable, documented identifier of the error. */
  readonly code: string;
  /** Log-only detail; never sent to a client or shown to a user. */
  readonly detail: string | undefined;

  constructor(code: string, message: string, options?: { detail?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.detail = options?.detail;
  }
}

export interface OAuthErrorOptions {
  /** Log-only detail. */
  detail?: string;
  /** Whether the error may be sent to the client's redirect URI. Default: false. */
  redirectable?: boolean;
  /** Overrides the registry's status. */
  status?: number;
  /** Overrides the error_uri (otherwise the provider fills in its own reference page). */
  errorUri?: string;
  cause?: unknown;
}

/** A protocol error: it travels on the wire as `error` / `error_description` / `error_uri`. */
export class OAuthError extends GatehouseError {
  readonly error: string;
  readonly errorDescription: string;
  readonly errorUri: string | undefined;
  readonly status: number;
  /**
   * Whether this error may be delivered by redirecting to the client. Never true while the
   * client or its redirect URI is unverified (RFC 6749 §4.1.2.1).
   */
  readonly redirectable: boolean;
  /** Whether retrying the same thing later may succeed. */
  readonly retryable: boolean;

  constructor(
    error: OAuthErrorCode | string,
    description: string,
    options: OAuthErrorOptions = {},
  ) {
    const info = errorInfo(error);
    super(error, sanitizeDescription(description), options);
    this.error = error;
    this.errorDescription = sanitizeDescription(description);
    this.errorUri = options.errorUri;
    this.status = options.status ?? info?.status ?? 400;
    this.redirectable = options.redirectable ?? false;
    this.retryable = info?.retryable ?? false;
  }

  /** The RFC 6749 §5.2 JSON body. */
  toJSON(errorUri?: string): Record<string, string> {
    const body: Record<string, string> = { error: this.error };
    if (this.errorDescription) body['error_description'] = this.errorDescription;
    const uri = this.errorUri ?? errorUri;
    if (uri) body['error_uri'] = uri;
    return body;
  }

  /** The same error, now allowed to be redirected (the client and redirect URI were verified). */
  asRedirectable(): OAuthError {
    if (this.redirectable) return this;
    const copy = new OAuthError(this.error, this.errorDescription, {
      redirectable: true,
      status: this.status,
      ...(this.detail === undefined ? {} : { detail: this.detail }),
      ...(this.errorUri === undefined ? {} : { errorUri: this.errorUri }),
    });
    return copy;
  }
}

/** Shorthand constructors, so call sites read like the RFC. */
export const oauthError = {
  invalidRequest: (d: string, o?: OAuthErrorOptions) => new OAuthError('invalid_request', d, o),
  invalidClient: (d: string, o?: OAuthErrorOptions) => new OAuthError('invalid_client', d, o),
  invalidGrant: (d: string, o?: OAuthErrorOptions) => new OAuthError('invalid_grant', d, o),
  invalidScope: (d: string, o?: OAuthErrorOptions) => new OAuthError('invalid_scope', d, o),
  unauthorizedClient: (d: string, o?: OAuthErrorOptions) =>
    new OAuthError('unauthorized_client', d, o),
  unsupportedGrantType: (d: string, o?: OAuthErrorOptions) =>
    new OAuthError('unsupported_grant_type', d, o),
  invalidToken: (d: string, o?: OAuthErrorOptions) => new OAuthError('invalid_token', d, o),
  serverError: (d: string, o?: OAuthErrorOptions) => new OAuthError('server_error', d, o),
  temporarilyUnavailable: (d: string, o?: OAuthErrorOptions) =>
    new OAuthError('temporarily_unavailable', d, o),
} as const;
