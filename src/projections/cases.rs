//! Cases per area, with status and age.

use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use std::collections::BTreeMap;

use super::{Applied, Names, Projection, Table};
use crate::domain::case::{CaseEvent, CaseStatus};
use crate::domain::catalogue::{DomainEvent, EventType, Family};

const TABLES: &[Table] = &[Table {
    name: "cases",
    columns: "
        case_id          uuid        PRIMARY KEY,
        area             text,
        title            text,
        strategies       text[],
        status           text,
        assignee         jsonb,
        assigned_at      timestamptz,
        open_escalation  uuid,
        notes            integer     NOT NULL DEFAULT 0,
        opened_at        timestamptz,
        closed_at        timestamptz,
        updated_at       timestamptz NOT NULL",
    // A strategy's open cases are a few of its cases: the index holds only open ones.
    indexes: &[
        "(area, opened_at DESC)",
        "USING gin (strategies) WHERE status <> 'avslutad'",
    ],
    indexes_serve_apply: false,
}];

pub const PROJECTION: Projection = Projection {
    name: "cases",
    version: 5,
    tables: TABLES,
    reads: |event_type: &EventType| event_type.family == Family::Case,
    apply: |connection, names, events| Box::pin(apply(connection, names, events)),
    chunks_at_once: 1,
};

/// What a batch changed of one case, folded in log order: the last status-changing event
/// decides the status, the last assignment the assignee, the last escalation event
/// whether an escalation is open.
struct Delta {
    area: Option<String>,
    title: Option<String>,
    strategies: Option<String>,
    opened_at: Option<OffsetDateTime>,
    status: Option<&'static str>,
    closed_at: Option<OffsetDateTime>,
    assignee: Option<Value>,
    assigned_at: Option<OffsetDateTime>,
    escalation_changed: bool,
    open_escalation: Option<Uuid>,
    notes: i32,
    updated_at: OffsetDateTime,
}

const UPSERT: &str = "
    INSERT INTO {cases} AS c (case_id, area, title, strategies, status, assignee, open_escalation,
                              notes, opened_at, closed_at, updated_at, assigned_at)
    SELECT case_id, area, title, string_to_array(strategies, E'\\x1f'), status, assignee,
           open_escalation, notes, opened_at, CASE WHEN status = 'avslutad' THEN closed_at END,
           updated_at, assigned_at
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[],
                $7::uuid[], $8::int4[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[],
                $13::timestamptz[])
         AS b(case_id, area, title, strategies, status, assignee, open_escalation, notes,
              opened_at, closed_at, updated_at, assigned_at)
    ON CONFLICT (case_id) DO UPDATE SET
        status = coalesce(excluded.status, c.status),
        assignee = coalesce(excluded.assignee, c.assignee),
        assigned_at = coalesce(excluded.assigned_at, c.assigned_at),
        open_escalation = CASE WHEN excluded.case_id = ANY($12::uuid[])
                               THEN excluded.open_escalation ELSE c.open_escalation END,
        notes = c.notes + excluded.notes,
        closed_at = CASE WHEN coalesce(excluded.status, c.status) = 'avslutad'
                         THEN coalesce(excluded.closed_at, c.closed_at) END,
        updated_at = excluded.updated_at";

async fn apply(
    connection: &mut sqlx::PgConnection,
    names: &Names,
    events: &[Applied],
) -> sqlx::Result<()> {
    let mut deltas: BTreeMap<Uuid, Delta> = BTreeMap::new();
    for applied in events {
        let DomainEvent::Case(event) = &applied.event else {
            continue;
        };
        let at = applied.recorded_at;
        let delta = deltas.entry(case_id(event)).or_insert_with(|| Delta {
            area: None,
            title: None,
            strategies: None,
            opened_at: None,
            status: None,
            closed_at: None,
            assignee: None,
            assigned_at: None,
            escalation_changed: false,
            open_escalation: None,
            notes: 0,
            updated_at: at,
        });
        delta.updated_at = at;
        match event {
            CaseEvent::CaseOpened {
                area,
                title,
                strategies,
                ..
            } => {
                delta.area = Some(area.to_string());
                delta.title = Some(title.as_str().to_owned());
                delta.strategies = Some(super::joined(strategies.iter().map(|s| s.as_str())));
                delta.opened_at = Some(at);
                delta.status = Some("ny");
            }
            CaseEvent::CaseNoteAdded { .. } => delta.notes += 1,
            CaseEvent::CaseAssigned { assignee, .. } => {
                delta.assignee =
                    Some(serde_json::to_value(assignee).expect("an assignee serializes"));
                delta.assigned_at = Some(at);
            }
            CaseEvent::CaseStatusChanged { status, .. } => {
                delta.status = Some(status_name(*status))
            }
            // The status follows the escalation, as the domain's case does.
            CaseEvent::CaseEscalated { item_id, .. } => {
                delta.escalation_changed = true;
                delta.open_escalation = Some(*item_id);
                delta.status = Some("vantar");
            }
            CaseEvent::CaseEscalationAnswered { .. } | CaseEvent::CaseEscalationClosed { .. } => {
                delta.escalation_changed = true;
                delta.open_escalation = None;
                delta.status = Some("pagaende");
            }
            CaseEvent::CaseClosed { .. } => {
                delta.status = Some("avslutad");
                delta.closed_at = Some(at);
            }
            CaseEvent::CaseReopened { .. } => delta.status = Some("pagaende"),
        }
    }
    if deltas.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = deltas.keys().copied().collect();
    let deltas: Vec<Delta> = deltas.into_values().collect();
    let escalation_changed: Vec<Uuid> = ids
        .iter()
        .zip(&deltas)
        .filter(|(_, delta)| delta.escalation_changed)
        .map(|(id, _)| *id)
        .collect();
    let column = |get: fn(&Delta) -> Option<String>| deltas.iter().map(get).collect::<Vec<_>>();
    sqlx::query(sqlx::AssertSqlSafe(names.resolve(UPSERT, TABLES)))
        .bind(&ids)
        .bind(column(|d| d.area.clone()))
        .bind(column(|d| d.title.clone()))
        .bind(column(|d| d.strategies.clone()))
        .bind(column(|d| d.status.map(str::to_owned)))
        .bind(
            deltas
                .iter()
                .map(|d| d.assignee.clone().map(sqlx::types::Json))
                .collect::<Vec<_>>(),
        )
        .bind(deltas.iter().map(|d| d.open_escalation).collect::<Vec<_>>())
        .bind(deltas.iter().map(|d| d.notes).collect::<Vec<_>>())
        .bind(deltas.iter().map(|d| d.opened_at).collect::<Vec<_>>())
        .bind(deltas.iter().map(|d| d.closed_at).collect::<Vec<_>>())
        .bind(deltas.iter().map(|d| d.updated_at).collect::<Vec<_>>())
        .bind(&escalation_changed)
        .bind(deltas.iter().map(|d| d.assigned_at).collect::<Vec<_>>())
        .execute(connection)
        .await?;
    Ok(())
}

fn case_id(event: &CaseEvent) -> Uuid {
    match event {
        CaseEvent::CaseOpened { case_id, .. }
        | CaseEvent::CaseNoteAdded { case_id, .. }
        | CaseEvent::CaseAssigned { case_id, .. }
        | CaseEvent::CaseStatusChanged { case_id, .. }
        | CaseEvent::CaseEscalated { case_id, .. }
        | CaseEvent::CaseEscalationAnswered { case_id, .. }
        | CaseEvent::CaseEscalationClosed { case_id, .. }
        | CaseEvent::CaseClosed { case_id, .. }
        | CaseEvent::CaseReopened { case_id, .. } => *case_id,
    }
}

/// A status as the read model stores it (`ny`, `pagaende`, `vantar`, `avslutad`).
fn status_name(status: CaseStatus) -> &'static str {
    match status {
        CaseStatus::Ny => "ny",
        CaseStatus::Pagaende => "pagaende",
        CaseStatus::Vantar => "vantar",
        CaseStatus::Avslutad => "avslutad",
    }
}
