import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, redirectUriProblem } from './schema.js';

function issues(input: unknown): string[] {
  try {
    parseConfig(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  return [];
}

describe('parseConfig', () => {
  it('fills every default', () => {
    const c = parseConfig({ issuer: 'https://id.example.com' });
    expect(c.port).toBe(9000);
    expect(c.storage).toEqual({ sqlite: '.gatehouse/gatehouse.db' });
    expect(c.ttl.code).toBe(600);
    expect(c.defaultSigningAlg).toBe('EdDSA');
    expect(c.development).toBe(false);
  });
  it('accepts http only on loopback, and marks it development', () => {
    expect(parseConfig({ issuer: 'http://localhost:9000' }).development).toBe(true);
    expect(parseConfig({ issuer: 'http://127.0.0.1:9000' }).development).toBe(true);
    expect(issues({ issuer: 'http://id.example.com' })[0]).toMatch(/^issuer: .*only https/);
  });
  it('refuses issuers with query, fragment or trailing slash', () => {
    expect(issues({ issuer: 'https://id.example.com/?a=1' }).join()).toMatch(/query or fragment/);
    expect(issues({ issuer: 'https://id.example.com/' }).join()).toMatch(/must not end with/);
    expect(issues({ issuer: 'not a url' }).join()).toMatch(/not an absolute URL/);
  });
  it('names the bad setting by its path', () => {
    const found = issues({
      issuer: 'https://id.example.com',
      ttl: { code: 900 },
      clients: [
        {
          client_id: 'a',
          type: 'web',
          client_secret: 'x'.repeat(32),
          redirect_uris: ['https://a/cb'],
        },
        { client_id: 'b', type: 'web', redirect_uris: ['http://b.example.com/cb'] },
      ],
    });
    expect(found.join('\n')).toMatch(/^ttl\.code: /m);
    const second = issues({
      issuer: 'https://id.example.com',
      clients: [
        {
          client_id: 'a',
          type: 'web',
          client_secret: 'x'.repeat(32),
          redirect_uris: ['https://a/cb'],
        },
        { client_id: 'b', type: 'web', redirect_uris: ['http://b.example.com/cb'] },
      ],
    });
    expect(second).toContain('clients[1].client_secret: required for client_secret_basic');
    expect(second.some((i) => i.startsWith('clients[1].redirect_uris[0]:'))).toBe(true);
  });
  it('refuses unknown settings (typos)', () => {
    expect(issues({ issuer: 'https://id.example.com', isuer: 'x' }).join()).toMatch(/isuer/);
  });
  it('enforces the rules of client types', () => {
    const base = { issuer: 'https://id.example.com' };
    const one = (client: object) => issues({ ...base, clients: [client] }).join('\n');
    expect(
      one({
        client_id: 's',
        type: 'spa',
        redirect_uris: ['https://s/cb'],
        client_secret: 'x'.repeat(32),
      }),
    ).toMatch(/public and have no secret/);
    expect(
      one({ client_id: 's', type: 'spa', redirect_uris: ['https://s/cb'], require_pkce: false }),
    ).toMatch(/PKCE cannot be turned off/);
    expect(
      one({
        client_id: 'w',
        type: 'web',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['https://w/cb'],
      }),
    ).toMatch(/confidential and must authenticate/);
    expect(
      one({
        client_id: 'v',
        type: 'service',
        client_secret: 'x'.repeat(32),
        redirect_uris: ['https://v/cb'],
      }),
    ).toMatch(/service clients have no redirect URIs/);
    expect(
      one({ client_id: 'w', type: 'web', client_secret: 'x'.repeat(32), redirect_uris: [] }),
    ).toMatch(/at least one redirect URI/);
    expect(
      one({
        client_id: 'w',
        type: 'spa',
        redirect_uris: ['https://w/cb'],
        allowed_origins: ['https://w/path'],
      }),
    ).toMatch(/is not an origin/);
  });
  it('refuses duplicate client ids and usernames', () => {
    const found = issues({
      issuer: 'https://id.example.com',
      clients: [
        { client_id: 'a', type: 'spa', redirect_uris: ['https://a/cb'] },
        { client_id: 'a', type: 'spa', redirect_uris: ['https://a/cb'] },
      ],
      users: [
        { username: 'Alice', password: '12345678' },
        { username: 'alice', password: '12345678' },
      ],
    });
    expect(found).toContain('clients[1].client_id: "a" appears twice');
    expect(found).toContain('users[1].username: "alice" appears twice');
  });
});

describe('redirectUriProblem', () => {
  it.each([
    ['https://app.example.com/cb', 'web', false, undefined],
    ['https://app.example.com/cb#frag', 'web', false, /fragment/],
    ['http://app.example.com/cb', 'web', true, /loopback/],
    ['http://localhost:3000/cb', 'web', false, /native clients/],
    ['http://localhost:3000/cb', 'web', true, undefined],
    ['http://127.0.0.1/cb', 'native', false, undefined],
    ['com.example.app:/cb', 'native', false, undefined],
    ['myapp:/cb', 'native', false, /reverse domain/],
    ['com.example.app:/cb', 'spa', false, /only allowed for native/],
    ['javascript:alert(1)', 'native', false, /not allowed/],
    ['data:text/html,x', 'native', false, /not allowed/],
    ['/relative', 'web', false, /absolute/],
  ] as const)('%s for %s (development %s)', (uri, type, dev, expected) => {
    const problem = redirectUriProblem(uri, type, dev);
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toMatch(expected);
  });
});
