-- Crypto-shredding: free text that may hold personal data is stored in the log encrypted
-- under a data key per subject (a case, an activity, an item …). The keys live here, each
-- wrapped by the key-encryption key that only the application holds. This table is NOT
-- append-only: erasing a subject's personal data destroys its key (wrapped_key becomes
-- NULL), which leaves the log and its hash chains whole but the text unreadable.

CREATE TABLE data_keys (
    subject       text        PRIMARY KEY,
    wrapped_key   bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    destroyed_at  timestamptz,
    decision      text,
    CHECK ((wrapped_key IS NULL) = (destroyed_at IS NOT NULL))
);

-- A value sealed with the key-encryption key, so that Insats can tell at start whether it
-- holds the right key.
CREATE TABLE encryption_check (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    sealed     bytea   NOT NULL
);
