/**
 * oidcc-server-client-secret-post (OP-ClientAuth-SecretPost) — the happy path (oidcc-server's
 * checks) with a client registered for client_secret_post: the client authenticates at the token
 * endpoint with client_id and client_secret in the form body.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, POST_CLIENT, runCodeFlow, startConformance } from './support.js';

let conf: Conformance;
beforeAll(async () => {
  conf = await startConformance();
});

describe('oidcc-server-client-secret-post', () => {
  it('advertises client_secret_post', () => {
    expect(conf.discovery['token_endpoint_auth_methods_supported']).toContain('client_secret_post');
  });

  it('completes the code flow with client_secret_post', async () => {
    const flow = await runCodeFlow(conf, { client: POST_CLIENT });
    expect(flow.idToken.aud).toBe(POST_CLIENT.id);
    expect(typeof flow.tokens.refresh_token).toBe('string');
  });
});
