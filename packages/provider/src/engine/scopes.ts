/** Scopes and the claims they release (OpenID Connect Core §5.4). */

export const STANDARD_SCOPES: Readonly<
  Record<string, { description: string; claims: readonly string[] }>
> = {
  openid: { description: 'Sign you in and know who you are', claims: ['sub'] },
  profile: {
    description: 'Your name and basic profile',
    claims: [
      'name',
      'family_name',
      'given_name',
      'middle_name',
      'nickname',
      'preferred_username',
      'profile',
      'picture',
      'website',
      'gender',
      'birthdate',
      'zoneinfo',
      'locale',
      'updated_at',
    ],
  },
  email: { description: 'Your email address', claims: ['email', 'email_verified'] },
  address: { description: 'Your postal address', claims: ['address'] },
  phone: { description: 'Your phone number', claims: ['phone_number', 'phone_number_verified'] },
  offline_access: { description: 'Stay connected when you are not using the app', claims: [] },
};

/** Every scope the provider supports. */
export function supportedScopes(extra: readonly string[]): string[] {
  return [...Object.keys(STANDARD_SCOPES), ...extra];
}

/** The claims released for a set of scopes, taken from the user's stored claims. */
export function claimsForScopes(
  scopes: readonly string[],
  userClaims: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const scope of scopes) {
    for (const claim of STANDARD_SCOPES[scope]?.claims ?? []) {
      if (claim !== 'sub' && userClaims[claim] !== undefined) out[claim] = userClaims[claim];
    }
  }
  return out;
}

export function describeScope(scope: string): string {
  return STANDARD_SCOPES[scope]?.description ?? `Access “${scope}”`;
}
