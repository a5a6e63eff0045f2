/** What the command line says about failures: one cause, one fix, no stack trace, no secret. */
import { SettingsError } from './env.js';
import { ListenError } from './server.js';

interface Coded {
  code?: unknown;
  hint?: unknown;
  message?: unknown;
}

/** The lines that explain why the app could not start (the first one is the cause). */
export function startFailure(err: unknown, context: { issuer: string; port: number }): string[] {
  if (err instanceof SettingsError) return err.lines;
  if (err instanceof ListenError) {
    return err.code === 'EADDRINUSE'
      ? [
          `${err.message}: is the example app (or "npm start") already running?`,
          'Stop what uses the port, or set PORT (and register http://localhost:PORT/callback for the client at the provider).',
        ]
      : [err.message];
  }
  const { code, hint, message } = (typeof err === 'object' && err !== null ? err : {}) as Coded;
  const text = typeof message === 'string' ? message : String(err);
  // At start-up, the only requests are the provider's discovery (and its keys).
  if (code === 'network_error' || code === 'network_timeout') {
    return [
      `cannot reach the provider at ${context.issuer}: ${text} (${code})`,
      'Start it first ("npm start" starts the demo provider and this app together), or set GATEHOUSE_ISSUER.',
    ];
  }
  if (code === 'discovery_failed') {
    return [
      `the provider at ${context.issuer} did not give usable metadata: ${text} (${code})`,
      "Check GATEHOUSE_ISSUER: it must be the provider's issuer, exactly.",
    ];
  }
  const lines = [typeof code === 'string' ? `${text} (${code})` : text];
  if (typeof hint === 'string') lines.push(hint);
  return lines;
}

/** An `onError` that prints one line per failed login, callback or refresh. */
export function errorLine(stderr: { write(text: string): unknown }): (err: unknown) => void {
  return (err) => {
    const { code, message } = (typeof err === 'object' && err !== null ? err : {}) as Coded;
    const what = typeof code === 'string' ? code : 'unexpected';
    const text = typeof message === 'string' ? message : String(err);
    stderr.write(`example app: ${what}: ${text}\n`);
  };
}
