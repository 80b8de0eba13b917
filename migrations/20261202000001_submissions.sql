-- Requests that may arrive twice: a form sent again (a double click, the browser's
-- "resend"), an API call retried after a time-out. Each is known by its key (a form's
-- one-time submission id, or an API client's Idempotency-Key) per user, with a fingerprint
-- of what it asked. The row is claimed and completed in the same transaction as the
-- events the request appends, so a second arrival either waits for the first and gets its
-- answer, or finds it done: it never appends again. See docs/events.md.

CREATE TABLE submissions (
    user_id         uuid        NOT NULL,
    key             text        NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint     bytea       NOT NULL CHECK (octet_length(fingerprint) = 32),
    -- What the first arrival did: the id it created or changed, where its last event landed.
    done_id         uuid,
    position        bigint,
    transaction_id  bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

-- Keys are kept for at least a day (README); older ones are removed in passing.
CREATE INDEX submissions_created_at ON submissions (created_at);
