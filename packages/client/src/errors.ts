/**
 * The client toolkit's errors: one class per kind of failure, each with a stable `code` (the
 * documented identifier applications switch on), a message safe to log, and whether trying again
 * (a new login, a later request) may help. They extend the `GatehouseError` shared with the
 * provider.
 *
 * Nothing here ever carries a code, token, secret or PKCE verifier.
 */
import { errorInfo, GatehouseError } from '@gatehouse/oauth';

/** Every code a client error can have (each is documented in docs/client.md). */
export const CLIENT_ERROR_CODES = [
  // Callback, in the order the steps run (SYSTEM.md "The client toolkit's callback").
  'callback_duplicate_parameter',
  'callback_code_and_error',
  'state_missing',
  'transaction_not_found',
  'state_mismatch',
  'issuer_mismatch',
  'issuer_missing',
  'provider_error',
  'code_missing',
  'code_malformed',
  // Talking to the provider.
  'token_endpoint_error',
  'network_timeout',
  'network_error',
  'token_response_invalid',
  'id_token_invalid',
  'userinfo_invalid',
  'discovery_failed',
  'jwks_failed',
  'par_failed',
  // Browser sessions: no signed-in session to get a token from.
  'login_required',
  // Setup.
  'config_invalid',
] as const;

export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

export interface ClientErrorOptions {
  /** What probably caused it and what to do, for the developer (never secret). */
  hint?: string;
  retryable?: boolean;
  detail?: string;
  cause?: unknown;
}

/** `text` restricted to RFC 6749's error characters (%x20-21 / %x23-5B / %x5D-7E) and `max` long. */
function printable(text: string, max: number): string {
  return text.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '').slice(0, max);
}

/** Base of every client toolkit error. */
export class ClientError extends GatehouseError {
  declare readonly code: ClientErrorCode;
  /** What probably caused it and what to do about it. */
  readonly hint: string | undefined;
  /** Whether starting again (a new login) or retrying later may succeed. */
  readonly retryable: boolean;

  constructor(code: ClientErrorCode, message: string, options: ClientErrorOptions = {}) {
    super(code, message, options);
    this.hint = options.hint;
    this.retryable = options.retryable ?? false;
  }
}

/**
 * The provider answered the authorization request with an error (`error`, `error_description`,
 * `error_uri` in the callback). `retryable` follows the error: `temporarily_unavailable` and
 * `server_error` may pass; `access_denied` needs the user to decide otherwise.
 */
export class AuthorizationResponseError extends ClientError {
  readonly error: string;
  readonly errorDescription: string | undefined;
  readonly errorUri: string | undefined;

  constructor(rawError: string, rawDescription?: string, rawUri?: string) {
    // The values come from the callback URL, so from anyone: keep them to the characters and
    // length OAuth allows before they reach messages and logs.
    const error = printable(rawError, 128) || 'invalid_error_value';
    const errorDescription =
      rawDescription === undefined ? undefined : printable(rawDescription, 1024);
    const errorUri = rawUri === undefined ? undefined : printable(rawUri, 2048);
    const retryable =
      error === 'server_error' ||
      error === 'temporarily_unavailable' ||
      error === 'login_required' ||
      error === 'interaction_required' ||
      error === 'consent_required' ||
      error === 'account_selection_required';
    super(
      'provider_error',
      `the provider refused the authorization request: ${error}${errorDescription ? ` (${errorDescription})` : ''}`,
      { retryable, ...(errorInfo(error) ? { hint: errorInfo(error)!.cause } : {}) },
    );
    this.error = error;
    this.errorDescription = errorDescription;
    this.errorUri = errorUri;
  }
}

/** The token endpoint (or another back-channel endpoint) answered with an RFC 6749 §5.2 error. */
export class TokenEndpointError extends ClientError {
  readonly status: number;
  readonly error: string;
  readonly errorDescription: string | undefined;
  readonly errorUri: string | undefined;

  constructor(
    status: number,
    body: { error: string; error_description?: string; error_uri?: string },
    endpoint = 'token',
  ) {
    super(
      'token_endpoint_error',
      `the ${endpoint} endpoint answered ${status} ${body.error}${body.error_description ? ` (${body.error_description})` : ''}`,
      {
        retryable: status >= 500 || body.error === 'temporarily_unavailable',
        ...(body.error === 'invalid_grant'
          ? {
              hint: 'the code was already used, has expired, or does not match the redirect_uri or PKCE verifier: start a new login',
            }
          : body.error === 'invalid_client'
            ? {
                hint: 'check the client_id, the client secret or key, and the authentication method',
              }
            : {}),
      },
    );
    this.status = status;
    this.error = body.error;
    this.errorDescription = body.error_description;
    this.errorUri = body.error_uri;
  }
}

/** Which check of the ID token failed. */
export type IdTokenCheck =
  | 'malformed'
  | 'alg'
  | 'signature'
  | 'iss'
  | 'aud'
  | 'azp'
  | 'exp'
  | 'iat'
  | 'nonce'
  | 'auth_time'
  | 'at_hash'
  | 'sub';

/** The ID token failed a check of OpenID Connect Core §3.1.3.7. */
export class IdTokenError extends ClientError {
  readonly check: IdTokenCheck;

  constructor(check: IdTokenCheck, message: string, options: { cause?: unknown } = {}) {
    super('id_token_invalid', `ID token rejected (${check}): ${message}`, options);
    this.check = check;
  }
}
