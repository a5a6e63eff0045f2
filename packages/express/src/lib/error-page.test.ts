import { createHash } from 'node:crypto';
import { ClientError } from '@gatehouse/client';
import type { Response } from 'express';
import { describe, expect, it } from 'vitest';
import { sendErrorPage } from './error-page.js';

describe('sendErrorPage', () => {
  it('sends the status, no-store, and a CSP that allows only the page’s stylesheet', () => {
    const sent: { status?: number; headers?: Record<string, string>; body?: string } = {};
    const res = {
      status(s: number) {
        sent.status = s;
      },
      set(h: Record<string, string>) {
        sent.headers = h;
      },
      send(b: string) {
        sent.body = b;
      },
    } as unknown as Response;
    sendErrorPage(res, new ClientError('state_missing', 'm'), { login: '/login', home: '/' });
    expect(sent.status).toBe(400);
    expect(sent.headers?.['cache-control']).toBe('no-store');
    const style = /<style>([^<]*)<\/style>/.exec(sent.body!)![1]!;
    const hash = createHash('sha256').update(style).digest('base64');
    expect(sent.headers?.['content-security-policy']).toBe(
      `default-src 'none'; style-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    );
  });
});
