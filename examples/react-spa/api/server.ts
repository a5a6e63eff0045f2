/**
 * The example's resource server: `GET /api/hello` answers with the claims of a valid access
 * token, and 401 otherwise. It trusts nothing but the token's signature and claims
 * (RFC 9068 §4, RFC 6750):
 *
 * - the JWT is signed by a key of the provider's JWKS (found by discovery), with an asymmetric
 *   algorithm from an allow-list;
 * - its header `typ` is `at+jwt` (an ID token is refused);
 * - `iss` is the issuer; `aud` is this API's audience — Gatehouse does not support resource
 *   indicators (RFC 8707) yet and puts its issuer in `aud`, so that is the default; `exp`/`iat`
 *   hold, with 30 s of clock tolerance;
 * - `client_id` is one of the clients this API serves (the SPA).
 *
 * The token comes only from the `Authorization: Bearer` header — never the query string — and is
 * never logged or echoed. CORS lets the SPA's origin read the answers (errors included).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';

export interface ApiOptions {
  issuer: string;
  /** Clients whose access tokens are accepted (the `client_id` claim). */
  clientIds: readonly string[];
  /** Origins that may call the API from a browser (CORS). */
  allowedOrigins: readonly string[];
  /** The `aud` to require. Default: the issuer (what Gatehouse puts in access tokens). */
  audience?: string;
  /** The verification keys. Default: the provider's JWKS, found by discovery. */
  keys?: JWTVerifyGetKey;
  /** Default: EdDSA, Ed25519, ES256, RS256 (never `none` or HMAC). */
  algorithms?: readonly string[];
}

const REALM = 'gatehouse-example-api';
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

class Unauthorized extends Error {
  constructor(readonly description: string) {
    super(description);
  }
}

class Unavailable extends Error {}

/** The provider's key set, from its discovery document (fetched on first use, again after a failure). */
function discoveredKeys(issuer: string): JWTVerifyGetKey {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const load = async (): Promise<JWTVerifyGetKey> => {
    const res = await fetch(`${issuer}/.well-known/openid-configuration`, {
      signal: AbortSignal.timeout(5000),
    });
    const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
    if (!res.ok || doc.issuer !== issuer || typeof doc.jwks_uri !== 'string') {
      throw new Error(`the discovery document of ${issuer} is not usable`);
    }
    return createRemoteJWKSet(new URL(doc.jwks_uri), { timeoutDuration: 5000 });
  };
  return async (header, token) => {
    keys ??= load().catch((err: unknown) => {
      keys = undefined;
      throw err;
    });
    return (await keys)(header, token);
  };
}

/** Checks an access token as RFC 9068 §4 says; throws `Unauthorized` with a safe description. */
export async function verifyAccessToken(
  token: string,
  options: ApiOptions & { keys: JWTVerifyGetKey },
): Promise<JWTPayload> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, options.keys, {
      issuer: options.issuer,
      audience: options.audience ?? options.issuer,
      typ: 'at+jwt',
      algorithms: [...(options.algorithms ?? ['EdDSA', 'Ed25519', 'ES256', 'RS256'])],
      clockTolerance: 30,
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'client_id'],
    }));
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new Unauthorized('the access token has expired');
    if (err instanceof errors.JWTClaimValidationFailed) {
      throw new Unauthorized(`the access token's ${err.claim} claim is not accepted here`);
    }
    if (err instanceof errors.JWKSTimeout) throw new Unavailable('the provider did not answer');
    if (err instanceof errors.JOSEError) throw new Unauthorized('the access token is not valid');
    // Discovery or the key set could not be fetched.
    throw new Unavailable('the provider could not be reached', { cause: err });
  }
  if (
    typeof payload['client_id'] !== 'string' ||
    !options.clientIds.includes(payload['client_id'])
  ) {
    throw new Unauthorized('the access token was issued to a client this API does not serve');
  }
  return payload;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string>,
): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(JSON.stringify(body));
}

/** The API as a Node request listener. */
export function createApi(
  options: ApiOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const keys = options.keys ?? discoveredKeys(options.issuer);
  const checked = { ...options, keys };

  return (req, res) => {
    const origin = req.headers.origin;
    const cors: Record<string, string> = { vary: 'Origin' };
    if (origin !== undefined && options.allowedOrigins.includes(origin)) {
      cors['access-control-allow-origin'] = origin;
      cors['access-control-expose-headers'] = 'WWW-Authenticate';
    }
    const url = new URL(req.url ?? '/', 'http://api.invalid');
    if (url.pathname !== '/api/hello') {
      send(res, 404, { error: 'not_found' }, cors);
      return;
    }
    if (req.method === 'OPTIONS') {
      const preflight = cors['access-control-allow-origin']
        ? {
            'access-control-allow-methods': 'GET',
            'access-control-allow-headers': 'authorization',
            'access-control-max-age': '600',
          }
        : {};
      res.writeHead(204, { ...cors, ...preflight });
      res.end();
      return;
    }
    if (req.method !== 'GET') {
      send(res, 405, { error: 'method_not_allowed' }, { ...cors, allow: 'GET, OPTIONS' });
      return;
    }
    if (url.searchParams.has('access_token')) {
      send(
        res,
        400,
        {
          error: 'invalid_request',
          error_description: 'send the access token in the Authorization header, not the URL',
        },
        { ...cors, 'www-authenticate': `Bearer realm="${REALM}", error="invalid_request"` },
      );
      return;
    }
    const match = BEARER.exec(req.headers.authorization ?? '');
    if (!match) {
      // RFC 6750 §3.1: no error code when the request carries no token at all.
      send(
        res,
        401,
        { error: 'unauthorized', error_description: 'an access token is required' },
        { ...cors, 'www-authenticate': `Bearer realm="${REALM}"` },
      );
      return;
    }
    verifyAccessToken(match[1]!, checked).then(
      (claims) => {
        send(res, 200, { message: `Hello, ${claims.sub}!`, claims }, cors);
      },
      (err: unknown) => {
        if (err instanceof Unauthorized) {
          send(
            res,
            401,
            { error: 'invalid_token', error_description: err.description },
            {
              ...cors,
              'www-authenticate': `Bearer realm="${REALM}", error="invalid_token", error_description="${err.description}"`,
            },
          );
        } else {
          send(
            res,
            503,
            {
              error: 'temporarily_unavailable',
              error_description: 'the provider’s keys could not be fetched',
            },
            cors,
          );
        }
      },
    );
  };
}

/** Starts the API on `port` (0: any free port). */
export async function startApi(
  options: ApiOptions & { port: number; host?: string },
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer(createApi(options));
  const host = options.host ?? 'localhost';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://${host}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
