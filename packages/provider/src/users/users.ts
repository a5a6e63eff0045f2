/** Creating and updating local accounts. */
import { randomToken } from '@gatehouse/oauth';
import type { UserInput } from '../config/schema.js';
import type { User, UserStore } from '../storage/types.js';
import type { PasswordHasher } from './passwords.js';

/**
 * Creates the user, or updates the one with the same username (new password and claims, same
 * `sub`: a subject identifier is never reassigned).
 */
export async function putUser(
  users: UserStore,
  passwords: PasswordHasher,
  input: UserInput,
  now: number,
): Promise<User> {
  const username = input.username.toLowerCase();
  const existing = await users.findByUsername(username);
  const user: User = {
    sub: existing?.sub ?? input.sub ?? randomToken(16),
    username,
    passwordHash: await passwords.hash(input.password),
    claims: { ...(input.claims ?? {}) },
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
  if (existing && input.sub !== undefined && input.sub !== existing.sub) {
    throw new Error(`user ${username} already has sub ${existing.sub}; a sub is never reassigned`);
  }
  await users.put(user);
  return user;
}
