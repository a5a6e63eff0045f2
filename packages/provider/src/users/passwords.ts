/**
 * Password hashing with scrypt (memory-hard), run on libuv's thread pool so it never blocks the
 * event loop. Stored form: `scrypt$<logN>$<r>$<p>$<salt>$<hash>` (salt and hash base64url).
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<boolean>;
  /**
   * Spends the same time as a real verification, for unknown usernames, so that timing does not
   * reveal which accounts exist.
   */
  dummyVerify(password: string): Promise<void>;
}

const KEY_LENGTH = 32;

function derive(
  password: string,
  salt: Buffer,
  logN: number,
  r: number,
  p: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const N = 2 ** logN;
    scrypt(
      password,
      salt,
      KEY_LENGTH,
      { N, r, p, maxmem: 256 * N * r + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

/** scrypt with N = 2^logN (default 2^15, r = 8: 32 MiB and a few tens of milliseconds). */
export function scryptHasher(options: { logN?: number } = {}): PasswordHasher {
  const logN = options.logN ?? 15;
  const r = 8;
  const p = 1;
  const dummySalt = randomBytes(16);
  return {
    async hash(password) {
      const salt = randomBytes(16);
      const key = await derive(password, salt, logN, r, p);
      return `scrypt$${logN}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
    },
    async verify(password, stored) {
      const parts = stored.split('$');
      if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
      const [, n, rr, pp, salt, hash] = parts as [string, string, string, string, string, string];
      const expected = Buffer.from(hash, 'base64url');
      const key = await derive(
        password,
        Buffer.from(salt, 'base64url'),
        Number(n),
        Number(rr),
        Number(pp),
      );
      return key.length === expected.length && timingSafeEqual(key, expected);
    },
    async dummyVerify(password) {
      await derive(password, dummySalt, logN, r, p);
    },
  };
}
