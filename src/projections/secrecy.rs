//! Which texts are marked secret now (the latest mark or lift per target).

use super::{Projection, Table};

pub const PROJECTION: Projection = Projection {
    name: "secrecy",
    version: 1,
    tables: &[Table {
        name: "secret_texts",
        columns: "
            target  text    PRIMARY KEY,
            secret  boolean NOT NULL,
            area    text",
        indexes: &[],
        indexes_serve_apply: false,
    }],
    apply: &["
        INSERT INTO {secret_texts} AS s (target, secret, area)
        SELECT DISTINCT ON (e.data->>'target') e.data->>'target', e.event_type = 'SecrecyMarked', e.data->>'area'
        FROM events e
        WHERE {range} AND e.event_type IN ('SecrecyMarked', 'SecrecyLifted')
        ORDER BY e.data->>'target', e.transaction_id DESC, e.position DESC
        ON CONFLICT (target) DO UPDATE SET secret = excluded.secret, area = excluded.area"],
};
