/**
 * @gatehouse/web — Gatehouse over Web `Request` and `Response`: login, callback and logout
 * handlers, the application session in an encrypted cookie with its tokens refreshed before they
 * expire, and `requireAuth()`. Web-standard APIs only: Next.js route handlers (Node.js or edge),
 * Hono, Bun, Deno and workers.
 */
export {
  type GatehouseSession,
  type GatehouseWeb,
  type GatehouseWebOptions,
  gatehouseWeb,
  type LoginOptions,
  type Routes,
  type SessionOptions,
} from './gatehouse-web.js';
