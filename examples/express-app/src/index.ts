/**
 * gatehouse-example-express — a small Express application that signs its users in with
 * Gatehouse through `@gatehouse/express`: `/` (home), `/profile` (the ID token claims, signed-in
 * users only), and `/login`, `/callback`, `/logout` from the adapter.
 */
export { createApp, type ExampleAppOptions } from './app.js';
export {
  APP_SECRET_FILE,
  DEFAULT_ISSUER,
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET_FILE,
  type ExampleSettings,
  SettingsError,
  settingsFromEnv,
} from './env.js';
export { type MainIo, runMain, waitForStop } from './main.js';
export { errorLine, startFailure } from './report.js';
export {
  DEFAULT_PORT,
  ListenError,
  type StartExampleAppOptions,
  type StartedExampleApp,
  startExampleApp,
} from './server.js';
