/**
 * Authentication events (SYSTEM.md callback step 9): one structured log line per step of a login
 * — started, callback received, failed (with the reason code), succeeded (with `sub`), token
 * refreshed. They never carry a code, token, secret, state or PKCE verifier.
 */

/** The logger the application injects: pino's signature (`info(object, message)`) fits. */
export interface AuthLogger {
  info(fields: Record<string, unknown>, message?: string): void;
  warn(fields: Record<string, unknown>, message?: string): void;
}

export type AuthEvent =
  | { event: 'login_started'; issuer: string; clientId: string; signed: boolean; pushed: boolean }
  | { event: 'callback_received'; issuer: string; clientId: string }
  | {
      event: 'login_failed';
      issuer: string;
      clientId: string;
      /** The error's stable code (`state_mismatch`, `id_token_invalid`, …). */
      reason: string;
      /** The ID token check that failed, for `id_token_invalid`. */
      check?: string;
      /** The provider's OAuth error, when it sent one. */
      error?: string;
    }
  | { event: 'login_succeeded'; issuer: string; clientId: string; sub: string }
  | { event: 'token_refreshed'; issuer: string; clientId: string; sub?: string };

const MESSAGES: Record<AuthEvent['event'], string> = {
  login_started: 'login started',
  callback_received: 'login callback received',
  login_failed: 'login failed',
  login_succeeded: 'login succeeded',
  token_refreshed: 'tokens refreshed',
};

export interface AuthEvents {
  emit(event: AuthEvent): void;
}

/** Events written to `logger` (failures as warnings); a logger that throws never breaks a login. */
export function authEvents(logger: AuthLogger | undefined): AuthEvents {
  return {
    emit(event) {
      if (!logger) return;
      try {
        if (event.event === 'login_failed') logger.warn(event, MESSAGES[event.event]);
        else logger.info(event, MESSAGES[event.event]);
      } catch {
        // Logging is best effort.
      }
    },
  };
}
