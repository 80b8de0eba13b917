//! The area timeline: every event that touches an area, with what the timeline shows of it
//! (who acted, in which role, what happened, its free texts still sealed, an activity's
//! facts: the [`View`]) and the event's data as its type's current schema has it (for the
//! API and the exports, which give it whole), so that showing a page reads this table
//! alone and decodes no event. The reads are in `queries::timeline`.
//!
//! The view is kept as `json`, its text: every page reads it whole and no statement looks
//! inside it, so `jsonb` would be written back out as text for every entry of every page
//! read. The data is kept as `jsonb`, as the log holds it: pages never read it, and a
//! rebuild copies it from the log as it stands instead of writing it out as text and
//! parsing it again for each of a million rows.
//!
//! The area and the tags are compared byte by byte (`COLLATE "C"`): they are slugs and
//! ids, in the same order either way, and through the database's own collation (C.UTF-8 here)
//! building the index of tags took 4.5 s at a million events instead of 3.1.
//!
//! The key (area, position) is a unique index that a rebuild builds after loading, as it
//! does the others: every row a rebuild loads is new, and with no unique index yet
//! PostgreSQL writes it without first looking it up. So the statement's `ON CONFLICT DO
//! NOTHING` names no index: on a live table the key is there, and it is the one checked.

use super::{Applied, Names, Projection, Table};
use crate::domain::case::CaseEvent;
use crate::domain::catalogue::{self, EventType, Family};
use crate::domain::item::ItemEvent;

const TABLES: &[Table] = &[Table {
    name: "timeline_entries",
    columns: r#"
        area         text COLLATE "C" NOT NULL,
        position     bigint      NOT NULL,
        entry_date   date        NOT NULL,
        kind         text        NOT NULL,
        tags         text[] COLLATE "C" NOT NULL,
        event_type   text        NOT NULL,
        recorded_at  timestamptz NOT NULL,
        actor_name   text,
        actor_role   text,
        data         jsonb       NOT NULL,
        view         json        NOT NULL,
        secrecy_target text,
        subjects     text[]      NOT NULL DEFAULT '{}',
        words        text        NOT NULL DEFAULT '',
        follow_up    boolean     NOT NULL DEFAULT false"#,
    indexes: &[
        "UNIQUE (area, position)",
        "(area, entry_date DESC, position DESC)",
        "USING gin (tags)",
        "USING gin (to_tsvector('swedish', words)) WHERE words <> ''",
    ],
    indexes_serve_apply: false,
}];

pub const PROJECTION: Projection = Projection {
    name: "timeline",
    version: 13,
    tables: TABLES,
    reads: |event_type: &EventType| {
        matches!(
            event_type.family,
            Family::Activity
                | Family::Case
                | Family::Item
                | Family::Review
                | Family::Secrecy
                | Family::Erasure
        )
    },
    apply: |connection, names, events| Box::pin(apply(connection, names, events)),
    // Each entry is a row of its own, keyed by area and position.
    chunks_at_once: 2,
};

/// The kind of entry an event is, by its stream: an activity (`insats`), a case
/// (`arende`), an item between forums (`forum`), a review (`granskning`) or other.
pub fn kind_of(stream_id: &str) -> &'static str {
    match stream_id.split('-').next().unwrap_or("") {
        "activity" => "insats",
        "case" => "arende",
        "item" => "forum",
        "review" => "granskning",
        _ => "ovrigt",
    }
}

/// What a page shows of an entry besides who acted and when, written from the typed
/// event, so that a page decodes no event: what happened (names looked up when shown), the
/// free texts (still sealed), and for an activity its facts. Kept as `json` (`view`), read
/// straight into this type.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct View {
    pub description: crate::domain::describe::Description,
    /// The free texts, in the order a page shows them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub texts: Vec<crate::privacy::Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<ActivityFacts>,
}

/// The order in which an entry shows its free texts.
const TEXTS_SHOWN: [&str; 6] = [
    "description",
    "text",
    "answer",
    "resolution",
    "reason",
    "feedback",
];

impl View {
    /// What the timeline shows of an event.
    pub fn of(applied: &Applied) -> Self {
        Self {
            description: crate::domain::describe::Description::of(&applied.event),
            texts: TEXTS_SHOWN
                .iter()
                .filter_map(|field| crate::privacy::Text::kept(field, applied.texts.get(*field)?))
                .collect(),
            activity: ActivityFacts::of(&applied.event),
        }
    }
}

/// What an activity's entry says besides its text.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ActivityFacts {
    pub activity_id: uuid::Uuid,
    /// The partners it was done with, by name.
    pub partners: Vec<String>,
    pub participants: u32,
    /// The team marked it "Behöver följas upp".
    pub follow_up: bool,
}

impl ActivityFacts {
    /// The facts of an activity as logged or corrected.
    fn of(event: &catalogue::DomainEvent) -> Option<Self> {
        let (activity_id, details) = activity_details(event)?;
        Some(Self {
            activity_id,
            partners: details.partners.iter().map(|p| p.name.clone()).collect(),
            participants: details.participants,
            follow_up: details.follow_up,
        })
    }
}

/// The batch's arrays are taken apart in the select list (all of the same length, so
/// row by row): unlike `FROM unnest(…)`, that hands the rows on without first writing them
/// all to a store of their own (200 000 rows: 1.7 s instead of 2.0).
const INSERT: &str = "
    INSERT INTO {timeline_entries} (area, position, entry_date, kind, tags, event_type, recorded_at,
                                    actor_name, actor_role, data, view, secrecy_target, subjects,
                                    words, follow_up)
    SELECT b.area, b.position, b.entry_date, b.kind, string_to_array(b.tags, E'\\x1f'),
           b.event_type, b.recorded_at, b.actor_name, b.actor_role,
           COALESCE(b.data, (SELECT e.data FROM events e WHERE e.position = b.position)),
           b.view::json, b.secrecy_target, string_to_array(b.subjects, E'\\x1f'), b.words, b.follow_up
    FROM (SELECT unnest($1::text[]) AS area, unnest($2::int8[]) AS position,
                 unnest($3::date[]) AS entry_date, unnest($4::text[]) AS kind,
                 unnest($5::text[]) AS tags, unnest($6::text[]) AS event_type,
                 unnest($7::timestamptz[]) AS recorded_at, unnest($8::text[]) AS actor_name,
                 unnest($9::text[]) AS actor_role, unnest($10::jsonb[]) AS data,
                 unnest($11::text[]) AS view, unnest($12::text[]) AS secrecy_target,
                 unnest($13::text[]) AS subjects, unnest($14::text[]) AS words,
                 unnest($15::bool[]) AS follow_up) b
    ON CONFLICT DO NOTHING";

/// Whether an event is the echo of another one of the same command, which the timeline
/// already shows: one thing that happened is one entry. The item a case's escalation raises
/// is the escalation's entry (the case's `CaseEscalated`); the case's answer or closing of an
/// escalation follows from the item's answer (it carries that event as its cause).
fn echo(applied: &Applied) -> bool {
    match &applied.event {
        catalogue::DomainEvent::Item(ItemEvent::ItemRaised { item, .. }) => item.case_id.is_some(),
        catalogue::DomainEvent::Case(
            CaseEvent::CaseEscalationAnswered { .. } | CaseEvent::CaseEscalationClosed { .. },
        ) => applied.meta.causation_id.is_some(),
        _ => false,
    }
}

async fn apply(
    connection: &mut sqlx::PgConnection,
    names: &Names,
    events: &[Applied],
) -> sqlx::Result<()> {
    let mut rows = Rows::default();
    for applied in events.iter().filter(|applied| !echo(applied)) {
        // Data stored in its type's current schema is copied as stored by the statement
        // (no round trip through Insats); older data is written in the current schema.
        let data = (!applied.stored_as_current)
            .then(|| sqlx::types::Json(catalogue::encode(&applied.event, &applied.texts)));
        let found_by = words(&applied.event);
        let view = serde_json::to_string(&View::of(applied)).expect("a view is plain JSON");
        // What a page needs to show the text as its reader may: what a mark of secrecy
        // names, and whose keys seal it.
        let target = crate::privacy::visibility::secrecy_target(&applied.event);
        let subjects = super::joined(crate::privacy::subjects_sealing(applied.texts.values()));
        let activity = activity_details(&applied.event);
        // An activity as logged or corrected says whether it needs following up.
        let follow_up = activity.is_some_and(|(_, details)| details.follow_up);
        // An activity is on the timeline on its own date; anything else on the day it
        // was recorded, in Växjö.
        let date = match activity {
            Some((_, details)) => details.date,
            None => crate::clock::local(applied.recorded_at).date(),
        };
        for area in applied.tagged("area:") {
            rows.area.push(area.to_owned());
            rows.position.push(applied.position);
            rows.date.push(date);
            rows.kind.push(kind_of(&applied.stream_id));
            rows.tags.push(super::joined(&applied.tags));
            rows.event_type.push(applied.event_type.clone());
            rows.recorded_at.push(applied.recorded_at);
            rows.actor_name.push(applied.meta.actor_name.clone());
            rows.actor_role.push(applied.meta.role.clone());
            rows.data.push(data.clone());
            rows.view.push(view.clone());
            rows.secrecy_target.push(target.clone());
            rows.subjects.push(subjects.clone());
            rows.words.push(found_by.clone());
            rows.follow_up.push(follow_up);
        }
    }
    if rows.area.is_empty() {
        return Ok(());
    }
    let rows = rows.in_reading_order();
    sqlx::query(sqlx::AssertSqlSafe(names.resolve(INSERT, TABLES)))
        .bind(&rows.area)
        .bind(&rows.position)
        .bind(&rows.date)
        .bind(&rows.kind)
        .bind(&rows.tags)
        .bind(&rows.event_type)
        .bind(&rows.recorded_at)
        .bind(&rows.actor_name)
        .bind(&rows.actor_role)
        .bind(&rows.data)
        .bind(&rows.view)
        .bind(&rows.secrecy_target)
        .bind(&rows.subjects)
        .bind(&rows.words)
        .bind(&rows.follow_up)
        .execute(connection)
        .await?;
    Ok(())
}

/// A batch's rows, a column each.
#[derive(Default)]
struct Rows {
    area: Vec<String>,
    position: Vec<i64>,
    date: Vec<time::Date>,
    kind: Vec<&'static str>,
    tags: Vec<String>,
    event_type: Vec<String>,
    recorded_at: Vec<time::OffsetDateTime>,
    actor_name: Vec<Option<String>>,
    actor_role: Vec<Option<String>>,
    data: Vec<Option<sqlx::types::Json<serde_json::Value>>>,
    /// What a page shows of the entry, as JSON.
    view: Vec<String>,
    secrecy_target: Vec<Option<String>>,
    /// The subjects whose keys seal the text, joined as tags are.
    subjects: Vec<String>,
    words: Vec<String>,
    follow_up: Vec<bool>,
}

impl Rows {
    /// The rows in the order a page reads them: by area, then day, then position. Rows
    /// are written to the table in the order given, so one area's entries of the same days
    /// lie on few of the table's pages (a rebuild writes 25 000 events at a time),
    /// and a page of an older part of the timeline reads a handful of them, not one for
    /// every few entries of all areas.
    fn in_reading_order(self) -> Self {
        let mut order: Vec<usize> = (0..self.area.len()).collect();
        order.sort_by(|&a, &b| {
            (&self.area[a], self.date[a], self.position[a]).cmp(&(
                &self.area[b],
                self.date[b],
                self.position[b],
            ))
        });
        fn reordered<T>(column: Vec<T>, order: &[usize]) -> Vec<T> {
            let mut slots: Vec<Option<T>> = column.into_iter().map(Some).collect();
            order
                .iter()
                .map(|&row| slots[row].take().expect("each row is taken once"))
                .collect()
        }
        Self {
            area: reordered(self.area, &order),
            position: reordered(self.position, &order),
            date: reordered(self.date, &order),
            kind: reordered(self.kind, &order),
            tags: reordered(self.tags, &order),
            event_type: reordered(self.event_type, &order),
            recorded_at: reordered(self.recorded_at, &order),
            actor_name: reordered(self.actor_name, &order),
            actor_role: reordered(self.actor_role, &order),
            data: reordered(self.data, &order),
            view: reordered(self.view, &order),
            secrecy_target: reordered(self.secrecy_target, &order),
            subjects: reordered(self.subjects, &order),
            words: reordered(self.words, &order),
            follow_up: reordered(self.follow_up, &order),
        }
    }
}

/// An activity as logged or corrected: its id and details.
fn activity_details(
    event: &catalogue::DomainEvent,
) -> Option<(uuid::Uuid, &crate::domain::activity::ActivityDetails)> {
    match event {
        catalogue::DomainEvent::Activity(event) => event.details(),
        _ => None,
    }
}

/// The words an entry is found by: what names it and is never free text (an activity's
/// title and partners, a case's or an item's title). Free text is sealed and stays out of
/// the index, so a search finds nothing a reader may not read.
fn words(event: &catalogue::DomainEvent) -> String {
    if let Some((_, details)) = activity_details(event) {
        let mut words = vec![details.title.as_str().to_owned()];
        words.extend(details.partners.iter().map(|p| p.name.clone()));
        return words.join(" ");
    }
    match event {
        catalogue::DomainEvent::Case(CaseEvent::CaseOpened { title, .. }) => {
            title.as_str().to_owned()
        }
        catalogue::DomainEvent::Item(ItemEvent::ItemRaised { item, .. }) => {
            item.title.as_str().to_owned()
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    /// Every free text of every event the timeline reads is in its view, in the order a
    /// page shows them, and an activity's facts come from the event.
    #[test]
    fn a_view_holds_every_free_text_of_its_event_in_the_order_shown() {
        for (name, data) in catalogue::tests::examples() {
            let event_type = catalogue::get(&name).unwrap();
            if !(PROJECTION.reads)(event_type) {
                continue;
            }
            let decoded =
                catalogue::decode(&name, crate::domain::event::SCHEMA_VERSION, data).unwrap();
            let applied = Applied {
                position: 1,
                transaction_id: 1,
                stream_id: "activity-1".into(),
                event_type: name.clone(),
                recorded_at: datetime!(2026-05-06 12:00 UTC),
                tags: Vec::new(),
                meta: Default::default(),
                event: decoded.event,
                texts: decoded.texts,
                stored_as_current: true,
            };
            let view = View::of(&applied);
            let fields: Vec<&str> = view.texts.iter().map(|text| text.field.as_str()).collect();
            let mut expected: Vec<&str> = event_type
                .free_text
                .iter()
                .copied()
                .filter(|field| {
                    applied
                        .texts
                        .get(*field)
                        .is_some_and(|text| !text.is_null())
                })
                .collect();
            for field in &expected {
                assert!(
                    TEXTS_SHOWN.contains(field),
                    "{name}: {field} is never shown"
                );
            }
            expected.sort_by_key(|field| TEXTS_SHOWN.iter().position(|shown| shown == field));
            assert_eq!(fields, expected, "{name}");
            for text in &view.texts {
                assert_eq!(
                    text.shown(),
                    applied.texts[&text.field].as_str().unwrap(),
                    "{name}: the text as the event holds it"
                );
            }
            let is_activity = matches!(name.as_str(), "ActivityLogged" | "ActivityCorrected");
            assert_eq!(view.activity.is_some(), is_activity, "{name}");
            let line = view.description.named(&Default::default(), &[]);
            assert!(!line.is_empty(), "{name} says what happened");
        }
    }

    #[test]
    fn a_batch_is_written_by_area_day_and_position_with_each_row_whole() {
        let mut rows = Rows::default();
        for (area, position, date) in [
            ("teleborg", 1, date!(2026 - 05 - 04)),
            ("araby", 3, date!(2026 - 05 - 04)),
            ("araby", 2, date!(2026 - 05 - 05)),
            ("araby", 4, date!(2026 - 05 - 03)),
        ] {
            rows.area.push(area.to_owned());
            rows.position.push(position);
            rows.date.push(date);
            rows.kind.push("insats");
            rows.tags.push(format!("area:{area}"));
            rows.event_type.push(format!("type {position}"));
            rows.recorded_at.push(datetime!(2026-05-06 12:00 UTC));
            rows.actor_name.push(Some(format!("actor {position}")));
            rows.actor_role.push(None);
            rows.data.push(None);
            rows.view.push(format!("view {position}"));
            rows.secrecy_target
                .push(Some(format!("activity:{position}")));
            rows.subjects.push(format!("activity:{position}"));
            rows.words.push(format!("words {position}"));
            rows.follow_up.push(position == 2);
        }
        let rows = rows.in_reading_order();
        assert_eq!(rows.area, ["araby", "araby", "araby", "teleborg"]);
        assert_eq!(rows.position, [4, 3, 2, 1]);
        assert_eq!(rows.tags[3], "area:teleborg");
        assert_eq!(rows.event_type, ["type 4", "type 3", "type 2", "type 1"]);
        assert_eq!(rows.actor_name[0].as_deref(), Some("actor 4"));
        assert_eq!(rows.secrecy_target[1].as_deref(), Some("activity:3"));
        assert_eq!(rows.subjects[0], "activity:4");
        assert_eq!(rows.words[2], "words 2");
        assert_eq!(rows.view[1], "view 3");
        assert_eq!(rows.follow_up, [false, false, true, false]);
    }
}
