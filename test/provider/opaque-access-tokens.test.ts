/** accessTokenFormat: 'opaque' — sealed access tokens that only the provider can read. */
import { beforeEach, describe, expect, it } from 'vitest';
import { memoryStorage } from '../../packages/provider/src/storage/memory.js';
import {
  authorizeUrl,
  Browser,
  baseConfig,
  basic,
  exchange,
  signIn,
  startTestProvider,
  type TestProvider,
  WEB_SECRET,
} from '../support/harness.js';

let tp: TestProvider;
beforeEach(async () => {
  tp = await startTestProvider({ config: { ...baseConfig(), accessTokenFormat: 'opaque' } });
});

async function tokens(): Promise<{ code: string; body: Record<string, string> }> {
  const code = (await signIn(new Browser(tp), await authorizeUrl(tp))).searchParams.get('code')!;
  return { code, body: (await (await exchange(tp, code)).json()) as Record<string, string> };
}

const userinfo = (token: string) =>
  tp.fetch(`${tp.issuer}/v1/oauth/userinfo`, { headers: { authorization: `Bearer ${token}` } });

const form = (path: string, body: Record<string, string>) =>
  tp.fetch(`${tp.issuer}/v1/oauth/${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic('web-app', WEB_SECRET),
    },
    body: new URLSearchParams(body),
  });

describe('opaque access tokens', () => {
  it('are not JWTs and reveal nothing, but work at userinfo', async () => {
    const { body } = await tokens();
    const token = body['access_token']!;
    expect(token.startsWith('gat1.')).toBe(true);
    expect(token.split('.')).not.toHaveLength(3);
    expect(Buffer.from(token.split('.')[3] ?? '', 'base64url').toString('latin1')).not.toContain(
      'alice',
    );
    const info = await userinfo(token);
    expect(info.status).toBe(200);
    expect(((await info.json()) as { name: string }).name).toBe('Alice Example');
    // The ID token's at_hash still binds it to this access token.
    expect(body['id_token']).toBeTruthy();
  });

  it('introspect as active for their client, with their claims', async () => {
    const { body } = await tokens();
    const res = (await (
      await form('introspect', { token: body['access_token']! })
    ).json()) as Record<string, unknown>;
    expect(res).toMatchObject({
      active: true,
      client_id: 'web-app',
      scope: 'openid profile email offline_access',
    });
  });

  it('are refused when altered, expired, revoked, or replayed through their code', async () => {
    const { code, body } = await tokens();
    const token = body['access_token']!;
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    expect((await userinfo(`${token.slice(0, -2)}${last}${token.at(-1)}`)).status).toBe(401);

    // Revocation (RFC 7009).
    expect((await form('revoke', { token })).status).toBe(200);
    expect((await userinfo(token)).status).toBe(401);
    expect(
      ((await (await form('introspect', { token })).json()) as { active: boolean }).active,
    ).toBe(false);

    // A second redemption of the code revokes what the first issued.
    const fresh = await tokens();
    expect((await userinfo(fresh.body['access_token']!)).status).toBe(200);
    expect((await exchange(tp, fresh.code)).status).toBe(400);
    expect((await userinfo(fresh.body['access_token']!)).status).toBe(401);

    // Expiry.
    const later = await tokens();
    tp.clock.advance(3601_000);
    expect((await userinfo(later.body['access_token']!)).status).toBe(401);
    expect(code).toBeTruthy();
  });

  it('from another provider (another secret) do not open', async () => {
    const other = await startTestProvider({
      config: { ...baseConfig(), accessTokenFormat: 'opaque' },
      secret: 'another-secret-0123456789-abcdefghijklmnopqrstuvw',
      storage: memoryStorage(),
    });
    const code = (await signIn(new Browser(other), await authorizeUrl(other))).searchParams.get(
      'code',
    )!;
    const { access_token } = (await (await exchange(other, code)).json()) as {
      access_token: string;
    };
    expect((await userinfo(access_token)).status).toBe(401);
  });
});
