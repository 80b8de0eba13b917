-- Where each projection has read the log up to, moved in the same transaction as the
-- projection's own tables (which the projections create and version themselves; see
-- docs/projections.md).

CREATE TABLE projection_checkpoints (
    name            text        PRIMARY KEY,
    -- The commit-order cursor of the last event applied: (transaction id, position).
    transaction_id  bigint      NOT NULL DEFAULT 0,
    position        bigint      NOT NULL DEFAULT 0,
    -- The projection's table layout version; a change rebuilds it.
    version         integer     NOT NULL,
    events_applied  bigint      NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
