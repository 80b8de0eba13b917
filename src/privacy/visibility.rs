//! What a viewer may read: a text marked secret is shown only to the area team of its
//! area, the coordinator and the auditor, and (for an item between forums) to the forums
//! at either end of the item: secrecy keeps a text from others, never from the forum asked
//! to answer it. Everyone else sees that a secret text exists.

use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use std::collections::HashSet;

use super::{Privacy, sealed_fields};
use crate::domain::actor::{Actor, Role};
use crate::domain::catalogue::DomainEvent;
use crate::domain::privacy::SecrecyTarget;

/// What others see in place of a secret text.
pub const SECRET_MARKER: &str = "[sekretessmarkerad]";

/// The secrecy target an event's free text belongs to: what a mark of secrecy names
/// ([`SecrecyTarget::name`]).
pub fn secrecy_target(event: &DomainEvent) -> Option<String> {
    use crate::domain::activity::ActivityEvent;
    use crate::domain::case::CaseEvent;
    use crate::domain::item::ItemEvent;
    let target = match event {
        DomainEvent::Case(CaseEvent::CaseOpened { case_id, .. }) => {
            SecrecyTarget::CaseDescription(*case_id)
        }
        DomainEvent::Case(CaseEvent::CaseNoteAdded {
            case_id, note_id, ..
        }) => SecrecyTarget::Note {
            case_id: *case_id,
            note_id: *note_id,
        },
        DomainEvent::Case(
            CaseEvent::CaseEscalated { item_id, .. }
            | CaseEvent::CaseEscalationAnswered { item_id, .. },
        )
        | DomainEvent::Item(
            ItemEvent::ItemRaised { item_id, .. } | ItemEvent::ItemAnswered { item_id, .. },
        ) => SecrecyTarget::Item(*item_id),
        DomainEvent::Activity(
            ActivityEvent::ActivityLogged { activity_id, .. }
            | ActivityEvent::ActivityCorrected { activity_id, .. },
        ) => SecrecyTarget::Activity(*activity_id),
        _ => return None,
    };
    Some(target.name())
}

/// Whether `viewer` may read secret text about `area`.
pub fn may_read_secret(viewer: &Actor, area: Option<&str>) -> bool {
    match viewer.role {
        Role::Samordnare | Role::Revisor => true,
        Role::Omradesteam => {
            area.is_some_and(|area| viewer.areas.iter().any(|own| own.as_str() == area))
        }
        _ => false,
    }
}

/// Whether `viewer` speaks for the forum at either end of an item (`from`, `to` as
/// stored, e.g. `omradesteam:araby`, `integrationsrad`).
pub fn at_either_end(viewer: &Actor, from: &str, to: &str) -> bool {
    [from, to].iter().any(|forum| {
        forum
            .parse::<crate::domain::item::Forum>()
            .is_ok_and(|forum| crate::access::speaks_for(viewer, &forum))
    })
}

/// Everything about `viewer` that decides which secret texts about `area` they read, as a
/// key for pages kept rendered: the same class reads the same texts.
pub fn reading_class(viewer: &Actor, area: Option<&str>) -> String {
    if may_read_secret(viewer, area) {
        return "alla".to_owned();
    }
    let mut processes: Vec<&str> = viewer.processes.iter().map(|p| p.as_str()).collect();
    processes.sort_unstable();
    format!("{}:{}", viewer.role.as_str(), processes.join(","))
}

/// The targets among `targets` that are marked secret now.
pub async fn secret_targets(pool: &PgPool, targets: &[String]) -> sqlx::Result<HashSet<String>> {
    if targets.is_empty() {
        return Ok(HashSet::new());
    }
    let secret: Vec<String> =
        sqlx::query_scalar("SELECT target FROM secret_texts WHERE secret AND target = ANY($1)")
            .bind(targets)
            .fetch_all(pool)
            .await?;
    Ok(secret.into_iter().collect())
}

/// One event's text, as one viewer is to see it, with what the read model says about it
/// now (read with the entry, in the same statement: [`MARKS`]).
pub struct Shown<'a> {
    pub event_type: &'a str,
    /// The area the text is about (the event's `area:` tag).
    pub area: Option<&'a str>,
    /// The text is marked secret now.
    pub secret: bool,
    /// For a secret item between forums: the forums it was sent from and to (as stored,
    /// e.g. `omradesteam:araby`), who read it.
    pub ends: Option<(&'a str, &'a str)>,
    /// The subjects whose keys seal the text, as the read model keeps them.
    pub subjects: &'a [String],
    /// The event's data, where the reader asked for it whole.
    pub data: Option<&'a mut Value>,
    /// The free texts the entry shows, as the read model keeps them.
    pub texts: &'a mut [super::Text],
}

/// The columns a read of timeline entries (`t`, with its `secrecy_target`) adds for
/// [`prepare`]: whether the text is marked secret now, the forums at the ends of a secret
/// item, and how many keys have been destroyed (under which count the entries were read).
pub const MARKS: &str = "(SELECT s.secret FROM secret_texts s WHERE s.target = t.secrecy_target)
         IS TRUE AS marked_secret,
     CASE WHEN t.secrecy_target LIKE 'item:%' THEN
         (SELECT ARRAY[f.from_forum, f.to_forum] FROM flow_items f
          WHERE f.item_id = substr(t.secrecy_target, 6)::uuid
            AND EXISTS (SELECT 1 FROM secret_texts s
                        WHERE s.secret AND s.target = t.secrecy_target))
     END AS item_ends,
     coalesce((SELECT destroyed FROM key_destructions), 0) AS keys_destroyed";

/// The rows of the keys of `subjects` and how many keys have been destroyed, read in one
/// statement (keys read under an older count are used, never kept).
async fn read_keys(
    connection: &mut PgConnection,
    subjects: &[&str],
) -> sqlx::Result<(Vec<super::KeyRow>, i64)> {
    #[derive(sqlx::FromRow)]
    struct Row {
        subject: Option<String>,
        wrapped_key: Option<Vec<u8>>,
        decision: Option<String>,
        erased: i64,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT k.subject, k.wrapped_key, k.decision, d.erased
         FROM (SELECT coalesce((SELECT destroyed FROM key_destructions), 0) AS erased) d
         LEFT JOIN data_keys k ON k.subject = ANY($1)",
    )
    .bind(subjects)
    .fetch_all(connection)
    .await?;
    let erased = rows.first().map_or(0, |row| row.erased);
    let keys = rows
        .into_iter()
        .filter_map(|row| Some((row.subject?, row.wrapped_key, row.decision)))
        .collect();
    Ok((keys, erased))
}

/// Prepares events' data for `viewer`: secret texts they may not read become the secret
/// marker (and are never decrypted), the rest is opened (or shows the erasure marker).
/// `erased` is the count of destroyed keys the entries were read under ([`MARKS`]).
/// Returns, per event, whether its text is secret. Only the keys this instance has not
/// kept are read, in one statement on `connection`, the one the entries came on (a
/// request never waits for a second connection while it holds one).
pub async fn prepare(
    privacy: &Privacy,
    connection: &mut PgConnection,
    viewer: &Actor,
    shown: &mut [Shown<'_>],
    erased: i64,
) -> sqlx::Result<Vec<bool>> {
    let mut flags = Vec::with_capacity(shown.len());
    let mut sealed: HashSet<&str> = HashSet::new();
    for entry in shown.iter_mut() {
        let addressed = entry
            .ends
            .is_some_and(|(from, to)| at_either_end(viewer, from, to));
        if entry.secret && !may_read_secret(viewer, entry.area) && !addressed {
            if let Some(data) = entry.data.as_deref_mut() {
                for field in sealed_fields(entry.event_type) {
                    if data.get(*field).is_some() {
                        data[*field] = Value::String(SECRET_MARKER.into());
                    }
                }
            }
            for text in entry.texts.iter_mut() {
                text.replace_with(SECRET_MARKER);
            }
        } else {
            sealed.extend(entry.subjects.iter().map(String::as_str));
        }
        flags.push(entry.secret);
    }
    if sealed.is_empty() {
        return Ok(flags);
    }
    // Only the keys of text still sealed are unwrapped: never those of text kept secret.
    let wanted: Vec<&str> = sealed.iter().copied().collect();
    let missing = privacy.not_kept(&wanted, erased);
    let (keys, erased) = if missing.is_empty() {
        (Vec::new(), erased)
    } else {
        read_keys(connection, &missing).await?
    };
    let (mut datas, mut texts) = (Vec::new(), Vec::new());
    for entry in shown.iter_mut() {
        datas.extend(entry.data.as_deref_mut());
        texts.extend(entry.texts.iter_mut());
    }
    privacy
        .open_with(connection, datas, texts, &sealed, keys, erased)
        .await?;
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::values::Slug;
    use uuid::Uuid;

    fn actor(role: Role, areas: &[&str]) -> Actor {
        Actor {
            user_id: Uuid::nil(),
            name: "x".into(),
            role,
            areas: areas.iter().map(|a| Slug::parse("a", a).unwrap()).collect(),
            processes: Vec::new(),
        }
    }

    /// Every event type's secrecy target, as the names of its data's fields give it (how
    /// pages found it before the timeline kept it): the typed events name the same.
    #[test]
    fn every_event_with_text_that_may_be_secret_names_its_target() {
        for (name, data) in crate::domain::catalogue::tests::examples() {
            let id = |key: &str| data[key].as_str().unwrap().to_owned();
            let expected = match name.as_str() {
                "CaseOpened" => Some(format!("description:{}", id("case_id"))),
                "CaseNoteAdded" => Some(format!("note:{}", id("note_id"))),
                "ItemRaised" | "ItemAnswered" | "CaseEscalated" | "CaseEscalationAnswered" => {
                    Some(format!("item:{}", id("item_id")))
                }
                "ActivityLogged" | "ActivityCorrected" => {
                    Some(format!("activity:{}", id("activity_id")))
                }
                _ => None,
            };
            let event = crate::domain::catalogue::decode(
                &name,
                crate::domain::event::SCHEMA_VERSION,
                data.clone(),
            )
            .unwrap_or_else(|error| panic!("{name} decodes: {error:?}"))
            .event;
            assert_eq!(secrecy_target(&event), expected, "{name}");
        }
    }

    #[test]
    fn secret_text_is_for_the_own_area_team_the_coordinator_and_the_auditor() {
        assert!(may_read_secret(
            &actor(Role::Omradesteam, &["araby"]),
            Some("araby")
        ));
        assert!(!may_read_secret(
            &actor(Role::Omradesteam, &["braas"]),
            Some("araby")
        ));
        assert!(may_read_secret(
            &actor(Role::Samordnare, &[]),
            Some("araby")
        ));
        assert!(may_read_secret(&actor(Role::Revisor, &[]), Some("araby")));
        for role in [
            Role::Integrationsrad,
            Role::Integrationsberedning,
            Role::Processagare,
        ] {
            assert!(!may_read_secret(&actor(role, &[]), Some("araby")), "{role}");
        }
    }
}
