-- Accounts, sessions and API tokens. Not part of the event log: credentials must be
-- changeable and removable. Administering accounts is also recorded as events (stream
-- "users", without any secret) so that the audit trail says who changed what.

CREATE TABLE users (
    user_id        uuid        PRIMARY KEY,
    email          text        NOT NULL UNIQUE CHECK (email = lower(email)),
    name           text        NOT NULL,
    role           text        NOT NULL,
    areas          text[]      NOT NULL DEFAULT '{}',
    processes      text[]      NOT NULL DEFAULT '{}',
    password_hash  text        NOT NULL,
    disabled_at    timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- A session is known by the SHA-256 of its cookie value; the value itself is never stored.
CREATE TABLE sessions (
    id_hash       bytea       PRIMARY KEY,
    user_id       uuid        NOT NULL REFERENCES users ON DELETE CASCADE,
    csrf_token    text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_user ON sessions (user_id);

-- API tokens for machine clients, bound to a user, stored as SHA-256, revocable.
CREATE TABLE api_tokens (
    token_id      uuid        PRIMARY KEY,
    user_id       uuid        NOT NULL REFERENCES users ON DELETE CASCADE,
    token_hash    bytea       NOT NULL UNIQUE,
    label         text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
