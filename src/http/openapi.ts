// The OpenAPI document at /openapi.json: the official operations this server serves, under /v3 and
// /beta, the versioned MFA Configuration API v1 at /mfa/v1, plus the extensions (the methods' own, the
// OAuth token endpoint, operator API, health) described in our own words. What each method serves comes
// from its descriptor (src/methods).
import { createHash } from 'node:crypto';
import { DESCRIPTORS } from '../methods/index.js';
import { officialSpec, officialOperation } from './spec.js';

/** The official operations every method shares: poll, and the provider methods' test and delete. */
const SHARED_OPERATIONS: ReadonlyArray<readonly [string, string]> = [
  ['/mfa/{method}/poll', 'post'],
  ['/mfa/{method}/test', 'get'],
  ['/mfa/{method}/delete', 'delete'],
];

/** Official operations served, by path and HTTP method: each method's, then the shared ones. */
export const SERVED_OPERATIONS: ReadonlyArray<readonly [string, string]> = [...DESCRIPTORS.flatMap((d) => d.openapi.official ?? []), ...SHARED_OPERATIONS];

/**
 * The operations of the versioned MFA Configuration API v1 (SailPoint api-specs
 * idn/apis/mfa-configuration): the official configuration operations above, at /mfa/v1/... instead of
 * /v3/mfa/..., with operationIds suffixed V1 (getMFAOktaConfigV1, ...). It has no delete.
 */
export const CONFIGURATION_V1_OPERATIONS: ReadonlyArray<readonly [string, string]> = [
  ...DESCRIPTORS.flatMap((d) => d.openapi.configurationV1 ?? []),
  ['/mfa/{method}/test', 'get'],
];

/** Where a controller configuration path lives in the v1 configuration API. */
export const configurationV1Path = (path: string): string => path.replace(/^\/mfa\//, '/mfa/v1/');

type Json = Record<string, unknown>;

/** Each method's own operations, under /v3 and /beta (operationIds suffixed Beta there). */
const METHOD_EXTENSIONS: Record<string, Json> = Object.fromEntries(
  DESCRIPTORS.flatMap((d) =>
    ['/v3', '/beta'].flatMap((prefix) =>
      Object.entries(d.openapi.extensions ?? {}).map(([path, operations]) => [
        `${prefix}${path}`,
        Object.fromEntries(
          Object.entries(operations).map(([verb, operation]) => [verb, { ...operation, operationId: prefix === '/v3' ? operation.operationId : `${operation.operationId}Beta` }]),
        ),
      ]),
    ),
  ),
);

/** Each method's public routes (a hosted page), at their own path, with no bearer token. */
const METHOD_PUBLIC: Record<string, Json> = Object.fromEntries(
  DESCRIPTORS.flatMap((d) =>
    Object.entries(d.openapi.public ?? {}).map(([path, operations]) => [
      path,
      Object.fromEntries(Object.entries(operations).map(([verb, operation]) => [verb, { ...operation, security: [] }])),
    ]),
  ),
);

const EXTENSIONS: Record<string, Json> = {
  ...METHOD_EXTENSIONS,
  ...METHOD_PUBLIC,
  '/oauth/token': {
    post: {
      operationId: 'createAccessToken',
      tags: ['OAuth'],
      summary: 'Access token by client credentials',
      description: 'Client credentials grant (RFC 6749 section 4.4). The body may be url-encoded, multipart or JSON; the client may authenticate with HTTP Basic instead of body fields.',
      security: [],
      responses: { '200': { description: 'An access token.' }, '400': { description: 'An OAuth error.' }, '401': { description: 'Client authentication failed.' } },
    },
  },
  '/.well-known/jwks.json': { get: { operationId: 'getJwks', tags: ['OAuth'], summary: 'Public keys that verify access tokens', security: [], responses: { '200': { description: 'A JWK set.' } } } },
  '/health/live': { get: { operationId: 'getLiveness', tags: ['Operations'], summary: 'The process is up', security: [], responses: { '200': { description: 'Live.' } } } },
  '/health/ready': { get: { operationId: 'getReadiness', tags: ['Operations'], summary: 'Backing services answer', security: [], responses: { '200': { description: 'Ready.' }, '503': { description: 'Not ready.' } } } },
  '/admin/v1/identities': { get: { operationId: 'listIdentities', tags: ['Operator'], summary: 'List identities (scope mfa:admin)', responses: { '200': { description: 'Identities, by alias.' } } } },
  '/admin/v1/identities/import': { post: { operationId: 'importIdentities', tags: ['Operator'], summary: 'Import identities from JSON or CSV, all or nothing (scope mfa:admin)', responses: { '200': { description: 'Counts written.' }, '400': { description: 'Every bad row, by line.' } } } },
  '/admin/v1/identities/{alias}': {
    get: { operationId: 'getIdentity', tags: ['Operator'], summary: 'One identity', responses: { '200': { description: 'The identity.' }, '404': { description: 'No such alias.' } } },
    put: { operationId: 'putIdentity', tags: ['Operator'], summary: 'Create or replace one identity', responses: { '200': { description: 'The identity.' } } },
    delete: { operationId: 'deleteIdentity', tags: ['Operator'], summary: 'Remove one identity', responses: { '204': { description: 'Removed.' } } },
  },
  '/admin/v1/kba/questions': {
    get: { operationId: 'listKbaQuestions', tags: ['Operator'], summary: 'Security questions, their texts by locale and how many identities answered each', responses: { '200': { description: 'Questions.' } } },
  },
  '/admin/v1/kba/questions/{id}': {
    put: { operationId: 'putKbaQuestion', tags: ['Operator'], summary: 'Create a security question or set one locale\'s text; body {text, locale?}', responses: { '200': { description: 'The question.' }, '400': { description: 'Every problem with the id, text or locale.' } } },
    delete: { operationId: 'deleteKbaQuestion', tags: ['Operator'], summary: 'Remove a security question and every answer to it', responses: { '204': { description: 'Removed.' }, '404': { description: 'No such question.' } } },
  },
  '/admin/v1/clients': {
    get: { operationId: 'listClients', tags: ['Operator'], summary: 'API clients', responses: { '200': { description: 'Clients, without secrets.' } } },
    post: { operationId: 'createClient', tags: ['Operator'], summary: 'Create an API client (personal with identityAlias); the secret is shown once', responses: { '201': { description: 'The client id and secret.' } } },
  },
  '/admin/v1/clients/{clientId}': {
    delete: { operationId: 'deleteClient', tags: ['Operator'], summary: 'Delete an API client; its tokens stop working within a second (docs/security.md)', responses: { '204': { description: 'Deleted.' }, '404': { description: 'No such client.' } } },
  },
  '/admin/v1/clients/{clientId}/disable': {
    post: { operationId: 'disableClient', tags: ['Operator'], summary: 'Disable an API client, keeping it on record; its tokens stop working within a second', responses: { '204': { description: 'Disabled.' }, '404': { description: 'No such client.' } } },
  },
  '/admin/v1/identities/{alias}/unlock': {
    post: { operationId: 'unlockIdentity', tags: ['Operator'], summary: 'End the alias\'s token, KBA and TOTP lockouts (audited)', responses: { '200': { description: '{wasLocked: [{method, until}]}: the lockouts that were in force.' } } },
  },
  '/admin/v1/identities/{alias}/kba-answers': {
    delete: { operationId: 'resetKbaAnswers', tags: ['Operator'], summary: 'Remove every security answer of the identity (audited); the person enrols again as for the first time', responses: { '204': { description: 'Removed.' }, '404': { description: 'No such identity.' } } },
  },
  '/admin/v1/identities/{alias}/invitations': {
    post: {
      operationId: 'inviteIdentity',
      tags: ['Operator'],
      summary: 'Send the identity an invitation to the self-service portal (docs/portal.md); earlier unused invitations stop working',
      description: 'The link goes to the identity\'s email attribute through the configured transport and comes back in the answer {alias, link, expires, sentTo (masked), delivered}. It signs the identity in once, within MFA_PORTAL_INVITATION_TTL_SECONDS.',
      responses: { '201': { description: 'The invitation.' }, '400': { description: 'The identity has no email.' }, '404': { description: 'No such identity.' }, '409': { description: 'The identity is disabled, or the portal is switched off.' } },
    },
  },
  // The self-service portal (docs/portal.md): HTML pages and form posts for people, signed in by a session
  // cookie; every post needs the page's form token (_csrf) and the service's Origin.
  ...portalOperations(),
  // The operator console (docs/console.md): pages and forms for operators signed in with a passkey; every
  // change needs the admin role, the session's form token and the service's Origin.
  ...consoleOperations(),
  '/admin/v1/keys/rotate': { post: { operationId: 'rotateSigningKey', tags: ['Operator'], summary: 'Start signing with a new key; body {"retirePrevious": true} stops earlier keys verifying at once', responses: { '200': { description: 'The new key id.' } } } },
  '/admin/v1/audit': {
    get: {
      operationId: 'listAuditEvents',
      tags: ['Operator'],
      summary: 'Verification decisions, newest first (order=oldest for the other way); filters alias, method, outcome, clientId, since, until; paging by after=<id>, limit',
      responses: { '200': { description: 'Audit events; addresses masked.' }, '400': { description: 'A filter is not valid.' } },
    },
  },
  '/metrics': { get: { operationId: 'getMetrics', tags: ['Operations'], summary: 'Prometheus metrics (scope mfa:metrics; when MFA_METRICS_ENABLED)', responses: { '200': { description: 'Prometheus text format.' }, '401': { description: 'No valid bearer token.' }, '403': { description: 'The token lacks mfa:metrics.' } } } },
};

/** The portal's pages (GET) and forms (POST); no bearer token, a session cookie instead. */
function portalOperations(): Record<string, Json> {
  const page = (operationId: string, summary: string): Json => ({ operationId, tags: ['Portal'], summary, security: [], responses: { '200': { description: 'An HTML page.' }, '303': { description: 'To the sign-in page, or on.' } } });
  const form = (operationId: string, summary: string): Json => ({
    operationId,
    tags: ['Portal'],
    summary,
    security: [],
    requestBody: { content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', properties: { _csrf: { type: 'string' } }, required: ['_csrf'] } } } },
    responses: { '200': { description: 'An HTML page.' }, '303': { description: 'On to the next page.' }, '400': { description: 'An HTML page saying what is wrong.' }, '403': { description: 'No form token, a wrong one, or a foreign Origin.' }, '429': { description: 'Too many forms from this address or session.' } },
  });
  /** A call of the portal's passkey script: JSON, with the form token in x-csrf-token. */
  const script = (operationId: string, summary: string): Json => ({
    operationId,
    tags: ['Portal'],
    summary,
    security: [],
    parameters: [{ name: 'x-csrf-token', in: 'header', required: true, schema: { type: 'string' } }],
    requestBody: { content: { 'application/json': { schema: { type: 'object' } } } },
    responses: {
      '200': { description: 'JSON for the script.' },
      '400': { description: 'ErrorResponseDto, or an HTML page for an unreadable form.' },
      '403': { description: 'No form token, a wrong one, a foreign Origin; or (ErrorResponseDto, Location naming the page) the factor-change rule.' },
      '429': { description: 'Too many forms from this address or session.' },
    },
  });
  return {
    '/portal': { get: page('portalOverview', 'Your sign-in methods: the sections, addresses and recent verifications') },
    '/portal/sign-in': { get: page('portalSignInPage', 'Sign in: a user name, then a code sent to the work email'), post: form('portalSendCode', 'Send a sign-in code (answered alike for every user name)') },
    '/portal/sign-in/code': { post: form('portalSignInWithCode', 'Sign in with the emailed code') },
    '/portal/invitation': { get: page('portalInvitationPage', 'The page an invitation link opens'), post: form('portalRedeemInvitation', 'Sign in with an invitation, once') },
    '/portal/sign-out': { post: form('portalSignOut', 'End the session') },
    '/portal/verify': { get: page('portalVerifyPage', 'Confirm it is you before changing a factor'), post: form('portalSendVerifyCode', 'Send the code that confirms it is you') },
    '/portal/verify/code': { post: form('portalVerifyWithCode', 'Confirm it is you with the emailed code') },
    '/portal/security-questions': { get: page('portalSecurityQuestionsPage', 'Choose and answer security questions'), post: form('portalSaveSecurityAnswers', 'Replace the security answers (factor-change rule)') },
    '/portal/passkeys': { get: page('portalPasskeysPage', 'The passkeys, to rename or remove') },
    '/portal/passkeys/options': { post: script('portalPasskeyRegistrationOptions', 'Start adding a passkey (factor-change rule when the identity has a factor)') },
    '/portal/passkeys/verify': { post: script('portalPasskeyRegistrationVerify', 'Store the new passkey: {requestId, response, name?}') },
    '/portal/passkeys/rename': { post: form('portalRenamePasskey', 'Rename a passkey') },
    '/portal/passkeys/remove': { post: form('portalRemovePasskey', 'Remove a passkey (factor-change rule)') },
    '/portal/authenticator-app': { get: page('portalAuthenticatorAppPage', 'The authenticator app: set up, replace, remove'), post: form('portalStartAuthenticatorApp', 'Start setting up an authenticator app: the key and otpauth URI as text (factor-change rule when the identity has a factor)') },
    '/portal/authenticator-app/confirm': { post: form('portalConfirmAuthenticatorApp', 'Confirm the new authenticator app with a code') },
    '/portal/authenticator-app/remove': { post: form('portalRemoveAuthenticatorApp', 'Remove the authenticator app (factor-change rule)') },
    '/portal/sign-in/passkey/options': { post: script('portalPasskeySignInOptions', 'Start signing in with a passkey: {alias}') },
    '/portal/sign-in/passkey/verify': { post: script('portalPasskeySignIn', 'Sign in with the passkey\'s answer: {requestId, response}') },
  };
}

/** The console's pages (GET), forms (POST) and the JSON calls of its passkey pages; a session cookie, no bearer token. */
function consoleOperations(): Record<string, Json> {
  const page = (operationId: string, summary: string): Json => ({ operationId, tags: ['Console'], summary, security: [], responses: { '200': { description: 'An HTML page.' }, '303': { description: 'To the sign-in page.' } } });
  const form = (operationId: string, summary: string): Json => ({
    operationId,
    tags: ['Console'],
    summary,
    security: [],
    requestBody: { content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', properties: { _csrf: { type: 'string' } }, required: ['_csrf'] } } } },
    responses: { '303': { description: 'Back to the page, changed.' }, '400': { description: 'An HTML page saying what is wrong.' }, '403': { description: 'No form token, a wrong one, a foreign Origin, or the viewer role.' }, '404': { description: 'No such thing.' } },
  });
  const call = (operationId: string, summary: string): Json => ({
    operationId,
    tags: ['Console'],
    summary,
    security: [],
    parameters: [{ name: 'x-csrf-token', in: 'header', required: true, schema: { type: 'string' } }],
    requestBody: { content: { 'application/json': { schema: { type: 'object' } } } },
    responses: { '200': { description: 'The ceremony\'s options, or where to go once signed in.' }, '400': { description: 'Refused.' }, '403': { description: 'No pre-session token, or a foreign Origin.' }, '404': { description: 'The enrolment link is unusable.' }, '429': { description: 'Too many calls from this address.' } },
  });
  return {
    '/console': { get: page('consoleDashboard', 'Verifications, delivery failures and lockouts of the last 24 hours; providers; the signing key') },
    '/console/sign-in': { get: page('consoleSignInPage', 'Sign in with a passkey') },
    '/console/sign-in/options': { post: call('consoleSignInOptions', 'Options of a passkey sign-in (no credential named)') },
    '/console/sign-in/verify': { post: call('consoleSignIn', 'Sign in with the passkey\'s answer, once per challenge') },
    '/console/enrol': { get: page('consoleEnrolPage', 'The page an enrolment link opens (its token in the fragment)') },
    '/console/enrol/options': { post: call('consoleEnrolOptions', 'Options to register the link\'s operator\'s passkey') },
    '/console/enrol/verify': { post: call('consoleEnrol', 'Register the passkey; uses the link up') },
    '/console/sign-out': { post: form('consoleSignOut', 'End the session') },
    '/console/identities': { get: page('consoleIdentities', 'Search and page through the directory (q, after)') },
    '/console/identity': { get: page('consoleIdentity', 'One identity: attributes, factors, lockouts, recent verifications (alias)') },
    '/console/identity/unlock': { post: form('consoleUnlock', 'End the identity\'s lockouts (audited)') },
    '/console/identity/invite': { post: form('consoleInvite', 'Send an invitation to the self-service portal (audited)') },
    '/console/identity/reset': { post: form('consoleResetFactor', 'Remove a factor: kba, totp or passkey (audited)') },
    '/console/verifications': { get: page('consoleVerifications', 'Find a verification by request id; filter decisions') },
    '/console/audit': { get: page('consoleAudit', 'The audit trail with filters') },
    '/console/audit/export': { get: { operationId: 'consoleAuditExport', tags: ['Console'], summary: 'The filtered audit trail as CSV or JSON (format)', security: [], responses: { '200': { description: 'A download.' }, '303': { description: 'To the sign-in page.' } } } },
    '/console/providers': { get: page('consoleProviders', 'Provider configurations, secrets masked; circuits; last tests') },
    '/console/providers/test': { post: form('consoleTestProvider', 'Test a provider\'s configuration') },
    '/console/providers/save': { post: form('consoleSaveProvider', 'Save a provider\'s configuration (the configuration API\'s rules for masked secrets)') },
    '/console/clients': { get: page('consoleClients', 'API clients'), post: form('consoleCreateClient', 'Create a client: its secret is shown once') },
    '/console/clients/disable': { post: form('consoleDisableClient', 'Disable a client (its tokens stop working)') },
    '/console/clients/delete': { post: form('consoleDeleteClient', 'Delete a client') },
    '/console/questions': { get: page('consoleQuestions', 'The security questions catalog'), post: form('consolePutQuestion', 'Add a question or set one of its texts') },
    '/console/questions/remove': { post: form('consoleRemoveQuestion', 'Remove a question') },
    '/console/keys': { get: page('consoleKeys', 'Signing keys') },
    '/console/keys/rotate': { post: form('consoleRotateKey', 'Start signing with a new key') },
  };
}

export function servedOpenApi(publicUrl: string): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const prefix of ['/v3', '/beta']) {
    for (const [path, method] of SERVED_OPERATIONS) {
      const operation = officialOperation(path, method);
      const id = prefix === '/beta' ? `${String(operation['operationId'])}Beta` : operation['operationId'];
      (paths[`${prefix}${path}`] ??= {})[method] = { ...operation, operationId: id };
    }
  }
  for (const [path, method] of CONFIGURATION_V1_OPERATIONS) {
    const operation = officialOperation(path, method);
    (paths[configurationV1Path(path)] ??= {})[method] = { ...operation, operationId: `${String(operation['operationId'])}V1` };
  }
  Object.assign(paths, EXTENSIONS);
  return {
    openapi: '3.0.1',
    info: {
      title: 'mfa-controller',
      version: '0.1.0',
      description: 'Self-hosted MFA Controller API. The /v3 and /beta operations, and the MFA Configuration API v1 at /mfa/v1, follow the official SailPoint API descriptions (MIT licence); the rest are this service\'s extensions.',
    },
    servers: [{ url: publicUrl }],
    security: [{ bearer: [] }],
    paths,
    components: {
      ...(officialSpec['components'] as Json),
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

const DOCS_STYLE = 'body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}td{padding:.2rem .8rem;border-bottom:1px solid #ddd}';

/**
 * The Content-Security-Policy of the docs page: nothing loads but its one inline style (allowed by its
 * hash), no script runs, no form posts, and no other site may frame it (clickjacking).
 */
export const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(DOCS_STYLE).digest('base64')}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** A plain page listing every served operation, readable without any script or outside asset. */
export function docsPage(document: Json): string {
  const rows: string[] = [];
  for (const [path, operations] of Object.entries(document['paths'] as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(operations)) {
      rows.push(`<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escapeHtml(path)}</code></td><td>${escapeHtml(String(op['summary'] ?? ''))}</td></tr>`);
    }
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mfa-controller API</title>
<style>${DOCS_STYLE}</style></head>
<body><h1>mfa-controller API</h1><p>The full description is at <a href="/openapi.json">/openapi.json</a>.</p>
<table><thead><tr><th>Method</th><th>Path</th><th>Summary</th></tr></thead><tbody>${rows.join('')}</tbody></table></body></html>`;
}
