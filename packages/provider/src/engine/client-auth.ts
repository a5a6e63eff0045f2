/**
 * Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3):
 * `client_secret_basic`, `client_secret_post`, and `none` for public clients. A client must use
 * the method it registered; using two methods at once is refused.
 */
import { OAuthError } from '@gatehouse/oauth';
import type { Client } from '../storage/types.js';
import type { Engine } from './context.js';
import type { HttpRequest } from './reply.js';

function invalidClient(description: string, detail?: string): OAuthError {
  return new OAuthError('invalid_client', description, detail ? { detail } : {});
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Parses `Authorization: Basic` with the form-encoding RFC 6749 §2.3.1 requires. */
function parseBasic(header: string): { id: string; secret: string } {
  const match = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header.trim());
  if (!match) throw invalidClient('the Authorization header is not valid Basic credentials');
  let decoded: string;
  try {
    decoded = UTF8.decode(Buffer.from(match[1]!, 'base64'));
  } catch {
    throw invalidClient('the Authorization header is not valid Basic credentials');
  }
  const colon = decoded.indexOf(':');
  if (colon === -1) throw invalidClient('the Authorization header is not valid Basic credentials');
  try {
    const form = (s: string) =>
      s.includes('%') || s.includes('+') ? decodeURIComponent(s.replace(/\+/g, ' ')) : s;
    return { id: form(decoded.slice(0, colon)), secret: form(decoded.slice(colon + 1)) };
  } catch {
    throw invalidClient('the Basic credentials are not form-encoded');
  }
}

/** Authenticates the client of a back-channel request. Throws `invalid_client` (401). */
export async function authenticateClient(
  engine: Engine,
  request: HttpRequest,
  form: Map<string, string>,
  options: { allowPublic: boolean },
): Promise<Client> {
  const authorization = request.headers.get('authorization');
  const bodyId = form.get('client_id');
  const bodySecret = form.get('client_secret');
  if (form.has('client_assertion') || form.has('client_assertion_type')) {
    throw invalidClient('client assertions (private_key_jwt) are not supported yet');
  }
  let method: Client['token_endpoint_auth_method'];
  let id: string;
  let secret: string | undefined;
  if (authorization !== null) {
    if (bodySecret !== undefined) {
      throw new OAuthError(
        'invalid_request',
        'use one client authentication method: Basic header or client_secret in the body, not both',
      );
    }
    const basic = parseBasic(authorization);
    if (bodyId !== undefined && bodyId !== basic.id) {
      throw new OAuthError(
        'invalid_request',
        'client_id in the body differs from the Basic credentials',
      );
    }
    method = 'client_secret_basic';
    ({ id, secret } = basic);
  } else if (bodySecret !== undefined) {
    if (bodyId === undefined) throw invalidClient('client_secret was sent without client_id');
    method = 'client_secret_post';
    id = bodyId;
    secret = bodySecret;
  } else if (bodyId !== undefined) {
    method = 'none';
    id = bodyId;
  } else {
    throw invalidClient('client authentication is missing');
  }

  const client = await engine.storage.clients.get(id);
  if (!client) throw invalidClient('client authentication failed', 'unknown client_id');
  if (client.token_endpoint_auth_method !== method) {
    if (method === 'none' && !options.allowPublic)
      throw invalidClient('client authentication is missing');
    throw invalidClient(
      `this client is registered for ${client.token_endpoint_auth_method} authentication, not ${method}`,
    );
  }
  if (method === 'none') {
    if (!options.allowPublic) throw invalidClient('public clients cannot use this endpoint');
    return client;
  }
  if (
    !client.client_secret_hash ||
    !(await engine.secrets.verifyClientSecret(secret ?? '', client.client_secret_hash))
  ) {
    throw invalidClient('client authentication failed', 'wrong client secret');
  }
  return client;
}
