//! An area's timeline: its entries newest first, filtered (period, strategy, process,
//! kind, case) and paged by key, and what each entry says in Swedish. Everything comes from
//! the timeline's read model (`projections::timeline`); nothing here reads the log.

use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgExecutor, QueryBuilder};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// The kinds of entry, as the timeline's filter names them.
pub const KINDS: [(&str, &str); 4] = [
    ("insats", "Insatser"),
    ("arende", "Ärenden"),
    ("forum", "Skrivelser mellan forum"),
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
    pub activity_id: Option<Uuid>,
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

/// One entry as the read model holds it: what a page shows of it (its view), and where the
/// reader asked for it, the event's data as its type's current schema has it; free text
/// still sealed.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Entry {
    pub position: i64,
    pub area: String,
    pub entry_date: Date,
    pub kind: String,
    pub tags: Vec<String>,
    pub event_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    pub actor_name: Option<String>,
    pub actor_role: Option<String>,
    pub view: sqlx::types::Json<View>,
    /// The event's data, where the reader asked for it ([`Reading::WithData`]).
    pub data: Option<Value>,
    /// The subjects whose keys seal the entry's text.
    #[serde(skip)]
    pub subjects: Vec<String>,
    /// The entry's text is marked secret now (from the secrecy marks, read with it).
    #[serde(skip)]
    pub marked_secret: bool,
    /// For a secret item between forums: the forums at its ends.
    #[serde(skip)]
    pub item_ends: Option<Vec<String>>,
    /// How many keys had been destroyed when the entry was read.
    #[serde(skip)]
    pub keys_destroyed: i64,
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
}

/// Whether a read gives each entry's data whole (the API and the exports give it), or only
/// what a page shows of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Shown,
    WithData,
}

impl Reading {
    /// The columns of an entry, then what the secrecy marks say about it now.
    fn columns(self) -> String {
        let data = match self {
            Reading::Shown => "NULL::json AS data",
            Reading::WithData => "t.data",
        };
        format!(
            "t.position, t.area, t.entry_date, t.kind, t.tags, t.event_type, t.recorded_at, \
             t.actor_name, t.actor_role, t.view, {data}, t.subjects, {MARKS}"
        )
    }
}

use crate::privacy::visibility::MARKS;
pub use crate::projections::timeline::{ActivityFacts, View};

/// One page of an area's timeline, newest first, and the cursor of the next page.
pub async fn page(
    db: impl PgExecutor<'_>,
    reading: Reading,
    area: &str,
    filter: &TimelineFilter,
    after: Option<PageCursor>,
    limit: i64,
) -> sqlx::Result<(Vec<Entry>, Option<PageCursor>)> {
    let mut query = QueryBuilder::new(format!(
        "SELECT {} FROM timeline_entries t WHERE t.area = ",
        reading.columns()
    ));
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
    if let Some(activity_id) = filter.activity_id {
        tags.push(format!("activity:{activity_id}"));
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
    // The limit is written into the statement, not bound. Bound, PostgreSQL's shared plan
    // is costed for a tenth of the rows the statement could return, which is always dearer
    // than a plan for 51, so it planned the statement afresh on every execution.
    query.push(format!(
        " ORDER BY t.entry_date DESC, t.position DESC LIMIT {}",
        limit.max(0) + 1
    ));
    let mut entries: Vec<Entry> = query.build_query_as().fetch_all(db).await?;
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

/// Every entry of one activity (logged, corrected, retracted), in the order they happened.
pub async fn activity_entries(db: impl PgExecutor<'_>, activity: Uuid) -> sqlx::Result<Vec<Entry>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM timeline_entries t WHERE t.tags @> $1 ORDER BY t.position",
        Reading::Shown.columns()
    )))
    .bind(vec![format!("activity:{activity}")])
    .fetch_all(db)
    .await
}

/// An area's activities marked "Behöver följas upp", as they stand now (their latest
/// logging or correction; retracted ones left out), newest first.
pub async fn needing_follow_up(
    db: impl PgExecutor<'_>,
    area: &str,
    limit: i64,
) -> sqlx::Result<Vec<Entry>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM (
             SELECT DISTINCT ON (activity) t.*, activity
             FROM timeline_entries t, unnest(t.tags) AS activity
             WHERE t.area = $1 AND t.kind = 'insats' AND activity LIKE 'activity:%'
             ORDER BY activity, t.position DESC) t
         WHERE t.follow_up AND t.event_type <> 'ActivityRetracted'
         ORDER BY t.entry_date DESC, t.position DESC LIMIT $2",
        Reading::Shown.columns()
    )))
    .bind(area)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// The entries found by `words` (Swedish full-text search over the words an entry is found
/// by: titles and partners, never free text), newest first.
pub async fn search(db: impl PgExecutor<'_>, words: &str, limit: i64) -> sqlx::Result<Vec<Entry>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM timeline_entries t
         WHERE t.words <> ''
           AND to_tsvector('swedish', t.words) @@ websearch_to_tsquery('swedish', $1)
         ORDER BY t.recorded_at DESC, t.position DESC LIMIT $2",
        Reading::Shown.columns()
    )))
    .bind(words)
    .bind(limit)
    .fetch_all(db)
    .await
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
        _ => "Skrivelse",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

// ---------------------------------------------------------------------- for a viewer

/// One entry as a viewer sees it: secret text they may not read replaced by the secret
/// marker, sealed text opened (or the erasure marker).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineItem {
    pub position: i64,
    /// The area whose timeline it is on.
    pub area: String,
    /// The day it happened (an activity's own date).
    pub date: String,
    pub recorded_at: String,
    /// `insats`, `arende`, `forum` or `granskning`.
    pub kind: String,
    pub event_type: String,
    /// What happened, in Swedish.
    pub summary: String,
    pub actor: EntryActor,
    pub strategies: Vec<String>,
    pub processes: Vec<String>,
    pub case_id: Option<Uuid>,
    pub item_id: Option<Uuid>,
    /// The entry's text is marked secret (it is shown only to those who may read it).
    pub secret: bool,
    /// For an activity logged or corrected: its partners, participants and whether it
    /// needs following up.
    pub activity: Option<ActivityFacts>,
    /// The free texts a page shows, in order, as the viewer may read them.
    #[serde(skip)]
    pub texts: Vec<crate::privacy::Text>,
    /// The event's data, its text as the viewer may read it (read only where asked for:
    /// the API and the exports always ask).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object, required = true)]
    pub data: Option<Value>,
}

/// Who acted, as an entry names them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Actor)]
pub struct EntryActor {
    pub name: Option<String>,
    pub role: Option<String>,
}

impl TimelineItem {
    /// The item an entry shows, from its view: what happened, with processes and forums
    /// named as people know them now, and its texts as they were prepared for the viewer.
    fn shown(entry: Entry, plan: &crate::domain::plan::Plan, areas: &[(String, String)]) -> Self {
        let (strategies, processes) = (entry.tagged("strategy:"), entry.tagged("process:"));
        let (case_id, item_id) = (entry.case_id(), entry.item_id());
        let View {
            description,
            texts,
            activity,
        } = entry.view.0;
        Self {
            position: entry.position,
            area: entry.area,
            date: entry.entry_date.to_string(),
            recorded_at: crate::event_log::chain::format_timestamp(entry.recorded_at),
            summary: description.named(plan, areas),
            actor: EntryActor {
                name: entry.actor_name,
                role: entry.actor_role,
            },
            strategies,
            processes,
            case_id,
            item_id,
            secret: false,
            activity,
            texts,
            kind: entry.kind,
            event_type: entry.event_type,
            data: entry.data,
        }
    }
}

/// What the timeline reads: its entries, the secrecy marks, and the ends of items (whose
/// forums read their secret text).
pub const READS: [&str; 3] = ["timeline", "secrecy", "council_flow"];

/// What entries are described with: the plan (processes and strategies by their titles)
/// and the areas (by their names). Read before a connection is taken for the entries, since
/// their caches may read the database themselves.
pub struct Naming {
    pub plan: std::sync::Arc<crate::domain::plan::Plan>,
    pub areas: std::sync::Arc<crate::domain::area::Areas>,
}

impl super::Queries {
    /// The plan and the areas as they stand, for describing entries.
    pub async fn naming(&self) -> Result<Naming, crate::app::AppError> {
        Ok(Naming {
            plan: self.services().plan().await?,
            areas: self.services().areas().await?,
        })
    }

    /// One page of an area's timeline as `viewer` may see it, and where the next begins.
    #[allow(clippy::too_many_arguments)]
    pub async fn timeline(
        &self,
        viewer: &crate::domain::actor::Actor,
        reading: Reading,
        area: &str,
        filter: &TimelineFilter,
        after: Option<PageCursor>,
        limit: i64,
    ) -> Result<(Vec<TimelineItem>, Option<PageCursor>), crate::app::AppError> {
        let naming = self.naming().await?;
        let mut connection = self.pool().acquire().await?;
        self.timeline_on(
            &mut connection,
            &naming,
            viewer,
            reading,
            area,
            filter,
            after,
            limit,
        )
        .await
    }

    /// [`Self::timeline`] on a connection the caller holds (a page that reads more on it:
    /// each connection given back to the pool costs a round trip).
    #[allow(clippy::too_many_arguments)]
    pub async fn timeline_on(
        &self,
        connection: &mut PgConnection,
        naming: &Naming,
        viewer: &crate::domain::actor::Actor,
        reading: Reading,
        area: &str,
        filter: &TimelineFilter,
        after: Option<PageCursor>,
        limit: i64,
    ) -> Result<(Vec<TimelineItem>, Option<PageCursor>), crate::app::AppError> {
        let (entries, next) = page(&mut *connection, reading, area, filter, after, limit).await?;
        Ok((
            self.visible(connection, naming, viewer, entries).await?,
            next,
        ))
    }

    /// One activity's entries, as `viewer` may see them, oldest first.
    pub async fn activity(
        &self,
        viewer: &crate::domain::actor::Actor,
        activity: Uuid,
    ) -> Result<Vec<TimelineItem>, crate::app::AppError> {
        let naming = self.naming().await?;
        let mut connection = self.pool().acquire().await?;
        let entries = activity_entries(&mut *connection, activity).await?;
        self.visible(&mut connection, &naming, viewer, entries)
            .await
    }

    /// An area's activities that need following up, as `viewer` may see them.
    pub async fn needing_follow_up(
        &self,
        viewer: &crate::domain::actor::Actor,
        area: &str,
    ) -> Result<Vec<TimelineItem>, crate::app::AppError> {
        let naming = self.naming().await?;
        let mut connection = self.pool().acquire().await?;
        let entries = needing_follow_up(&mut *connection, area, 500).await?;
        self.visible(&mut connection, &naming, viewer, entries)
            .await
    }

    /// What `words` finds across every area's activities, cases and items, as `viewer` may
    /// see it, newest first (at most `limit`).
    pub async fn search(
        &self,
        viewer: &crate::domain::actor::Actor,
        words: &str,
        limit: i64,
    ) -> Result<Vec<TimelineItem>, crate::app::AppError> {
        let naming = self.naming().await?;
        let mut connection = self.pool().acquire().await?;
        let entries = search(&mut *connection, words, limit).await?;
        self.visible(&mut connection, &naming, viewer, entries)
            .await
    }

    /// Timeline entries as `viewer` may see them: secret text only for those who may
    /// read it, sealed text opened (or the erasure marker). Keys not kept are read on
    /// `connection`, the one the entries came on.
    pub async fn visible(
        &self,
        connection: &mut PgConnection,
        naming: &Naming,
        viewer: &crate::domain::actor::Actor,
        mut entries: Vec<Entry>,
    ) -> Result<Vec<TimelineItem>, crate::app::AppError> {
        // Entries read together were read under one count of destroyed keys.
        let erased = entries.iter().map(|entry| entry.keys_destroyed).max();
        let areas: Vec<String> = entries.iter().map(|entry| entry.area.clone()).collect();
        let mut shown: Vec<crate::privacy::visibility::Shown<'_>> = entries
            .iter_mut()
            .zip(&areas)
            .map(|(entry, area)| crate::privacy::visibility::Shown {
                event_type: &entry.event_type,
                area: Some(area.as_str()),
                secret: entry.marked_secret,
                ends: entry
                    .item_ends
                    .as_deref()
                    .and_then(|ends| Some((ends.first()?.as_str(), ends.get(1)?.as_str()))),
                subjects: &entry.subjects,
                data: entry.data.as_mut(),
                texts: &mut entry.view.0.texts,
            })
            .collect();
        let secret = crate::privacy::visibility::prepare(
            self.services().privacy(),
            connection,
            viewer,
            &mut shown,
            erased.unwrap_or_default(),
        )
        .await?;
        let names = naming.areas.names();
        Ok(entries
            .into_iter()
            .zip(secret)
            .map(|(entry, secret)| {
                let mut item = TimelineItem::shown(entry, &naming.plan, &names);
                item.secret = secret;
                item
            })
            .collect())
    }
}
