/**
 * The page a failed login shows, sent over Express. The page itself (what failed, why, what to
 * do) is @gatehouse/web's, one for every adapter; here only its CSP hash is computed once,
 * synchronously, with node:crypto.
 */
import { createHash } from 'node:crypto';
import {
  describeError,
  ERROR_PAGE_STYLE,
  errorPageCspFor,
  errorPageHeaders,
  renderErrorPage,
} from '@gatehouse/web/kit';
import type { Response } from 'express';

/** No script at all; the one stylesheet by its hash; no framing, no referrer. */
export const ERROR_PAGE_CSP = errorPageCspFor(
  createHash('sha256').update(ERROR_PAGE_STYLE).digest('base64'),
);

/** Sends the page with its status and headers (never cached, never framed). */
export function sendErrorPage(
  res: Response,
  err: unknown,
  links: { login: string; home: string },
): void {
  const content = describeError(err);
  res.status(content.status);
  res.set(errorPageHeaders(ERROR_PAGE_CSP));
  res.send(renderErrorPage(content, links));
}
