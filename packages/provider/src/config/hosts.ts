/** Loopback hosts: where http is allowed (development issuers, native redirect URIs, key sets). */
export const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Whether a URL's hostname is a loopback host (localhost, 127.0.0.0/8 or [::1]). */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}
