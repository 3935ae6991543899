// The spec's scopes, and the one extension scope for the operator API.

export const SPEC_SCOPES = [
  'idn:mfa:send',
  'idn:mfa:poll',
  'idn:mfa:verify',
  'idn:mfa-kba:read',
  'idn:mfa-kba:authenticate',
  'idn:mfa-configuration:read',
  'idn:mfa-configuration:manage',
] as const;

/** Grants every scope in SPEC_SCOPES, as in the official API. */
export const ALL_SCOPES = 'sp:scopes:all';

/** The operator API under /admin/v1; not implied by sp:scopes:all. */
export const ADMIN_SCOPE = 'mfa:admin';

/** Lets a service client exchange its token for one acting for an identity (RFC 8693); not implied by sp:scopes:all. */
export const IMPERSONATE_SCOPE = 'mfa:impersonate';

/**
 * What a token acting for an identity (a personal client's, or one from token exchange) may do: the
 * identity's own verifications and security questions. Never configuration, administration, metrics or
 * exchange; on such a token sp:scopes:all stands for these only (docs/security.md, "Identity binding").
 */
export const IDENTITY_SCOPES: readonly string[] = ['idn:mfa:send', 'idn:mfa:poll', 'idn:mfa:verify', 'idn:mfa-kba:read', 'idn:mfa-kba:authenticate'];

/** Reading GET /metrics (a Prometheus scraper's client); not implied by sp:scopes:all, never held by a personal client. */
export const METRICS_SCOPE = 'mfa:metrics';

export const KNOWN_SCOPES: readonly string[] = [...SPEC_SCOPES, ALL_SCOPES, ADMIN_SCOPE, IMPERSONATE_SCOPE, METRICS_SCOPE];

/** The scopes an identity-bound token holds out of these: sp:scopes:all spelled out, then cut to IDENTITY_SCOPES. */
export function identityBound(scopes: readonly string[]): string[] {
  const expanded = scopes.includes(ALL_SCOPES) ? [...scopes, ...IDENTITY_SCOPES] : scopes;
  return [...new Set(expanded.filter((s) => IDENTITY_SCOPES.includes(s)))];
}

/**
 * True when the granted scopes include any of the accepted ones. For a token acting for an identity
 * only IDENTITY_SCOPES count, whatever the token says.
 */
export function allows(granted: readonly string[], accepted: readonly string[], actsForIdentity = false): boolean {
  const held = actsForIdentity ? identityBound(granted) : granted;
  for (const scope of accepted) {
    if (held.includes(scope)) return true;
    if (!actsForIdentity && (SPEC_SCOPES as readonly string[]).includes(scope) && held.includes(ALL_SCOPES)) return true;
  }
  return false;
}
