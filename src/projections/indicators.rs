//! The key indicators' figures as they stand: one row per indicator, unit (municipality or
//! comparison unit), year and gender, with the latest value, the value before its latest
//! revision, how many times it was revised, where it came from and when it was recorded.
//! The earlier figures stay in the log (the auditor sees them all).

use super::{Applied, Names, Projection, Table};
use crate::domain::catalogue::{DomainEvent, EventType, Family};
use crate::domain::indicator::IndicatorEvent;

const TABLES: &[Table] = &[Table {
    name: "indicator_values",
    columns: "
        indicator    text        NOT NULL,
        unit         text        NOT NULL,
        year         integer     NOT NULL,
        gender       text        NOT NULL,
        value        float8      NOT NULL,
        previous     float8,
        revisions    integer     NOT NULL DEFAULT 0,
        source       text        NOT NULL,
        reference    text        NOT NULL,
        recorded_at  timestamptz NOT NULL,
        position     bigint      NOT NULL,
        PRIMARY KEY (indicator, unit, year, gender)",
    indexes: &[],
    indexes_serve_apply: true,
}];

pub const PROJECTION: Projection = Projection {
    name: "indicator_values",
    version: 1,
    tables: TABLES,
    reads: |event_type: &EventType| event_type.family == Family::Indicator,
    apply: |connection, names, events| Box::pin(apply(connection, names, events)),
    chunks_at_once: 1,
};

const UPSERT: &str = "
    INSERT INTO {indicator_values} (indicator, unit, year, gender, value, previous, revisions,
                                    source, reference, recorded_at, position)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
    ON CONFLICT (indicator, unit, year, gender) DO UPDATE
       SET value = EXCLUDED.value,
           previous = {indicator_values}.value,
           revisions = {indicator_values}.revisions + 1,
           source = EXCLUDED.source,
           reference = EXCLUDED.reference,
           recorded_at = EXCLUDED.recorded_at,
           position = EXCLUDED.position";

/// Figures are few (a few hundred a year), so each is written in its own statement, in
/// commit order: a batch may record a figure and revise it.
async fn apply(
    connection: &mut sqlx::PgConnection,
    names: &Names,
    events: &[Applied],
) -> sqlx::Result<()> {
    let upsert = names.resolve(UPSERT, TABLES);
    for applied in events {
        let DomainEvent::Indicator(event) = &applied.event else {
            continue;
        };
        let (indicator, observation, previous, revisions, source, reference) = match event {
            IndicatorEvent::IndicatorValueRecorded {
                indicator,
                observation,
                source,
                reference,
                ..
            } => (indicator, observation, None, 0, source, reference),
            IndicatorEvent::IndicatorValueRevised {
                indicator,
                observation,
                previous,
                source,
                reference,
                ..
            } => (
                indicator,
                observation,
                Some(*previous),
                1,
                source,
                reference,
            ),
        };
        let source = serde_json::to_value(source).expect("a source serializes");
        sqlx::query(sqlx::AssertSqlSafe(upsert.clone()))
            .bind(indicator.as_str())
            .bind(&observation.unit)
            .bind(observation.year)
            .bind(observation.gender.code())
            .bind(observation.value)
            .bind(previous)
            .bind(revisions)
            .bind(source.as_str().unwrap_or_default())
            .bind(reference)
            .bind(applied.recorded_at)
            .bind(applied.position)
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}
