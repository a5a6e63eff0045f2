/**
 * Vite for the example SPA: the app on http://localhost:5173 (the demo's `demo-spa` redirect URI
 * is http://localhost:5173/callback), built into dist/web. Vite's own transformer (oxc) compiles
 * the TSX; no plugin needed. `vite preview` sends the headers a production host should send.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, loadEnv } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export const SPA_PORT = 5173;

export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, root, 'VITE_');
  const issuer = new URL(env['VITE_GATEHOUSE_ISSUER'] || 'http://localhost:9000').origin;
  const api = new URL(env['VITE_API_URL'] || 'http://localhost:5174').origin;
  return {
    root,
    build: { outDir: 'dist/web', emptyOutDir: true, target: 'es2022' },
    server: { port: SPA_PORT, strictPort: true },
    preview: {
      port: SPA_PORT,
      strictPort: true,
      headers: {
        // Scripts from this origin only; the app talks to the provider and the API by fetch;
        // navigations to the provider are top-level (not restricted by CSP).
        'content-security-policy': [
          "default-src 'self'",
          `connect-src 'self' ${issuer} ${api}`,
          "object-src 'none'",
          "base-uri 'none'",
          "frame-ancestors 'none'",
          "form-action 'none'",
        ].join('; '),
        'referrer-policy': 'no-referrer',
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
      },
    },
  };
});
