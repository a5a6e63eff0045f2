/**
 * Benchmark child: panva's oidc-provider (v9, the npm devDependency) with its default in-memory
 * adapter and its built-in development interaction pages, configured like the Gatehouse child:
 * one confidential client (client_secret_basic, EdDSA ID tokens, PKCE S256 required), one
 * Ed25519 signing key, scope `openid`.
 *
 * Started by run.mjs with `child_process.fork`. Sends `{ type: 'ready', issuer, ... }` once it
 * listens on 127.0.0.1, then answers the IPC requests of `serveBenchIpc`.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, serveBenchIpc } from './client.mjs';

const version = createRequire(import.meta.url)('oidc-provider/package.json').version;

const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'bench-ed25519', use: 'sig' };

// Listen first (port 0), then build the provider with the issuer that names the real port.
const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, '127.0.0.1', resolve);
});
const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
const issuer = `http://127.0.0.1:${port}`;

const accessTokens = process.env.GATEHOUSE_BENCH_OP_ACCESS_TOKENS ?? 'opaque';

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'EdDSA',
    },
  ],
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  // PKCE for every client (the default only requires it for public clients); S256 is the only
  // method v9 accepts.
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    // --oidc-provider-access-tokens=jwt (run.mjs): RFC 9068 JWT access tokens signed EdDSA, like
    // Gatehouse's default (oidc-provider issues them for a resource server; here the issuer).
    ...(accessTokens === 'jwt'
      ? {
          resourceIndicators: {
            enabled: true,
            defaultResource: () => issuer,
            useGrantedResource: () => true,
            getResourceServerInfo: () => ({
              scope: 'openid',
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: 'EdDSA' } },
            }),
          },
        }
      : {}),
  },
  // The default lifetimes, written out (the defaults print a notice when first used).
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 3600,
    Session: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
  },
  scopes: ['openid'],
  claims: { openid: ['sub'] },
  findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
});

let serverErrors = 0;
const countError = (_ctx, err) => {
  serverErrors++;
  process.stderr.write(`server_error: ${err?.stack ?? err}\n`);
};
provider.on('server_error', countError);

server.on('request', provider.callback());

serveBenchIpc({
  serverErrors: () => serverErrors,
  close: () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
});

process.send?.({
  type: 'ready',
  issuer,
  name: 'oidc-provider',
  detail: `oidc-provider ${version}, in-memory adapter, devInteractions, ${accessTokens} access tokens`,
  version,
  pid: process.pid,
});
