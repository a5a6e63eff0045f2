/**
 * gatehouse-example-hono — a small Hono application on Node.js that signs its users in with
 * Gatehouse through `@gatehouse/web`: `/` (home), `/profile` (the ID token claims, signed-in
 * users only), and `/login`, `/callback`, `/logout` from the adapter.
 */
export { createApp, type ExampleApp, type ExampleAppOptions } from './app.js';
export {
  DEFAULT_ISSUER,
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET_FILE,
  type ExampleSettings,
  SettingsError,
  settingsFromEnv,
} from './env.js';
export { type MainIo, runMain, startFailure } from './main.js';
export {
  DEFAULT_PORT,
  type StartExampleAppOptions,
  type StartedExampleApp,
  startExampleApp,
} from './server.js';
