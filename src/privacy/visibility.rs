//! What a viewer may read: a text marked secret is shown only to the area team of its
//! area, the coordinator and the auditor, and (for an item between forums) to the forums
//! at either end of the item: secrecy keeps a text from others, never from the forum asked
//! to answer it. Everyone else sees that a secret text exists.

use serde_json::Value;
use sqlx::PgPool;
use std::collections::HashSet;

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

/// The forums at the ends of the items among `targets` (`item:<id>`), by target.
async fn item_ends(
    pool: &PgPool,
    targets: &HashSet<String>,
) -> sqlx::Result<std::collections::HashMap<String, (String, String)>> {
    let ids: Vec<uuid::Uuid> = targets
        .iter()
        .filter_map(|target| target.strip_prefix("item:"))
        .filter_map(|id| uuid::Uuid::parse_str(id).ok())
        .collect();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(uuid::Uuid, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT item_id, from_forum, to_forum FROM flow_items WHERE item_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, from, to)| {
            (
                format!("item:{id}"),
                (from.unwrap_or_default(), to.unwrap_or_default()),
            )
        })
        .collect())
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

/// Prepares events' data for `viewer`: secret texts they may not read become the secret
/// marker (and are never decrypted), the rest is opened (or shows the erasure marker).
/// Returns, per event, whether its text is secret.
pub async fn prepare(
    privacy: &Privacy,
    pool: &PgPool,
    viewer: &Actor,
    shown: &mut [Shown<'_>],
) -> sqlx::Result<Vec<bool>> {
    let targets: Vec<String> = shown
        .iter()
        .filter_map(|entry| secrecy_target(entry.event_type, entry.data))
        .collect();
    let secret = secret_targets(pool, &targets).await?;
    let ends = item_ends(pool, &secret).await?;
    let mut flags = Vec::with_capacity(shown.len());
    for entry in shown.iter_mut() {
        let target = secrecy_target(entry.event_type, entry.data);
        let is_secret = target
            .as_ref()
            .is_some_and(|target| secret.contains(target));
        let addressed = target
            .as_ref()
            .and_then(|target| ends.get(target))
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
    privacy
        .open_all(shown.iter_mut().map(|entry| &mut *entry.data))
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
