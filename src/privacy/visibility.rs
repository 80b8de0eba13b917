//! What a viewer may read: a text marked secret is shown only to the area team of its
//! area, the coordinator and the auditor, and (for an item between forums) to the forums
//! at either end of the item: secrecy keeps a text from others, never from the forum asked
//! to answer it. Everyone else sees that a secret text exists.

use serde_json::Value;
use sqlx::PgPool;
use std::collections::{HashMap, HashSet};

use super::{Privacy, sealed_fields};
use crate::domain::actor::{Actor, Role};

/// What others see in place of a secret text.
pub const SECRET_MARKER: &str = "[sekretessmarkerad]";

/// The secrecy target an event's free text belongs to.
pub fn secrecy_target(event_type: &str, data: &Value) -> Option<String> {
    let id = |key: &str| data.get(key).and_then(Value::as_str).map(str::to_owned);
    match event_type {
        "CaseOpened" => id("case_id").map(|id| format!("description:{id}")),
        "CaseNoteAdded" => id("note_id").map(|id| format!("note:{id}")),
        "ItemRaised" | "ItemAnswered" | "CaseEscalated" | "CaseEscalationAnswered" => {
            id("item_id").map(|id| format!("item:{id}"))
        }
        "ActivityLogged" | "ActivityCorrected" => {
            id("activity_id").map(|id| format!("activity:{id}"))
        }
        _ => None,
    }
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
    pub data: &'a mut Value,
}

/// What the database says about the texts of some events, read in one statement: which
/// of their secrecy targets are marked secret, the forums at the ends of the secret items
/// among them (whose forums read them), and the rows of the keys that seal them.
#[derive(Default)]
struct Marks {
    secret: HashSet<String>,
    ends: HashMap<String, (String, String)>,
    keys: Vec<super::KeyRow>,
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
}

impl MarkRow {
    const SECRET: i32 = 1;
    const ENDS: i32 = 2;
}

impl Marks {
    async fn read(pool: &PgPool, targets: &[String], subjects: &[String]) -> sqlx::Result<Self> {
        if targets.is_empty() && subjects.is_empty() {
            return Ok(Self::default());
        }
        let items: Vec<uuid::Uuid> = targets
            .iter()
            .filter_map(|target| target.strip_prefix("item:"))
            .filter_map(|id| uuid::Uuid::parse_str(id).ok())
            .collect();
        let rows: Vec<MarkRow> = sqlx::query_as(
            "SELECT 1 AS part, target AS name, NULL AS first, NULL AS second,
                    NULL::bytea AS wrapped_key
             FROM secret_texts WHERE secret AND target = ANY($1)
             UNION ALL
             SELECT 2, 'item:' || f.item_id, f.from_forum, f.to_forum, NULL FROM flow_items f
             WHERE f.item_id = ANY($2)
               AND EXISTS (SELECT 1 FROM secret_texts s
                           WHERE s.secret AND s.target = 'item:' || f.item_id)
             UNION ALL
             SELECT 3, subject, decision, NULL, wrapped_key FROM data_keys
             WHERE subject = ANY($3)",
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
                _ => marks.keys.push((row.name, row.wrapped_key, row.first)),
            }
        }
        Ok(marks)
    }
}

/// Prepares events' data for `viewer`: secret texts they may not read become the secret
/// marker (and are never decrypted), the rest is opened (or shows the erasure marker).
/// Returns, per event, whether its text is secret. One statement reads all it needs.
pub async fn prepare(
    privacy: &Privacy,
    pool: &PgPool,
    viewer: &Actor,
    shown: &mut [Shown<'_>],
) -> sqlx::Result<Vec<bool>> {
    let targets: Vec<Option<String>> = shown
        .iter()
        .map(|entry| secrecy_target(entry.event_type, entry.data))
        .collect();
    let subjects: Vec<String> = shown
        .iter()
        .flat_map(|entry| super::sealed_subjects(entry.data))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let named: Vec<String> = targets.iter().flatten().cloned().collect();
    let marks = Marks::read(pool, &named, &subjects).await?;
    let mut flags = Vec::with_capacity(shown.len());
    for (entry, target) in shown.iter_mut().zip(&targets) {
        let is_secret = target
            .as_ref()
            .is_some_and(|target| marks.secret.contains(target));
        let addressed = target
            .as_ref()
            .and_then(|target| marks.ends.get(target))
            .is_some_and(|(from, to)| at_either_end(viewer, from, to));
        if is_secret && !may_read_secret(viewer, entry.area) && !addressed {
            for field in sealed_fields(entry.event_type) {
                if entry.data.get(*field).is_some() {
                    entry.data[*field] = Value::String(SECRET_MARKER.into());
                }
            }
        }
        flags.push(is_secret);
    }
    privacy.open_with(shown.iter_mut().map(|entry| &mut *entry.data), marks.keys);
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
