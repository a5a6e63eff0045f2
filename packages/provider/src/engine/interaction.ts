/**
 * The interaction pages: sign-in, consent and logout confirmation. The authorization endpoint
 * stores a validated request and redirects here; these handlers collect what the user says and
 * resume the request (`issueCode`) or end it with an error redirect.
 *
 * Every form carries a CSRF token bound to the interaction, and the interaction is bound to the
 * browser that started it by a cookie. Answers to POSTs are 303 redirects (RFC 9700 §4.12).
 */
import { OAuthError, timingSafeEqual } from '@gatehouse/oauth';
import type { Interaction, Session, User } from '../storage/types.js';
import { type AuthorizationRequest, issueCode, needsConsent, needsLogin } from './authorize.js';
import type { Engine, RequestContext } from './context.js';
import { errorPage, errorRedirect } from './errors.js';
import { html, readForm, redirect } from './http.js';
import { endSession, type LogoutRequest } from './logout.js';
import { type Reply, ReplyHeaders } from './reply.js';
import { describeScope } from './scopes.js';
import {
  clearInteractionCookie,
  hasInteractionCookie,
  loadSession,
  startSession,
} from './session.js';

const PATH = /^\/interaction\/([A-Za-z0-9_-]{20,128})(?:\/(login|consent|logout))?$/;

function expired(): OAuthError {
  return new OAuthError(
    'invalid_request',
    'this sign-in page has expired or was opened in another browser; go back to the application and start again',
    { status: 400 },
  );
}

/** A form-action CSP source for where a POST on this page may end up (Chrome checks redirects). */
function formTarget(uri: string | undefined): string[] {
  if (!uri) return [];
  try {
    const url = new URL(uri);
    return [url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol];
  } catch {
    return [];
  }
}

export async function handleInteraction(engine: Engine, ctx: RequestContext): Promise<Reply> {
  const base = new URL(engine.endpoints.interaction).pathname;
  const match = PATH.exec(`/interaction${ctx.url.pathname.slice(base.length)}`);
  if (!match)
    return errorPage(
      engine,
      ctx,
      new OAuthError('invalid_request', 'no such page', { status: 404 }),
    );
  const [, id, action] = match as unknown as [string, string, string | undefined];

  const interaction = await engine.storage.interactions.get(id, engine.now());
  if (!interaction || !hasInteractionCookie(ctx, id)) return errorPage(engine, ctx, expired());

  if (ctx.request.method === 'GET' && action === undefined) return show(engine, ctx, interaction);
  if (ctx.request.method !== 'POST' || action === undefined) {
    return errorPage(
      engine,
      ctx,
      new OAuthError('invalid_request', 'method not allowed', { status: 405 }),
    );
  }
  const form = await readForm(ctx.request);
  const csrf = form.get('csrf') ?? '';
  if (!timingSafeEqual(csrf, interaction.csrf)) {
    return errorPage(
      engine,
      ctx,
      new OAuthError(
        'invalid_request',
        'the form has expired; go back to the application and start again',
      ),
    );
  }
  if (action === 'logout') return submitLogout(engine, ctx, interaction, form);
  if (isLogout(interaction)) return errorPage(engine, ctx, expired());
  if (action === 'login') return submitLogin(engine, ctx, interaction, form);
  return submitConsent(engine, ctx, interaction, form);
}

function isLogout(interaction: Interaction): boolean {
  return interaction.request['kind'] === 'logout';
}

function authzRequest(interaction: Interaction): AuthorizationRequest {
  return interaction.request as unknown as AuthorizationRequest;
}

async function clientName(engine: Engine, clientId: string | undefined): Promise<string> {
  if (!clientId) return 'the application';
  const client = await engine.storage.clients.get(clientId);
  return client?.client_name ?? clientId;
}

/** The session that belongs to this interaction: signed in during it, or an SSO session. */
async function currentSession(
  engine: Engine,
  ctx: RequestContext,
  interaction: Interaction,
): Promise<Session | undefined> {
  const session = await loadSession(engine, ctx);
  if (interaction.sub !== undefined) return session?.sub === interaction.sub ? session : undefined;
  return session && !needsLogin(engine, authzRequest(interaction), session) ? session : undefined;
}

async function show(
  engine: Engine,
  ctx: RequestContext,
  interaction: Interaction,
  error?: string,
  username?: string,
): Promise<Reply> {
  const stylesheetHref = engine.endpoints.stylesheet;
  const action = `${engine.endpoints.interaction}/${interaction.id}`;
  if (isLogout(interaction)) {
    const request = interaction.request as unknown as LogoutRequest;
    return html(
      engine.pages.logoutConfirm({
        action: `${action}/logout`,
        csrf: interaction.csrf,
        ...(request.clientId ? { clientName: await clientName(engine, request.clientId) } : {}),
        stylesheetHref,
      }),
      200,
      { formActions: formTarget(request.postLogoutRedirectUri) },
    );
  }
  const request = authzRequest(interaction);
  const name = await clientName(engine, request.clientId);
  const formActions = formTarget(request.redirectUri);
  const session = await currentSession(engine, ctx, interaction);
  if (!session) {
    const prefill = username ?? request.loginHint;
    return html(
      engine.pages.login({
        action: `${action}/login`,
        csrf: interaction.csrf,
        clientName: name,
        ...(prefill !== undefined ? { username: prefill } : {}),
        ...(error !== undefined ? { error } : {}),
        stylesheetHref,
      }),
      error ? 400 : 200,
      { formActions },
    );
  }
  if (await needsConsent(engine, request, session.sub)) {
    const user = await engine.storage.users.get(session.sub);
    return html(
      engine.pages.consent({
        action: `${action}/consent`,
        csrf: interaction.csrf,
        clientName: name,
        username: displayName(user, session.sub),
        scopes: request.scope.map((scope) => ({ name: scope, description: describeScope(scope) })),
        stylesheetHref,
      }),
      200,
      { formActions },
    );
  }
  return finish(engine, ctx, interaction, session, []);
}

function displayName(user: User | undefined, sub: string): string {
  const name = user?.claims['name'];
  return typeof name === 'string' ? `${name} (${user!.username})` : (user?.username ?? sub);
}

const LOGIN_FAILED = 'Wrong username or password.';

async function submitLogin(
  engine: Engine,
  ctx: RequestContext,
  interaction: Interaction,
  form: Map<string, string>,
): Promise<Reply> {
  const username = (form.get('username') ?? '').trim().toLowerCase().slice(0, 128);
  const password = form.get('password') ?? '';
  const { perAccount, perIp, windowSeconds } = engine.config.throttle;
  const window = windowSeconds * 1000;
  const now = engine.now();
  const accountKey = `login:user:${username}`;
  const ipKey = `login:ip:${ctx.remoteAddress}`;
  // Per account, every attempt takes a slot before the password is checked, so parallel guesses
  // cannot all slip through; a success frees the account. Per IP, only failures count, so many
  // people signing in from behind one address are not locked out by their own successes.
  const [accountHits, ipFailures] = await Promise.all([
    engine.storage.counters.hit(accountKey, window, now),
    engine.storage.counters.peek(ipKey, now),
  ]);
  if (accountHits > perAccount || ipFailures >= perIp) {
    engine.logger.warn(
      {
        event: 'login_throttled',
        requestId: ctx.requestId,
        ip: ctx.remoteAddress,
        byAccount: accountHits > perAccount,
      },
      'sign-in throttled',
    );
    return show(
      engine,
      ctx,
      interaction,
      `Too many attempts. Wait ${Math.ceil(windowSeconds / 60)} minutes and try again.`,
      username,
    );
  }
  // Unknown users cost the same scrypt run as wrong passwords and get the same answer.
  const user =
    username && password ? await engine.storage.users.findByUsername(username) : undefined;
  let ok = false;
  if (user) ok = await engine.passwords.verify(password, user.passwordHash);
  else await engine.passwords.dummyVerify(password);
  if (!ok || !user) {
    await engine.storage.counters.hit(ipKey, window, now);
    engine.logger.info(
      { event: 'login_failed', requestId: ctx.requestId, ip: ctx.remoteAddress },
      'sign-in failed',
    );
    return show(engine, ctx, interaction, LOGIN_FAILED, username);
  }
  await engine.storage.counters.reset(accountKey);
  const request = authzRequest(interaction);
  const previous = await loadSession(engine, ctx);
  if (previous) await engine.storage.sessions.remove(previous.id);
  const authTime = engine.now();
  const { session, cookie } = await startSession(engine, user.sub, authTime);
  await engine.storage.interactions.put({ ...interaction, sub: user.sub, authTime });
  engine.logger.info(
    {
      event: 'login_succeeded',
      requestId: ctx.requestId,
      sub: user.sub,
      clientId: request.clientId,
    },
    'signed in',
  );
  if (await needsConsent(engine, request, user.sub)) {
    return redirect(`${engine.endpoints.interaction}/${interaction.id}`, 303, {
      'set-cookie': cookie,
    });
  }
  return finish(engine, ctx, interaction, session, [cookie]);
}

async function submitConsent(
  engine: Engine,
  ctx: RequestContext,
  interaction: Interaction,
  form: Map<string, string>,
): Promise<Reply> {
  const request = authzRequest(interaction);
  const session = await currentSession(engine, ctx, interaction);
  if (!session) return show(engine, ctx, interaction);
  const decision = form.get('decision');
  if (decision === 'deny') {
    await engine.storage.interactions.remove(interaction.id);
    engine.logger.info(
      {
        event: 'consent_denied',
        requestId: ctx.requestId,
        sub: session.sub,
        clientId: request.clientId,
      },
      'consent denied',
    );
    const response = errorRedirect(
      engine,
      ctx,
      new OAuthError('access_denied', 'the user denied the request', { redirectable: true }),
      request.redirectUri,
      request.state,
      303,
    );
    response.headers.append('set-cookie', clearInteractionCookie(engine, interaction.id));
    return response;
  }
  if (decision !== 'allow') return show(engine, ctx, interaction);
  const previous = (await engine.storage.consents.get(session.sub, request.clientId)) ?? [];
  await engine.storage.consents.put(
    session.sub,
    request.clientId,
    [...new Set([...previous, ...request.scope])],
    engine.now(),
  );
  return finish(engine, ctx, interaction, session, []);
}

/** Ends the interaction (single use) and resumes the authorization request with a code. */
async function finish(
  engine: Engine,
  ctx: RequestContext,
  interaction: Interaction,
  session: Session,
  cookies: string[],
): Promise<Reply> {
  await engine.storage.interactions.remove(interaction.id);
  const headers = new ReplyHeaders();
  for (const c of [...cookies, clearInteractionCookie(engine, interaction.id)]) {
    headers.append('set-cookie', c);
  }
  return issueCode(engine, ctx, authzRequest(interaction), session, 303, headers);
}

async function submitLogout(
  engine: Engine,
  ctx: RequestContext,
  interaction: Interaction,
  form: Map<string, string>,
): Promise<Reply> {
  if (!isLogout(interaction)) return errorPage(engine, ctx, expired());
  await engine.storage.interactions.remove(interaction.id);
  const request = interaction.request as unknown as LogoutRequest;
  const decision = form.get('decision');
  return endSession(engine, ctx, request, decision === 'logout', [
    clearInteractionCookie(engine, interaction.id),
  ]);
}
