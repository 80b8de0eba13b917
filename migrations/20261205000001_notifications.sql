-- Reminders and their mail (see docs/notifications.md).
--
-- How each person wants reminders by e-mail: at once, as one mail a day, or not at all.
ALTER TABLE users
    ADD COLUMN mail_choice text NOT NULL DEFAULT 'digest'
        CHECK (mail_choice IN ('immediate', 'digest', 'none'));

-- Every reminder decided for someone: once per rule, subject, period and person (the key).
-- `message_id` is the mail that carries it; NULL while it waits for the day's digest.
CREATE TABLE reminders (
    reminder_key  text        PRIMARY KEY,
    user_id       uuid        NOT NULL,
    rule          text        NOT NULL,
    subject       text        NOT NULL,
    period        text        NOT NULL,
    decided_at    timestamptz NOT NULL,
    message_id    text
);
CREATE INDEX reminders_waiting ON reminders (user_id) WHERE message_id IS NULL;

-- The outbox: mails decided in the same transaction as their reminders, sent by one
-- instance at a time, retried with backoff until the mail server takes them. A mail sent
-- again after a crash carries the same Message-ID.
CREATE TABLE mail_outbox (
    message_id       text        PRIMARY KEY,
    user_id          uuid        NOT NULL,
    recipient        text        NOT NULL,
    subject          text        NOT NULL,
    text_body        text        NOT NULL,
    html_body        text        NOT NULL,
    created_at       timestamptz NOT NULL,
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    sent_at          timestamptz,
    given_up_at      timestamptz,
    last_error       text
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at)
    WHERE sent_at IS NULL AND given_up_at IS NULL;
CREATE INDEX mail_outbox_user ON mail_outbox (user_id, created_at DESC);
