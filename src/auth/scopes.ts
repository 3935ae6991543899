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

/** Reading GET /metrics (a Prometheus scraper's client); not implied by sp:scopes:all, never held by a personal client. */
export const METRICS_SCOPE = 'mfa:metrics';

export const KNOWN_SCOPES: readonly string[] = [...SPEC_SCOPES, ALL_SCOPES, ADMIN_SCOPE, IMPERSONATE_SCOPE, METRICS_SCOPE];

/** True when the granted scopes include any of the accepted ones. */
export function allows(granted: readonly string[], accepted: readonly string[]): boolean {
  for (const scope of accepted) {
    if (granted.includes(scope)) return true;
    if ((SPEC_SCOPES as readonly string[]).includes(scope) && granted.includes(ALL_SCOPES)) return true;
  }
  return false;
}
