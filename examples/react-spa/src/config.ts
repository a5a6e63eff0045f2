/**
 * The example's settings, from Vite's environment (`VITE_*`, read at build time; see the README).
 * Every default is the demo provider's: `npm start` registers `demo-spa` with the redirect URI
 * http://localhost:5173/callback and the allowed origin http://localhost:5173.
 */
export const config = {
  issuer: import.meta.env.VITE_GATEHOUSE_ISSUER || 'http://localhost:9000',
  clientId: import.meta.env.VITE_GATEHOUSE_CLIENT_ID || 'demo-spa',
  /** The example's resource server (api/server.ts). */
  apiUrl: import.meta.env.VITE_API_URL || 'http://localhost:5174',
  /** Sign back in with `prompt=none` on load (tokens live in memory: a reload loses them). */
  silentLogin: import.meta.env.VITE_SILENT_LOGIN === 'true',
} as const;
