/** Each step of the authorization endpoint on its own, against a crafted state. */
import { OAuthError, s256Challenge } from '@gatehouse/oauth';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { SECRET, seededMemoryStorage } from '../../../../test/support/harness.js';
import { clientFromInput } from '../clients.js';
import { parseConfig } from '../config/schema.js';
import { defaultPages } from '../interaction/pages.js';
import { remoteJwks } from '../keys/client-jwks.js';
import { loadKeys } from '../keys/keys.js';
import { createSecrets } from '../keys/secrets.js';
import { scryptHasher } from '../users/passwords.js';
import { AUTHORIZATION_STEPS, type AuthzState, type Step } from './authorize.js';
import { type Engine, endpointsFor, type RequestContext } from './context.js';
import { signJwt } from './jwt.js';
import { silentLogger } from './logger.js';

let engine: Engine;
const ctx = {
  request: new Request('http://localhost:9000/'),
  url: new URL('http://localhost:9000/'),
  requestId: 'r',
  remoteAddress: '127.0.0.1',
} as RequestContext;
const [resolveClient, loadRequest, checkRedirectUri] = AUTHORIZATION_STEPS.unverified;
const [
  checkRequestMode,
  checkResponseType,
  checkScope,
  checkPrompt,
  checkPkce,
  checkOtherParams,
  checkIdTokenHint,
] = AUTHORIZATION_STEPS.request;

beforeAll(async () => {
  const config = parseConfig({ issuer: 'http://localhost:9000', storage: { memory: true } });
  const storage = await seededMemoryStorage();
  const secrets = await createSecrets(SECRET);
  const now = Date.now();
  const clients = [
    {
      client_id: 'web',
      type: 'web',
      client_secret: 'x'.repeat(32),
      redirect_uris: ['https://rp.example/cb'],
    },
    {
      client_id: 'nopkce',
      type: 'web',
      client_secret: 'x'.repeat(32),
      redirect_uris: ['https://rp.example/cb'],
      require_pkce: false,
    },
    {
      client_id: 'nort',
      type: 'spa',
      redirect_uris: ['https://spa.example/cb'],
      grant_types: ['authorization_code'],
    },
    {
      client_id: 'plain',
      type: 'web',
      client_secret: 'x'.repeat(32),
      redirect_uris: ['https://rp.example/cb'],
      require_signed_request_object: false,
    },
    {
      client_id: 'pushy',
      type: 'web',
      client_secret: 'x'.repeat(32),
      redirect_uris: ['https://rp.example/cb'],
      require_pushed_authorization_requests: true,
    },
    { client_id: 'svc', type: 'service', client_secret: 'x'.repeat(32) },
  ] as const;
  for (const c of clients)
    await storage.clients.put(await clientFromInput(c, secrets, { development: true, now }));
  engine = {
    config,
    storage,
    secrets,
    keys: await loadKeys(storage.keys, secrets),
    passwords: scryptHasher({ logN: 10 }),
    pages: defaultPages,
    logger: silentLogger,
    endpoints: endpointsFor(config.issuer),
    clientJwks: remoteJwks({ timeoutMs: 1000, maxBytes: 65_536, cacheMs: 0, cooldownMs: 0 }),
    now: Date.now,
  };
});

function state(params: Record<string, string>, atPar = false): AuthzState {
  const map = new Map(Object.entries(params));
  return { params: map, outer: map, atPar, request: { prompt: [], scope: [], viaPost: false } };
}

async function withClient(params: Record<string, string>, clientId = 'web'): Promise<AuthzState> {
  const s = state({ client_id: clientId, ...params });
  await resolveClient!(engine, ctx, s);
  return s;
}

async function fails(
  step: Step,
  s: AuthzState,
  error: string,
  description?: RegExp,
): Promise<void> {
  try {
    await step(engine, ctx, s);
  } catch (e) {
    expect(e).toBeInstanceOf(OAuthError);
    expect((e as OAuthError).error).toBe(error);
    if (description) expect((e as OAuthError).errorDescription).toMatch(description);
    return;
  }
  expect.unreachable(`expected ${error}`);
}

it('runs the steps in this order', () => {
  expect(AUTHORIZATION_STEPS.unverified.map((f) => f.name)).toEqual([
    'resolveClient',
    'loadRequest',
    'checkRedirectUri',
  ]);
  expect(AUTHORIZATION_STEPS.request.map((f) => f.name)).toEqual([
    'checkRequestMode',
    'checkResponseType',
    'checkScope',
    'checkPrompt',
    'checkPkce',
    'checkOtherParams',
    'checkIdTokenHint',
  ]);
});

describe('resolveClient', () => {
  it('requires a known client that uses the authorization endpoint', async () => {
    await fails(resolveClient!, state({}), 'invalid_request', /client_id/);
    await fails(resolveClient!, state({ client_id: 'nobody' }), 'unauthorized_client');
    await fails(resolveClient!, state({ client_id: 'svc' }), 'unauthorized_client');
    const s = await withClient({});
    expect(s.client?.client_id).toBe('web');
  });
});

describe('checkRedirectUri', () => {
  it('requires an exactly registered redirect_uri', async () => {
    await fails(checkRedirectUri!, await withClient({}), 'invalid_request', /missing/);
    await fails(
      checkRedirectUri!,
      await withClient({ redirect_uri: 'https://rp.example/cb/' }),
      'invalid_request',
      /registered/,
    );
    const s = await withClient({ redirect_uri: 'https://rp.example/cb' });
    await checkRedirectUri!(engine, ctx, s);
    expect(s.redirectUri).toBe('https://rp.example/cb');
  });
});

/** An HS256 request object of client `web`, with `claims` over sensible defaults. */
function requestObject(claims: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: 'web',
    aud: engine.config.issuer,
    client_id: 'web',
    response_type: 'code',
    redirect_uri: 'https://rp.example/cb',
    scope: 'openid',
    iat: now,
    exp: now + 60,
    jti: crypto.randomUUID(),
    ...claims,
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'oauth-authz-req+jwt' })
    .sign(new TextEncoder().encode('x'.repeat(32)));
}

describe('loadRequest', () => {
  it('replaces the outer parameters with those inside a verified request object', async () => {
    const s = await withClient({
      request: await requestObject({ max_age: 60, state: 'inner' }),
      redirect_uri: 'https://evil.example/',
      state: 'outer',
    });
    await loadRequest!(engine, ctx, s);
    expect(s.requestObject?.['state']).toBe('inner');
    expect(s.params.get('state')).toBe('inner');
    expect(s.params.get('max_age')).toBe('60');
    expect(s.params.get('redirect_uri')).toBe('https://rp.example/cb');
    expect(s.params.has('iss')).toBe(false);
  });
  it('refuses a request object that does not verify (for the error page)', async () => {
    const good = await requestObject();
    const [h, p] = good.split('.');
    await fails(
      loadRequest!,
      await withClient({ request: `${h}.${p}.AAAA` }),
      'invalid_request_object',
      /signature/,
    );
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
    await fails(
      loadRequest!,
      await withClient({ request: none }),
      'invalid_request_object',
      /alg 'none'/,
    );
    await fails(loadRequest!, await withClient({ request: 'not-a-jwt' }), 'invalid_request_object');
    await fails(
      loadRequest!,
      await withClient({ request: good, request_uri: 'urn:x' }),
      'invalid_request',
      /not both/,
    );
  });
  it('leaves request objects from public clients to checkRequestMode', async () => {
    const s = await withClient(
      { request: 'x.y.z', redirect_uri: 'https://spa.example/cb' },
      'nort',
    );
    await loadRequest!(engine, ctx, s);
    expect(s.requestObject).toBeUndefined();
    await checkRedirectUri!(engine, ctx, s);
    await fails(checkRequestMode!, s, 'request_not_supported');
  });
  it('refuses an unknown pushed request_uri (for the error page)', async () => {
    await fails(
      loadRequest!,
      await withClient({ request_uri: 'urn:ietf:params:oauth:request_uri:nope' }),
      'invalid_request_uri',
    );
  });
});

describe('checkRequestMode', () => {
  it('requires JAR from web clients by default, with the seed’s description', async () => {
    await fails(
      checkRequestMode!,
      await withClient({}),
      'invalid_request',
      /^JAR \(request parameter\) is required for confidential clients$/,
    );
    await checkRequestMode!(engine, ctx, await withClient({}, 'plain'));
  });
  it('checks the claims of a verified request object', async () => {
    const s = await withClient({ request: await requestObject() });
    await loadRequest!(engine, ctx, s);
    await checkRequestMode!(engine, ctx, s);
    // The same object again: its jti is used up.
    await fails(checkRequestMode!, s, 'invalid_request_object', /replay/);
    const t = await withClient({ request: await requestObject({ aud: 'https://other.example' }) });
    await loadRequest!(engine, ctx, t);
    await fails(checkRequestMode!, t, 'invalid_request_object', /aud/);
  });
  it('accepts request_uri only from PAR, and enforces PAR when the client requires it', async () => {
    await fails(
      checkRequestMode!,
      await withClient({ request_uri: 'https://rp.example/r' }, 'plain'),
      'request_uri_not_supported',
    );
    const s = state({ client_id: 'plain', request_uri: 'urn:x' }, true);
    await resolveClient!(engine, ctx, s);
    await fails(checkRequestMode!, s, 'invalid_request', /cannot be pushed/);
    const pushy = await withClient(
      { request: await requestObject({ iss: 'pushy', client_id: 'pushy' }) },
      'pushy',
    );
    await loadRequest!(engine, ctx, pushy);
    await fails(checkRequestMode!, pushy, 'invalid_request', /PAR/);
  });
});

describe('checkResponseType', () => {
  it('accepts code in query mode only', async () => {
    await fails(checkResponseType!, await withClient({}), 'invalid_request');
    await fails(
      checkResponseType!,
      await withClient({ response_type: 'token' }),
      'unsupported_response_type',
    );
    await fails(
      checkResponseType!,
      await withClient({ response_type: 'code', response_mode: 'fragment' }),
      'invalid_request',
    );
    await checkResponseType!(
      engine,
      ctx,
      await withClient({ response_type: 'code', response_mode: 'query' }),
    );
  });
});

describe('checkScope', () => {
  it('needs openid, supported and registered scopes, and the refresh grant for offline_access', async () => {
    await fails(checkScope!, await withClient({ scope: 'profile' }), 'invalid_scope', /openid/);
    await fails(
      checkScope!,
      await withClient({ scope: 'openid admin' }),
      'invalid_scope',
      /not supported/,
    );
    await fails(
      checkScope!,
      await withClient({ scope: 'openid offline_access' }, 'nort'),
      'invalid_scope',
      /refresh_token/,
    );
    const s = await withClient({ scope: 'openid  email openid' });
    await checkScope!(engine, ctx, s);
    expect(s.request.scope).toEqual(['openid', 'email']);
  });
});

describe('checkPrompt', () => {
  it('accepts the OIDC values, none alone', async () => {
    await fails(checkPrompt!, await withClient({ prompt: 'maybe' }), 'invalid_request');
    await fails(checkPrompt!, await withClient({ prompt: 'none consent' }), 'invalid_request');
    const s = await withClient({ prompt: 'login consent' });
    await checkPrompt!(engine, ctx, s);
    expect(s.request.prompt).toEqual(['login', 'consent']);
  });
});

describe('checkPkce', () => {
  it('requires S256 when the client requires PKCE, refuses plain and malformed challenges', async () => {
    const challenge = await s256Challenge('v'.repeat(43));
    await fails(checkPkce!, await withClient({}), 'invalid_request', /PKCE is required/);
    await fails(
      checkPkce!,
      await withClient({ code_challenge_method: 'S256' }),
      'invalid_request',
      /without code_challenge/,
    );
    await fails(
      checkPkce!,
      await withClient({ code_challenge: challenge }),
      'invalid_request',
      /plain/,
    );
    await fails(
      checkPkce!,
      await withClient({ code_challenge: challenge, code_challenge_method: 'plain' }),
      'invalid_request',
    );
    await fails(
      checkPkce!,
      await withClient({ code_challenge: 'short', code_challenge_method: 'S256' }),
      'invalid_request',
    );
    const s = await withClient({ code_challenge: challenge, code_challenge_method: 'S256' });
    await checkPkce!(engine, ctx, s);
    expect(s.request.codeChallenge).toBe(challenge);
    const optional = await withClient({}, 'nopkce');
    await checkPkce!(engine, ctx, optional);
    expect(optional.request.codeChallenge).toBeUndefined();
  });
});

describe('checkOtherParams', () => {
  it('bounds nonce, validates max_age, keeps login_hint', async () => {
    await fails(checkOtherParams!, await withClient({ nonce: 'n'.repeat(513) }), 'invalid_request');
    await fails(checkOtherParams!, await withClient({ max_age: '1.5' }), 'invalid_request');
    const s = await withClient({
      nonce: 'n',
      max_age: '0',
      login_hint: 'alice',
      display: 'popup',
      ui_locales: 'fr',
    });
    await checkOtherParams!(engine, ctx, s);
    expect(s.request).toMatchObject({ nonce: 'n', maxAge: 0, loginHint: 'alice' });
  });
});

describe('checkIdTokenHint', () => {
  const hint = (aud: string) =>
    signJwt(engine, 'EdDSA', undefined, {
      iss: engine.config.issuer,
      sub: 'u1',
      aud,
      iat: 1,
      exp: 2,
    });
  it('needs prompt=none and an ID token this provider issued to this client (expired is fine)', async () => {
    const none = async (params: Record<string, string>) => {
      const s = await withClient({ prompt: 'none', ...params });
      await checkPrompt!(engine, ctx, s);
      return s;
    };
    await fails(
      checkIdTokenHint!,
      await withClient({ id_token_hint: await hint('web') }),
      'invalid_request',
      /prompt/,
    );
    await fails(checkIdTokenHint!, await none({ id_token_hint: 'not.a.jwt' }), 'invalid_request');
    await fails(
      checkIdTokenHint!,
      await none({ id_token_hint: await hint('someone-else') }),
      'invalid_request',
    );
    const s = await none({ id_token_hint: await hint('web') });
    await checkIdTokenHint!(engine, ctx, s);
    expect(s.request.hintSub).toBe('u1');
  });
});
