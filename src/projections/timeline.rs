//! The area timeline: every event that touches an area, newest first, with filters
//! (period, strategy, process, kind, case) and keyset paging.

use serde::Serialize;
use serde_json::Value;
use sqlx::{PgPool, QueryBuilder};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::{Projection, Table};

pub const PROJECTION: Projection = Projection {
    name: "timeline",
    version: 2,
    // Small rows: what the filters and the order need. The event itself is read from the
    // log by position when a page is shown, so a rebuild copies no event data.
    tables: &[Table {
        name: "timeline_entries",
        columns: "
            area        text    NOT NULL,
            position    bigint  NOT NULL,
            entry_date  date    NOT NULL,
            kind        text    NOT NULL,
            tags        text[]  NOT NULL,
            PRIMARY KEY (area, position)",
        indexes: &["(area, entry_date DESC, position DESC)", "USING gin (tags)"],
        indexes_serve_apply: false,
    }],
    apply: &["
        INSERT INTO {timeline_entries} (area, position, entry_date, kind, tags)
        SELECT substr(t.tag, 6), e.position,
               CASE WHEN e.event_type IN ('ActivityLogged', 'ActivityCorrected')
                    THEN (e.data->>'date')::date
                    ELSE (e.recorded_at AT TIME ZONE 'Europe/Stockholm')::date END,
               CASE split_part(e.stream_id, '-', 1)
                    WHEN 'activity' THEN 'insats' WHEN 'case' THEN 'arende'
                    WHEN 'item' THEN 'forum' WHEN 'review' THEN 'granskning' ELSE 'ovrigt' END,
               e.tags
        FROM events e CROSS JOIN LATERAL unnest(e.tags) AS t(tag)
        WHERE {range} AND t.tag LIKE 'area:%' AND e.stream_id <> 'areas'"],
};

/// The kinds of entry, as the timeline's filter names them.
pub const KINDS: [(&str, &str); 4] = [
    ("insats", "Insatser"),
    ("arende", "Ärenden"),
    ("forum", "Ärenden mellan forum"),
    ("granskning", "Rådets granskningar"),
];

/// The timeline's filters; all optional.
#[derive(Debug, Clone, Default)]
pub struct TimelineFilter {
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub strategy: Option<String>,
    pub process: Option<String>,
    pub kind: Option<String>,
    pub case_id: Option<Uuid>,
}

/// Where a page of the timeline continues: the last entry's date and position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor {
    pub date: Date,
    pub position: i64,
}

impl PageCursor {
    pub fn encode(&self) -> String {
        format!("{}_{}", self.date, self.position)
    }

    pub fn decode(text: &str) -> Option<Self> {
        let (date, position) = text.split_once('_')?;
        let format = time::macros::format_description!("[year]-[month]-[day]");
        Some(Self {
            date: Date::parse(date, &format).ok()?,
            position: position.parse().ok()?,
        })
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Entry {
    pub position: i64,
    pub area: String,
    pub entry_date: Date,
    pub kind: String,
    pub tags: Vec<String>,
    pub stream_id: String,
    pub event_type: String,
    pub data: Value,
    pub metadata: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

impl Entry {
    /// The values of the entry's tags with `prefix` (`strategy:`, `process:` …).
    pub fn tagged(&self, prefix: &str) -> Vec<String> {
        self.tags
            .iter()
            .filter_map(|tag| tag.strip_prefix(prefix))
            .map(str::to_owned)
            .collect()
    }

    pub fn case_id(&self) -> Option<Uuid> {
        self.tagged("case:")
            .first()
            .and_then(|id| Uuid::parse_str(id).ok())
    }

    pub fn item_id(&self) -> Option<Uuid> {
        self.tagged("item:")
            .first()
            .and_then(|id| Uuid::parse_str(id).ok())
    }

    pub fn actor_name(&self) -> Option<&str> {
        self.metadata.get("actor_name").and_then(Value::as_str)
    }

    pub fn actor_role(&self) -> Option<&str> {
        self.metadata.get("role").and_then(Value::as_str)
    }
}

/// One page of an area's timeline, newest first, and the cursor of the next page.
pub async fn page(
    pool: &PgPool,
    area: &str,
    filter: &TimelineFilter,
    after: Option<PageCursor>,
    limit: i64,
) -> sqlx::Result<(Vec<Entry>, Option<PageCursor>)> {
    let mut query = QueryBuilder::new(
        "SELECT t.position, t.area, t.entry_date, t.kind, t.tags, e.stream_id, e.event_type, e.data,
                e.metadata, e.recorded_at
         FROM timeline_entries t JOIN events e ON e.position = t.position
         WHERE t.area = ",
    );
    query.push_bind(area);
    if let Some(from) = filter.from {
        query.push(" AND t.entry_date >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        query.push(" AND t.entry_date <= ").push_bind(to);
    }
    let mut tags = Vec::new();
    if let Some(strategy) = &filter.strategy {
        tags.push(format!("strategy:{strategy}"));
    }
    if let Some(process) = &filter.process {
        tags.push(format!("process:{process}"));
    }
    if let Some(case_id) = filter.case_id {
        tags.push(format!("case:{case_id}"));
    }
    if !tags.is_empty() {
        query.push(" AND t.tags @> ").push_bind(tags);
    }
    if let Some(kind) = &filter.kind {
        query.push(" AND t.kind = ").push_bind(kind);
    }
    if let Some(after) = after {
        query
            .push(" AND (t.entry_date, t.position) < (")
            .push_bind(after.date)
            .push(", ")
            .push_bind(after.position)
            .push(")");
    }
    query
        .push(" ORDER BY t.entry_date DESC, t.position DESC LIMIT ")
        .push_bind(limit + 1);
    let mut entries: Vec<Entry> = query.build_query_as().fetch_all(pool).await?;
    let next = if entries.len() as i64 > limit {
        entries.truncate(limit as usize);
        entries.last().map(|entry| PageCursor {
            date: entry.entry_date,
            position: entry.position,
        })
    } else {
        None
    };
    Ok((entries, next))
}

/// What an entry says, in Swedish, for people: "Insats: Språkcafé (12 deltagare)".
pub fn describe(event_type: &str, data: &Value) -> String {
    let text = |key: &str| data.get(key).and_then(Value::as_str).unwrap_or("");
    match event_type {
        "ActivityLogged" => format!(
            "Insats: {} ({} deltagare)",
            text("title"),
            data.get("participants")
                .and_then(Value::as_u64)
                .unwrap_or(0)
        ),
        "ActivityCorrected" => format!("Insatsen rättades: {}", text("title")),
        "ActivityRetracted" => "Insatsen återkallades".into(),
        "CaseOpened" => format!("Ärende öppnat: {}", text("title")),
        "CaseNoteAdded" => "Anteckning i ärendet".into(),
        "CaseAssigned" => match data.get("assignee") {
            Some(assignee) if assignee["kind"] == "process_owner" => format!(
                "Ärendet tilldelades processägaren för {}",
                assignee["process"].as_str().unwrap_or("")
            ),
            Some(assignee) => format!(
                "Ärendet tilldelades {}",
                assignee["name"].as_str().unwrap_or("")
            ),
            None => "Ärendet tilldelades".into(),
        },
        "CaseStatusChanged" => format!("Ärendets status: {}", status_label(text("status"))),
        "CaseEscalated" => "Ärendet eskalerades till Integrationsrådet".into(),
        "CaseEscalationAnswered" => "Integrationsrådet svarade på eskaleringen".into(),
        "CaseEscalationClosed" => "Eskaleringen stängdes".into(),
        "CaseClosed" => "Ärendet avslutades".into(),
        "CaseReopened" => "Ärendet öppnades igen".into(),
        "ItemRaised" => format!(
            "{} från {} till {}: {}",
            item_kind_label(text("kind")),
            forum_label(text("from")),
            forum_label(text("to")),
            text("title")
        ),
        "ItemAcknowledged" => "Mottagandet bekräftades".into(),
        "ItemAnswered" => "Ärendet besvarades".into(),
        "ItemClosed" => "Ärendet stängdes".into(),
        "TimelineReviewed" => "Integrationsrådet granskade tidslinjen".into(),
        "PersonalDataErased" => format!(
            "Personuppgifter raderades enligt beslut {}",
            text("decision")
        ),
        "SecrecyMarked" => "En text sekretessmarkerades".into(),
        "SecrecyLifted" => "En sekretessmarkering togs bort".into(),
        other => other.to_owned(),
    }
}

pub fn status_label(status: &str) -> &'static str {
    match status {
        "ny" => "Nytt",
        "pagaende" => "Pågående",
        "vantar" => "Väntar",
        "avslutad" => "Avslutat",
        _ => "Okänd",
    }
}

pub fn item_kind_label(kind: &str) -> &'static str {
    match kind {
        "eskalering" => "Eskalering",
        "rapport" => "Rapport",
        "fraga" => "Fråga",
        "information" => "Information",
        _ => "Ärende",
    }
}

/// A forum's name for people: "omradesteam:araby" becomes "Områdesteam araby".
pub fn forum_label(forum: &str) -> String {
    match forum.parse::<crate::domain::item::Forum>() {
        Ok(forum) => forum.label(),
        Err(_) => forum.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn page_cursors_round_trip_and_refuse_garbage() {
        let cursor = PageCursor {
            date: time::macros::date!(2026 - 05 - 04),
            position: 42,
        };
        assert_eq!(PageCursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(PageCursor::decode("x"), None);
        assert_eq!(PageCursor::decode("2026-13-01_4"), None);
    }

    #[test]
    fn entries_are_described_in_swedish() {
        assert_eq!(
            describe(
                "ActivityLogged",
                &json!({"title": "Språkcafé", "participants": 12})
            ),
            "Insats: Språkcafé (12 deltagare)"
        );
        assert_eq!(
            describe(
                "ItemRaised",
                &json!({"kind": "eskalering", "from": "omradesteam:araby", "to": "integrationsrad", "title": "Lokaler"})
            ),
            "Eskalering från Områdesteam araby till Integrationsrådet: Lokaler"
        );
        assert_eq!(
            describe("CaseStatusChanged", &json!({"status": "vantar"})),
            "Ärendets status: Väntar"
        );
    }
}
