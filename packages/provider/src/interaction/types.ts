/**
 * The interaction pages the provider serves itself. The engine never builds HTML: it calls a
 * `Pages` implementation, so a deployment can replace the look without touching the protocol.
 * Every function returns a complete HTML document; the engine adds the security headers.
 * Values passed in are raw text: implementations must HTML-escape them.
 */
import type { ErrorInfo } from '@gatehouse/oauth';

export interface ScopeView {
  name: string;
  description: string;
}

/**
 * Every view carries `stylesheetHref`: the absolute URL of the stylesheet
 * (`{issuer}/assets/gatehouse.css`). Pages are served under several paths below the issuer, which
 * may itself have a path prefix, so a relative or root-relative link would not work everywhere.
 */
export interface Pages {
  /** Sign-in form: POSTs `username`, `password` and `csrf` to `action`. */
  login(view: {
    stylesheetHref: string;
    action: string;
    csrf: string;
    clientName: string;
    /** Pre-filled username (login_hint, or the last attempt). */
    username?: string;
    /** A message about the last attempt ("Wrong username or password."). */
    error?: string;
  }): string;
  /** Consent form: POSTs `decision` = `allow` | `deny` and `csrf` to `action`. */
  consent(view: {
    stylesheetHref: string;
    action: string;
    csrf: string;
    clientName: string;
    username: string;
    scopes: ScopeView[];
  }): string;
  /** "Sign out?" confirmation: POSTs `decision` = `logout` | `stay` and `csrf` to `action`. */
  logoutConfirm(view: {
    stylesheetHref: string;
    action: string;
    csrf: string;
    clientName?: string;
  }): string;
  /**
   * Shown after a logout that does not redirect. `signedOut` is false when the user chose to stay
   * signed in on the confirmation page.
   */
  loggedOut(view: { stylesheetHref: string; clientName?: string; signedOut: boolean }): string;
  /** An error that cannot be redirected to the client (HTTP 400 etc.). */
  error(view: {
    stylesheetHref: string;
    error: string;
    description: string;
    /** Link to the error reference (`{issuer}/errors#code`). */
    errorUri: string;
    requestId: string;
  }): string;
  /** The `/errors` reference page: one section per code, anchored by `id="<code>"`. */
  errorsReference(view: {
    stylesheetHref: string;
    issuer: string;
    entries: readonly ErrorInfo[];
  }): string;
  /** The stylesheet served at `/assets/gatehouse.css` (pages link it; no inline styles). */
  readonly stylesheet: string;
}
