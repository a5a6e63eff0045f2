/** The security headers of every response of the app (the adapter's error page sets its own CSP). */
import type { RequestHandler } from 'express';

/**
 * `logoutOrigin` is where the sign-out form's redirect goes (the provider's end-session
 * endpoint): `form-action` covers the redirects that follow a form submission, so it is allowed
 * next to 'self'.
 */
export function securityHeaders(logoutOrigin: string | undefined): RequestHandler {
  const formAction = logoutOrigin ? `'self' ${logoutOrigin}` : `'self'`;
  const csp = [
    `default-src 'none'`,
    `style-src 'self'`,
    `img-src 'self'`,
    `base-uri 'none'`,
    `frame-ancestors 'none'`,
    `form-action ${formAction}`,
  ].join('; ');
  return (_req, res, next) => {
    res.set({
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
    });
    next();
  };
}
