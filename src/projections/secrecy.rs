//! Which texts are marked secret now (the latest mark or lift per target).

use std::collections::BTreeMap;

use super::{Applied, Names, Projection, Table};
use crate::domain::catalogue::{DomainEvent, EventType, Family};
use crate::domain::privacy::SecrecyEvent;

const TABLES: &[Table] = &[Table {
    name: "secret_texts",
    columns: "
        target  text    PRIMARY KEY,
        secret  boolean NOT NULL,
        area    text",
    indexes: &[],
    indexes_serve_apply: false,
}];

pub const PROJECTION: Projection = Projection {
    name: "secrecy",
    version: 2,
    tables: TABLES,
    reads: |event_type: &EventType| event_type.family == Family::Secrecy,
    apply: |connection, names, events| Box::pin(apply(connection, names, events)),
    chunks_at_once: 1,
};

const UPSERT: &str = "
    INSERT INTO {secret_texts} AS s (target, secret, area)
    SELECT * FROM unnest($1::text[], $2::bool[], $3::text[])
    ON CONFLICT (target) DO UPDATE SET secret = excluded.secret, area = excluded.area";

async fn apply(
    connection: &mut sqlx::PgConnection,
    names: &Names,
    events: &[Applied],
) -> sqlx::Result<()> {
    // The last mark or lift of each target in the batch decides.
    let mut latest: BTreeMap<&str, (bool, &str)> = BTreeMap::new();
    for applied in events {
        let DomainEvent::Secrecy(event) = &applied.event else {
            continue;
        };
        let (target, area, secret) = match event {
            SecrecyEvent::SecrecyMarked { target, area, .. } => (target, area, true),
            SecrecyEvent::SecrecyLifted { target, area, .. } => (target, area, false),
        };
        latest.insert(target.as_str(), (secret, area.as_str()));
    }
    if latest.is_empty() {
        return Ok(());
    }
    let targets: Vec<&str> = latest.keys().copied().collect();
    let secret: Vec<bool> = latest.values().map(|(secret, _)| *secret).collect();
    let areas: Vec<&str> = latest.values().map(|(_, area)| *area).collect();
    sqlx::query(sqlx::AssertSqlSafe(names.resolve(UPSERT, TABLES)))
        .bind(&targets)
        .bind(&secret)
        .bind(&areas)
        .execute(connection)
        .await?;
    Ok(())
}
