/** The IdP session cookie and the interaction cookie. */
import type { Session } from '../storage/types.js';
import type { Engine, RequestContext } from './context.js';
import { readCookie, redirect, serializeCookie } from './http.js';
import { randomId } from './random.js';
import type { Reply } from './reply.js';

export const SESSION_COOKIE = 'gatehouse.session';
export const INTERACTION_COOKIE = 'gatehouse.interaction';

const TOKEN = /^[A-Za-z0-9_-]{20,128}$/;

function secure(engine: Engine): boolean {
  return engine.config.issuer.startsWith('https:');
}

function cookiePath(engine: Engine): string {
  return new URL(engine.config.issuer).pathname.replace(/\/$/, '') || '/';
}

/** The signed-in session of this browser, if any (and not expired). */
export async function loadSession(
  engine: Engine,
  ctx: RequestContext,
): Promise<Session | undefined> {
  const id = readCookie(ctx.request, SESSION_COOKIE);
  if (!id || !TOKEN.test(id)) return undefined;
  return engine.storage.sessions.get(id, engine.now());
}

/** Starts a new session (a fresh id at every sign-in: no session fixation). */
export async function startSession(
  engine: Engine,
  sub: string,
  authTime: number,
): Promise<{ session: Session; cookie: string }> {
  const now = engine.now();
  const session: Session = {
    id: randomId(32),
    sub,
    authTime,
    clients: [],
    createdAt: now,
    expiresAt: now + engine.config.ttl.session * 1000,
  };
  await engine.storage.sessions.put(session);
  return { session, cookie: sessionCookie(engine, session.id, engine.config.ttl.session) };
}

export function sessionCookie(engine: Engine, id: string, maxAge: number): string {
  return serializeCookie(SESSION_COOKIE, id, {
    secure: secure(engine),
    path: cookiePath(engine),
    maxAge,
  });
}

export function clearSessionCookie(engine: Engine): string {
  return serializeCookie(SESSION_COOKIE, '', {
    secure: secure(engine),
    path: cookiePath(engine),
    maxAge: 0,
  });
}

/**
 * The cookie that binds an interaction to the browser that started it. Its path is the
 * interaction's own pages, so each interaction has a cookie of its own: two tabs signing in at
 * once do not overwrite each other's.
 */
export function interactionCookie(engine: Engine, id: string): string {
  return serializeCookie(INTERACTION_COOKIE, id, {
    secure: secure(engine),
    path: interactionPath(engine, id),
    maxAge: engine.config.ttl.interaction,
  });
}

export function clearInteractionCookie(engine: Engine, id: string): string {
  return serializeCookie(INTERACTION_COOKIE, '', {
    secure: secure(engine),
    path: interactionPath(engine, id),
    maxAge: 0,
  });
}

function interactionPath(engine: Engine, id: string): string {
  return `${new URL(engine.endpoints.interaction).pathname}/${id}`;
}

/** Whether the browser holds the cookie of interaction `id` (it may hold others' as well). */
export function hasInteractionCookie(ctx: RequestContext, id: string): boolean {
  const header = ctx.request.headers.get('cookie');
  if (!header || !TOKEN.test(id)) return false;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (
      eq !== -1 &&
      part.slice(0, eq).trim() === INTERACTION_COOKIE &&
      part.slice(eq + 1).trim() === id
    ) {
      return true;
    }
  }
  return false;
}

/**
 * Hands a request over to the interaction pages: stores it with a fresh CSRF token, binds it to
 * this browser with a cookie, and redirects there.
 */
export async function startInteraction(engine: Engine, request: object): Promise<Reply> {
  const now = engine.now();
  const interaction = {
    id: randomId(32),
    csrf: randomId(32),
    request: request as Record<string, unknown>,
    createdAt: now,
    expiresAt: now + engine.config.ttl.interaction * 1000,
  };
  await engine.storage.interactions.put(interaction);
  return redirect(`${engine.endpoints.interaction}/${interaction.id}`, 303, {
    'set-cookie': interactionCookie(engine, interaction.id),
  });
}
