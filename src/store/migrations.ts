// Versioned schema changes, applied in order at start-up. The SQL is written to run on both SQLite and
// PostgreSQL; never edit a released migration, add a new one.

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'identities, clients, keys, token verifications, limits',
    sql: `
      CREATE TABLE identities (
        id TEXT PRIMARY KEY,
        alias TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL,
        attributes TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE TABLE api_clients (
        client_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        scopes TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        alg TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        sealed_private_jwk TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        retired_at BIGINT
      );
      CREATE TABLE verifications (
        id TEXT PRIMARY KEY,
        method TEXT NOT NULL,
        subject TEXT NOT NULL,
        client_id TEXT NOT NULL,
        delivery_type TEXT,
        secret_hash TEXT,
        status TEXT NOT NULL,
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_guess_hash TEXT,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        completed_at BIGINT
      );
      CREATE INDEX verifications_by_subject ON verifications (subject, method, status);
      CREATE INDEX verifications_by_expiry ON verifications (expires_at);
      CREATE TABLE token_subjects (
        subject TEXT PRIMARY KEY,
        request_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        delivery_type TEXT NOT NULL,
        sent_at BIGINT NOT NULL
      );
      CREATE TABLE lockouts (
        subject TEXT NOT NULL,
        method TEXT NOT NULL,
        failures INTEGER NOT NULL,
        window_started_at BIGINT NOT NULL,
        locked_until BIGINT NOT NULL,
        PRIMARY KEY (subject, method)
      );
      CREATE TABLE rate_counters (
        key TEXT PRIMARY KEY,
        window_started_at BIGINT NOT NULL,
        count INTEGER NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'personal clients, security questions and answers',
    sql: `
      ALTER TABLE api_clients ADD COLUMN identity_alias TEXT;
      CREATE TABLE kba_questions (
        id TEXT PRIMARY KEY,
        texts TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE kba_answers (
        identity_id TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
        question_id TEXT NOT NULL REFERENCES kba_questions (id) ON DELETE CASCADE,
        answer_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (identity_id, question_id)
      );
      CREATE INDEX kba_answers_by_question ON kba_answers (question_id);
    `,
  },
  {
    version: 3,
    name: 'outside providers: configuration with sealed secrets, provider-side verification state',
    sql: `
      CREATE TABLE provider_configs (
        method TEXT PRIMARY KEY,
        enabled INTEGER NOT NULL,
        host TEXT,
        identity_attribute TEXT,
        properties TEXT NOT NULL,
        sealed_secrets TEXT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      ALTER TABLE verifications ADD COLUMN provider_state TEXT;
    `,
  },
  {
    version: 4,
    name: 'audit trail of verification decisions',
    // Append-only. The id is time-ordered text (core/audit.ts), so no sequence is needed on either database.
    sql: `
      CREATE TABLE audit_events (
        id TEXT PRIMARY KEY,
        at BIGINT NOT NULL,
        method TEXT NOT NULL,
        operation TEXT NOT NULL,
        alias TEXT NOT NULL,
        client_id TEXT NOT NULL,
        address TEXT,
        delivery_type TEXT,
        outcome TEXT NOT NULL,
        reason TEXT,
        request_id TEXT
      );
      CREATE INDEX audit_events_by_alias ON audit_events (alias, id);
      CREATE INDEX audit_events_by_client ON audit_events (client_id, id);
      CREATE INDEX audit_events_by_at ON audit_events (at);
    `,
  },
  {
    version: 5,
    name: 'personal clients bound to the identity id; client disabling; signing key revocation',
    // A personal client follows its identity, not the alias text: a later identity given the same alias
    // must not be reachable through it. Clients whose identity is already gone are disabled.
    sql: `
      ALTER TABLE api_clients ADD COLUMN identity_id TEXT;
      ALTER TABLE api_clients ADD COLUMN disabled_at BIGINT;
      UPDATE api_clients SET identity_id = (SELECT id FROM identities WHERE identities.alias = api_clients.identity_alias)
        WHERE identity_alias IS NOT NULL;
      UPDATE api_clients SET disabled_at = created_at WHERE identity_alias IS NOT NULL AND identity_id IS NULL;
      CREATE INDEX api_clients_by_identity ON api_clients (identity_id);
      ALTER TABLE signing_keys ADD COLUMN revoked_at BIGINT;
      CREATE INDEX verifications_by_completion ON verifications (subject, completed_at)
    `,
  },
  {
    version: 6,
    name: 'authenticator apps (TOTP): one registration row per identity, secrets sealed',
    // The active registration and at most one pending one (src/methods/totp/store.ts). last_step is the
    // last time step a code was accepted at: codes of that step or earlier are refused.
    sql: `
      CREATE TABLE totp_registrations (
        identity_id TEXT PRIMARY KEY,
        active_id TEXT,
        sealed_secret TEXT,
        confirmed_at BIGINT,
        last_step BIGINT,
        pending_id TEXT,
        pending_sealed_secret TEXT,
        pending_replaces TEXT,
        pending_expires_at BIGINT,
        updated_at BIGINT NOT NULL
      )
    `,
  },
  {
    version: 7,
    name: 'passkeys: credentials and their ceremonies',
    // A credential row holds only public material; a ceremony row is one challenge, answered once
    // (used_at), and for a hosted verification the keyed hash of its URL's token (src/methods/passkey).
    sql: `
      CREATE TABLE passkey_credentials (
        id TEXT PRIMARY KEY,
        identity_id TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        public_key TEXT NOT NULL,
        sign_count BIGINT NOT NULL,
        user_handle TEXT NOT NULL,
        transports TEXT NOT NULL,
        device_type TEXT NOT NULL,
        backed_up INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT
      );
      CREATE INDEX passkey_credentials_by_identity ON passkey_credentials (identity_id);
      CREATE TABLE passkey_ceremonies (
        request_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        client_id TEXT NOT NULL,
        identity_id TEXT REFERENCES identities (id) ON DELETE CASCADE,
        challenge TEXT NOT NULL,
        user_handle TEXT,
        url_hash TEXT UNIQUE,
        return_url TEXT,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT
      );
      CREATE INDEX passkey_ceremonies_by_expiry ON passkey_ceremonies (expires_at)
    `,
  },
  {
    version: 8,
    name: 'self-service portal: invitations and sessions',
    // Only keyed hashes of the link tokens and session secrets (src/core/invitation.ts, portal-session.ts).
    // Both go with their identity.
    sql: `
      CREATE TABLE portal_invitations (
        token_hash TEXT PRIMARY KEY,
        identity_id TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX portal_invitations_by_identity ON portal_invitations (identity_id);
      CREATE INDEX portal_invitations_by_expiry ON portal_invitations (expires_at);
      CREATE TABLE portal_sessions (
        id_hash TEXT PRIMARY KEY,
        identity_id TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        last_seen_at BIGINT NOT NULL,
        verified_at BIGINT NOT NULL
      );
      CREATE INDEX portal_sessions_by_identity ON portal_sessions (identity_id);
      CREATE INDEX portal_sessions_by_last_seen ON portal_sessions (last_seen_at);
      CREATE INDEX portal_sessions_by_creation ON portal_sessions (created_at)
    `,
  },
  {
    version: 9,
    name: 'operator console: operators, their passkeys, enrolment links, sessions and ceremonies',
    // Operators are not identities: their own tables. Links and sessions only as keyed hashes
    // (src/core/operator.ts); a passkey row holds only public material.
    sql: `
      CREATE TABLE operators (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE operator_enrolments (
        token_hash TEXT PRIMARY KEY,
        operator_id TEXT NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX operator_enrolments_by_operator ON operator_enrolments (operator_id);
      CREATE TABLE operator_passkeys (
        id TEXT PRIMARY KEY,
        operator_id TEXT NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
        public_key TEXT NOT NULL,
        sign_count BIGINT NOT NULL,
        transports TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX operator_passkeys_by_operator ON operator_passkeys (operator_id);
      CREATE TABLE operator_sessions (
        id_hash TEXT PRIMARY KEY,
        operator_id TEXT NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        last_seen_at BIGINT NOT NULL
      );
      CREATE INDEX operator_sessions_by_last_seen ON operator_sessions (last_seen_at);
      CREATE TABLE operator_ceremonies (
        challenge TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        operator_id TEXT REFERENCES operators (id) ON DELETE CASCADE,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX operator_ceremonies_by_expiry ON operator_ceremonies (expires_at)
    `,
  },
];
