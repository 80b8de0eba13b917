//! What a viewer may read: a text marked secret is shown only to the area team of its
//! area, the coordinator and the auditor, and (for an item between forums) to the forums
//! at either end of the item: secrecy keeps a text from others, never from the forum asked
//! to answer it. Everyone else sees that a secret text exists.

use serde_json::Value;
use sqlx::PgPool;
use std::collections::{HashMap, HashSet};

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

/// One event's text, as one viewer is to see it.
pub struct Shown<'a> {
    pub event_type: &'a str,
    /// The area the text is about (the event's `area:` tag).
    pub area: Option<&'a str>,
    /// What a mark of secrecy on the text names ([`secrecy_target`]), as the read model
    /// keeps it.
    pub target: Option<&'a str>,
    /// The subjects whose keys seal the text, as the read model keeps them.
    pub subjects: &'a [String],
    pub data: &'a mut Value,
}

/// What the database says about the texts of some events, read in one statement: which
/// of their secrecy targets are marked secret, the forums at the ends of the secret items
/// among them (whose forums read them), the rows of the keys asked for, and how many keys
/// have been destroyed (under which count the keys were read).
#[derive(Default)]
struct Marks {
    secret: HashSet<String>,
    ends: HashMap<String, (String, String)>,
    keys: Vec<super::KeyRow>,
    erased: i64,
}

/// One row of [`Marks::read`]'s statement.
#[derive(sqlx::FromRow)]
struct MarkRow {
    /// Which part of the answer the row is: [`MarkRow::SECRET`], [`MarkRow::ENDS`] or a key.
    part: i32,
    /// The secrecy target, the item (`item:<id>`) or the key's subject.
    name: String,
    /// The forum an item was sent from, or the decision that destroyed a key.
    first: Option<String>,
    /// The forum an item was sent to.
    second: Option<String>,
    wrapped_key: Option<Vec<u8>>,
    /// How many keys have been destroyed.
    erased: Option<i64>,
}

impl MarkRow {
    const SECRET: i32 = 1;
    const ENDS: i32 = 2;
    const KEY: i32 = 3;
}

impl Marks {
    async fn read(pool: &PgPool, targets: &[&str], subjects: &[&str]) -> sqlx::Result<Self> {
        let items: Vec<uuid::Uuid> = targets
            .iter()
            .filter_map(|target| target.strip_prefix("item:"))
            .filter_map(|id| uuid::Uuid::parse_str(id).ok())
            .collect();
        let rows: Vec<MarkRow> = sqlx::query_as(
            "SELECT 1 AS part, target AS name, NULL AS first, NULL AS second,
                    NULL::bytea AS wrapped_key, NULL::bigint AS erased
             FROM secret_texts WHERE secret AND target = ANY($1)
             UNION ALL
             SELECT 2, 'item:' || f.item_id, f.from_forum, f.to_forum, NULL, NULL
             FROM flow_items f
             WHERE f.item_id = ANY($2)
               AND EXISTS (SELECT 1 FROM secret_texts s
                           WHERE s.secret AND s.target = 'item:' || f.item_id)
             UNION ALL
             SELECT 3, subject, decision, NULL, wrapped_key, NULL FROM data_keys
             WHERE subject = ANY($3)
             UNION ALL
             SELECT 4, '', NULL, NULL, NULL, destroyed FROM key_destructions",
        )
        .bind(targets)
        .bind(&items)
        .bind(subjects)
        .fetch_all(pool)
        .await?;
        let mut marks = Self::default();
        for row in rows {
            match row.part {
                MarkRow::SECRET => {
                    marks.secret.insert(row.name);
                }
                MarkRow::ENDS => {
                    let ends = (
                        row.first.unwrap_or_default(),
                        row.second.unwrap_or_default(),
                    );
                    marks.ends.insert(row.name, ends);
                }
                MarkRow::KEY => marks.keys.push((row.name, row.wrapped_key, row.first)),
                _ => marks.erased = row.erased.unwrap_or_default(),
            }
        }
        Ok(marks)
    }
}

/// Prepares events' data for `viewer`: secret texts they may not read become the secret
/// marker (and are never decrypted), the rest is opened (or shows the erasure marker).
/// Returns, per event, whether its text is secret. One statement reads all it needs, with
/// only the keys this instance has not kept (`Privacy::open_with`).
pub async fn prepare(
    privacy: &Privacy,
    pool: &PgPool,
    viewer: &Actor,
    shown: &mut [Shown<'_>],
) -> sqlx::Result<Vec<bool>> {
    let targets: Vec<&str> = shown.iter().filter_map(|entry| entry.target).collect();
    let mut subjects: Vec<&str> = shown
        .iter()
        .flat_map(|entry| entry.subjects.iter().map(String::as_str))
        .collect();
    subjects.sort_unstable();
    subjects.dedup();
    if targets.is_empty() && subjects.is_empty() {
        return Ok(vec![false; shown.len()]);
    }
    let marks = Marks::read(pool, &targets, &privacy.not_kept(&subjects)).await?;
    let mut flags = Vec::with_capacity(shown.len());
    let mut sealed: HashSet<&str> = HashSet::with_capacity(subjects.len());
    for entry in shown.iter_mut() {
        let is_secret = entry
            .target
            .is_some_and(|target| marks.secret.contains(target));
        let addressed = entry
            .target
            .and_then(|target| marks.ends.get(target))
            .is_some_and(|(from, to)| at_either_end(viewer, from, to));
        if is_secret && !may_read_secret(viewer, entry.area) && !addressed {
            for field in sealed_fields(entry.event_type) {
                if entry.data.get(*field).is_some() {
                    entry.data[*field] = Value::String(SECRET_MARKER.into());
                }
            }
        } else {
            sealed.extend(entry.subjects.iter().map(String::as_str));
        }
        flags.push(is_secret);
    }
    // Only the keys of text still sealed are unwrapped: never those of text kept secret.
    privacy
        .open_with(
            shown.iter_mut().map(|entry| &mut *entry.data),
            &sealed,
            marks.keys,
            marks.erased,
        )
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
            let event = crate::domain::catalogue::decode_current(&name, &data)
                .unwrap_or_else(|| panic!("{name} decodes"));
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
