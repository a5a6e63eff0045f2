/**
 * The Web adapter's sealer: @gatehouse/oauth's AES-256-GCM sealer (`crypto.subtle`), one
 * HKDF-derived key per purpose of the adapter (`gatehouse-web <purpose> v1`).
 */
import { sealer as oauthSealer, type Sealer } from '@gatehouse/oauth';

export type { Sealer };

export function sealer(secret: string, purpose: string): Sealer {
  return oauthSealer(secret, `gatehouse-web ${purpose} v1`);
}
