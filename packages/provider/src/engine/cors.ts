/**
 * CORS for the endpoints a browser-based (spa) client calls: token, userinfo, revocation. Never
 * on the authorization endpoint (RFC 9700 §2.6). An origin is allowed when a client lists it in
 * `allowed_origins`; once the client is known, only that client's list counts.
 */
import type { Client } from '../storage/types.js';
import type { Engine } from './context.js';
import { type HttpRequest, Reply } from './reply.js';

async function anyClientAllows(engine: Engine, origin: string): Promise<boolean> {
  const clients = await engine.storage.clients.list();
  return clients.some((c) => c.allowed_origins.includes(origin));
}

export async function corsHeaders(
  engine: Engine,
  request: HttpRequest,
  client?: Client,
): Promise<Record<string, string>> {
  const origin = request.headers.get('origin');
  if (!origin) return {};
  const allowed = client
    ? client.allowed_origins.includes(origin)
    : await anyClientAllows(engine, origin);
  return allowed ? { 'access-control-allow-origin': origin, vary: 'Origin' } : { vary: 'Origin' };
}

/** Answers a CORS preflight. */
export async function preflight(
  engine: Engine,
  request: HttpRequest,
  methods: string,
): Promise<Reply> {
  const headers = await corsHeaders(engine, request);
  if (headers['access-control-allow-origin']) {
    headers['access-control-allow-methods'] = methods;
    headers['access-control-allow-headers'] = 'authorization, content-type';
    headers['access-control-max-age'] = '600';
  }
  return new Reply(204, headers);
}
