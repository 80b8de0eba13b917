//! Personal data: erasable without breaking the audit trail (crypto-shredding), secrecy
//! marks, and retention.
//!
//! Free-text fields that may name newcomers or reveal sensitive facts (descriptions, notes,
//! escalation texts and answers, item texts and answers, reasons, feedback, decisions) are
//! sealed before they reach the log: XChaCha20-Poly1305 under a data key per *subject*
//! (`case:<id>`, `activity:<id>`, `item:<id>`, `review:<id>`, `decision:<id>`; an item
//! that escalates a case belongs to the case). The hash chain covers the ciphertext, so
//! destroying a subject's key erases its text and leaves every chain valid. Titles are not
//! sealed: the forms ask people not to put names in them. See `docs/privacy.md`.

pub mod keys;
pub mod visibility;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

pub use keys::Keyring;

use crate::domain::catalogue;
use crate::event_log::NewEvent;

/// What a reader sees where erased text was.
pub fn erased_marker(decision: &str) -> String {
    format!("[raderat enligt beslut {decision}]")
}

/// The fields each event type seals: its free text, as the catalogue names it.
pub fn sealed_fields(event_type: &str) -> &'static [&'static str] {
    catalogue::free_text(event_type)
}

fn aad(subject: &str, field: &str) -> Vec<u8> {
    format!("{subject}|{field}").into_bytes()
}

/// Whether a JSON value is a sealed field.
pub fn is_sealed(value: &Value) -> bool {
    value.get("sealed").and_then(Value::as_str) == Some("v1")
}

/// A free text as a read model keeps it for showing (the timeline's view of an entry): its
/// field, and either its sealed form as the log has it (the subject and the sealed bytes in
/// base64) or, once opened for a reader, the text (or the marker shown in its place).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Text {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl Text {
    /// The text of `field` as an event's data holds it: sealed, or plain where it was
    /// never sealed. None for a field without text (null).
    pub fn kept(field: &str, value: &Value) -> Option<Self> {
        let text = |subject: Option<&str>, sealed: Option<&str>, text: Option<&str>| Self {
            field: field.to_owned(),
            subject: subject.map(str::to_owned),
            sealed: sealed.map(str::to_owned),
            text: text.map(str::to_owned),
        };
        match value {
            Value::String(plain) => Some(text(None, None, Some(plain))),
            sealed if is_sealed(sealed) => Some(text(
                sealed.get("subject").and_then(Value::as_str),
                sealed.get("data").and_then(Value::as_str),
                None,
            )),
            _ => None,
        }
    }

    /// The text as its reader sees it (opened, or the marker in its place).
    pub fn shown(&self) -> &str {
        self.text.as_deref().unwrap_or(UNREADABLE)
    }

    /// Shows `marker` in place of the text, sealed or not.
    pub fn replace_with(&mut self, marker: &str) {
        self.subject = None;
        self.sealed = None;
        self.text = Some(marker.to_owned());
    }
}

/// What a reader sees where text cannot be opened (no key, or the sealed bytes are damaged).
const UNREADABLE: &str = "[kan inte läsas]";

/// A subject's row in `data_keys`: its wrapped key (none once destroyed) and the decision
/// that destroyed it.
pub(crate) type KeyRow = (String, Option<Vec<u8>>, Option<String>);

/// A subject's key as it stands.
#[derive(Clone)]
enum KeyState {
    Live([u8; 32]),
    Erased { decision: String },
}

/// Data keys this instance has unwrapped for pages, kept while no key has been destroyed
/// since they were read: `erased` is the count of destroyed keys (`key_destructions`,
/// moved in the transaction that destroys one) that they were read under. Whoever reads
/// keys reads that count with them; when it has moved, everything kept is dropped before a
/// key is used, so an erasure anywhere reaches every instance on its next page. Pages kept
/// rendered (`web/pages/rendered.rs`) are renewed by the same count.
#[derive(Default)]
struct KeptKeys {
    erased: i64,
    keys: HashMap<String, KeyState>,
}

/// At most this many keys are kept (about 130 bytes each with the subject, some 13 MB when
/// full); when full, all are dropped.
const KEYS_KEPT_AT_MOST: usize = 100_000;

impl std::fmt::Debug for KeptKeys {
    /// The count and how many: never a key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeptKeys")
            .field("erased", &self.erased)
            .field("kept", &self.keys.len())
            .finish()
    }
}

/// Sealing and opening free text with the data keys in the database.
#[derive(Clone, Debug)]
pub struct Privacy {
    pool: PgPool,
    keyring: Keyring,
    kept: Arc<Mutex<KeptKeys>>,
}

impl Privacy {
    pub fn new(pool: PgPool, keyring: Keyring) -> Self {
        Self {
            pool,
            keyring,
            kept: Arc::default(),
        }
    }

    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The states of the subjects' keys, creating keys for subjects that have none.
    async fn keys(
        &self,
        subjects: &[String],
        create: bool,
    ) -> sqlx::Result<HashMap<String, KeyState>> {
        if subjects.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = key_rows(&self.pool, subjects).await?;
        let mut states = self.unwrapped(rows);
        if create {
            let missing: Vec<&String> = subjects
                .iter()
                .filter(|s| !states.contains_key(*s))
                .collect();
            if !missing.is_empty() {
                let mut names = Vec::new();
                let mut wrapped = Vec::new();
                for subject in &missing {
                    let key = keys::random::<32>();
                    names.push((*subject).clone());
                    wrapped.push(self.keyring.wrap(subject, &key));
                    states.insert((*subject).clone(), KeyState::Live(key));
                }
                // Two writers may create a key for the same new subject at once: the first
                // one's key stands, and the others read it back.
                let inserted: Vec<String> = sqlx::query_scalar(
                    "INSERT INTO data_keys (subject, wrapped_key) SELECT * FROM unnest($1::text[], $2::bytea[])
                     ON CONFLICT (subject) DO NOTHING RETURNING subject",
                )
                .bind(&names)
                .bind(&wrapped)
                .fetch_all(&self.pool)
                .await?;
                if inserted.len() != names.len() {
                    let lost: Vec<String> = names
                        .into_iter()
                        .filter(|name| !inserted.contains(name))
                        .collect();
                    for (subject, state) in Box::pin(self.keys(&lost, false)).await? {
                        states.insert(subject, state);
                    }
                }
            }
        }
        Ok(states)
    }

    /// Seals the free-text fields of `events` in place, each under its subject's key.
    pub async fn seal(&self, events: &mut [NewEvent]) -> anyhow::Result<()> {
        let subjects: Vec<String> = events
            .iter()
            .filter(|event| !sealed_fields(&event.event_type).is_empty())
            .filter_map(|event| catalogue::subject(&event.event_type, &event.tags))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if subjects.is_empty() {
            return Ok(());
        }
        let keys = self.keys(&subjects, true).await?;
        for event in events.iter_mut() {
            seal_event(event, |subject| match keys.get(subject) {
                Some(KeyState::Live(key)) => Ok(*key),
                Some(KeyState::Erased { .. }) => anyhow::bail!(
                    "the personal data of {subject} has been erased: nothing more can be written about it"
                ),
                None => anyhow::bail!("no key for {subject}"),
            })?;
        }
        Ok(())
    }

    /// Opens the sealed fields of many events' data in place: the text where the key
    /// lives, the erasure marker where it was destroyed.
    pub async fn open_all<'a>(
        &self,
        datas: impl IntoIterator<Item = &'a mut Value>,
    ) -> sqlx::Result<()> {
        let mut datas: Vec<&mut Value> = datas.into_iter().collect();
        let subjects: Vec<String> = subjects_of(&datas).into_iter().collect();
        if subjects.is_empty() {
            return Ok(());
        }
        let keys = self.keys(&subjects, false).await?;
        for data in datas.iter_mut() {
            open_in_place(data, &keys);
        }
        Ok(())
    }

    pub async fn open(&self, data: &mut Value) -> sqlx::Result<()> {
        self.open_all(std::iter::once(data)).await
    }

    /// The states of the keys in `rows` (as `data_keys` holds them): live where the key
    /// unwraps, erased where it was destroyed.
    fn unwrapped(&self, rows: impl IntoIterator<Item = KeyRow>) -> HashMap<String, KeyState> {
        rows.into_iter()
            .map(|(subject, wrapped, decision)| {
                let state =
                    match wrapped.and_then(|wrapped| self.keyring.unwrap_key(&subject, &wrapped)) {
                        Some(key) => KeyState::Live(key),
                        None => KeyState::Erased {
                            decision: decision.unwrap_or_else(|| "okänt".into()),
                        },
                    };
                (subject, state)
            })
            .collect()
    }

    /// Of `subjects`, those whose keys this instance has not kept under `erased` (the count
    /// of destroyed keys the caller read): when a key has been destroyed since the kept
    /// ones were read, none of them are used.
    pub(crate) fn not_kept<'a>(&self, subjects: &[&'a str], erased: i64) -> Vec<&'a str> {
        let kept = self.kept.lock().expect("the kept keys");
        if erased > kept.erased {
            return subjects.to_vec();
        }
        subjects
            .iter()
            .copied()
            .filter(|subject| !kept.keys.contains_key(*subject))
            .collect()
    }

    /// Opens the sealed fields of many events' data, and kept texts, in place with the keys
    /// of `subjects`: those kept, and those in `rows`, read in one statement with `erased`
    /// (the count of destroyed keys) and kept from now on. When the count has moved since
    /// the kept keys were read, they are dropped first, and the subjects left without a key
    /// are read again.
    pub(crate) async fn open_with<'a>(
        &self,
        connection: &mut sqlx::PgConnection,
        datas: impl IntoIterator<Item = &'a mut Value>,
        texts: impl IntoIterator<Item = &'a mut Text>,
        subjects: &HashSet<&str>,
        rows: Vec<KeyRow>,
        erased: i64,
    ) -> sqlx::Result<()> {
        if subjects.is_empty() {
            return Ok(());
        }
        let read = self.unwrapped(
            rows.into_iter()
                .filter(|(subject, _, _)| subjects.contains(subject.as_str())),
        );
        let mut keys = HashMap::with_capacity(subjects.len());
        {
            let mut kept = self.kept.lock().expect("the kept keys");
            if erased > kept.erased {
                kept.keys.clear();
                kept.erased = erased;
            }
            // Keys read under an older count than the kept ones are used, never kept.
            if erased == kept.erased {
                if kept.keys.len() + read.len() > KEYS_KEPT_AT_MOST {
                    kept.keys.clear();
                }
                for (subject, state) in &read {
                    kept.keys.insert(subject.clone(), state.clone());
                }
            }
            for subject in subjects {
                if let Some(state) = kept.keys.get(*subject) {
                    keys.insert((*subject).to_owned(), state.clone());
                }
            }
        }
        for (subject, state) in read {
            keys.entry(subject).or_insert(state);
        }
        let missing: Vec<String> = subjects
            .iter()
            .filter(|subject| !keys.contains_key(**subject))
            .map(|subject| (*subject).to_owned())
            .collect();
        if !missing.is_empty() {
            keys.extend(self.unwrapped(key_rows(connection, &missing).await?));
        }
        for data in datas {
            open_in_place(data, &keys);
        }
        for text in texts {
            open_text(text, &keys);
        }
        Ok(())
    }

    /// Destroys a subject's key inside the caller's transaction. Returns whether there was
    /// a live key to destroy.
    pub async fn destroy_key(
        &self,
        connection: &mut PgConnection,
        subject: &str,
        decision: &str,
    ) -> sqlx::Result<bool> {
        let destroyed = sqlx::query(
            "UPDATE data_keys SET wrapped_key = NULL, destroyed_at = now(), decision = $2
             WHERE subject = $1 AND wrapped_key IS NOT NULL",
        )
        .bind(subject)
        .bind(decision)
        .execute(&mut *connection)
        .await?;
        if destroyed.rows_affected() != 1 {
            return Ok(false);
        }
        // Pages renew what they kept rendered when this count moves (web/pages/rendered.rs).
        sqlx::query("UPDATE key_destructions SET destroyed = destroyed + 1")
            .execute(&mut *connection)
            .await?;
        Ok(true)
    }
}

/// Seals one event's free text in place with the key `key_of` gives for its subject. An
/// event type with free text but no subject among its tags is refused: its text would
/// otherwise reach the log readable and unerasable.
pub fn seal_event(
    event: &mut NewEvent,
    key_of: impl Fn(&str) -> anyhow::Result<[u8; 32]>,
) -> anyhow::Result<()> {
    let fields = sealed_fields(&event.event_type);
    if fields.is_empty() {
        return Ok(());
    }
    let Some(subject) = catalogue::subject(&event.event_type, &event.tags) else {
        anyhow::bail!(
            "{} carries free text but no tag to seal it under",
            event.event_type
        );
    };
    let key = key_of(&subject)?;
    for field in fields {
        if let Some(Value::String(text)) = event.data.get(*field) {
            let sealed = keys::seal_bytes(&key, text.as_bytes(), &aad(&subject, field));
            event.data[*field] =
                json!({"sealed": "v1", "subject": subject, "data": STANDARD.encode(sealed)});
        }
    }
    Ok(())
}

/// The subjects whose keys seal fields of `datas`, each once.
fn subjects_of(datas: &[&mut Value]) -> std::collections::BTreeSet<String> {
    datas
        .iter()
        .flat_map(|data| sealed_subjects(data))
        .collect()
}

/// The subjects whose keys seal fields of `data`.
pub(crate) fn sealed_subjects(data: &Value) -> Vec<String> {
    match data {
        Value::Object(map) => subjects_sealing(map.values()),
        _ => Vec::new(),
    }
}

/// The subjects whose keys seal those of `values` that are sealed fields.
pub fn subjects_sealing<'a>(values: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    values
        .into_iter()
        .filter(|value| is_sealed(value))
        .filter_map(|value| {
            value
                .get("subject")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect()
}

/// The rows of the keys of `subjects`, as `data_keys` holds them.
async fn key_rows(db: impl sqlx::PgExecutor<'_>, subjects: &[String]) -> sqlx::Result<Vec<KeyRow>> {
    sqlx::query_as("SELECT subject, wrapped_key, decision FROM data_keys WHERE subject = ANY($1)")
        .bind(subjects)
        .fetch_all(db)
        .await
}

fn open_in_place(data: &mut Value, keys: &HashMap<String, KeyState>) {
    let Value::Object(map) = data else { return };
    for (field, value) in map.iter_mut() {
        if !is_sealed(value) {
            continue;
        }
        let subject = value.get("subject").and_then(Value::as_str).unwrap_or("");
        let sealed = value.get("data").and_then(Value::as_str).unwrap_or("");
        *value = Value::String(opened(keys, subject, field, sealed));
    }
}

/// Opens a kept text that is still sealed.
fn open_text(text: &mut Text, keys: &HashMap<String, KeyState>) {
    if let (Some(subject), Some(sealed)) = (text.subject.take(), text.sealed.take()) {
        text.text = Some(opened(keys, &subject, &text.field, &sealed));
    }
}

/// The text of a field sealed under `subject`'s key (`sealed` in base64): the text where the
/// key lives, the erasure marker where it was destroyed.
fn opened(keys: &HashMap<String, KeyState>, subject: &str, field: &str, sealed: &str) -> String {
    match keys.get(subject) {
        Some(KeyState::Live(key)) => STANDARD
            .decode(sealed)
            .ok()
            .and_then(|sealed| keys::open_bytes(key, &sealed, &aad(subject, field)))
            .and_then(|plain| String::from_utf8(plain).ok())
            .unwrap_or_else(|| UNREADABLE.into()),
        Some(KeyState::Erased { decision }) => erased_marker(decision),
        None => UNREADABLE.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing_leaves_no_free_text_readable_and_opening_gives_it_back() {
        let key = keys::random::<32>();
        let id = uuid::Uuid::now_v7();
        let mut event = NewEvent::new(
            "CaseNoteAdded",
            json!({"case_id": id, "note_id": id, "text": "Familjen Ali behöver tolk"}),
        )
        .with_tags([format!("case:{id}"), "area:araby".to_owned()]);
        seal_event(&mut event, |_| Ok(key)).unwrap();
        assert!(is_sealed(&event.data["text"]));
        assert!(!event.data.to_string().contains("Familjen Ali"));
        let mut data = event.data.clone();
        open_in_place(
            &mut data,
            &HashMap::from([(format!("case:{id}"), KeyState::Live(key))]),
        );
        assert_eq!(data["text"], "Familjen Ali behöver tolk");

        let mut untagged = NewEvent::new("CaseNoteAdded", json!({"text": "Namn"}));
        assert!(
            seal_event(&mut untagged, |_| Ok(key)).is_err(),
            "free text without a subject is refused, not stored readable"
        );
    }

    #[test]
    fn a_kept_text_opens_to_its_text_or_the_erasure_marker() {
        let key = keys::random::<32>();
        let sealed = keys::seal_bytes(&key, b"Familjen Ali", &aad("case:1", "text"));
        let stored = json!({"sealed": "v1", "subject": "case:1", "data": STANDARD.encode(&sealed)});
        let kept = Text::kept("text", &stored).unwrap();
        assert_eq!(kept.subject.as_deref(), Some("case:1"));
        assert!(kept.text.is_none(), "kept sealed, not as text");
        assert_eq!(kept.shown(), "[kan inte läsas]");

        let mut opened = kept.clone();
        open_text(
            &mut opened,
            &HashMap::from([("case:1".to_string(), KeyState::Live(key))]),
        );
        assert_eq!(opened.shown(), "Familjen Ali");
        assert_eq!((opened.subject, opened.sealed), (None, None));

        // Sealed for another field, it does not open.
        let mut moved = Text {
            field: "answer".into(),
            ..kept.clone()
        };
        open_text(
            &mut moved,
            &HashMap::from([("case:1".to_string(), KeyState::Live(key))]),
        );
        assert_eq!(moved.shown(), "[kan inte läsas]");

        let mut erased = kept;
        open_text(
            &mut erased,
            &HashMap::from([(
                "case:1".to_string(),
                KeyState::Erased {
                    decision: "Dnr 2026/17".into(),
                },
            )]),
        );
        assert_eq!(erased.shown(), "[raderat enligt beslut Dnr 2026/17]");

        assert_eq!(
            Text::kept("text", &json!("Öppen text")).unwrap().shown(),
            "Öppen text"
        );
        assert_eq!(Text::kept("resolution", &Value::Null), None);
    }

    #[test]
    fn opening_replaces_sealed_fields_with_text_or_the_erasure_marker() {
        let key = keys::random::<32>();
        let sealed = keys::seal_bytes(&key, b"Familjen Ali", &aad("case:1", "text"));
        let mut data = json!({"case_id": "1", "text": {"sealed": "v1", "subject": "case:1", "data": STANDARD.encode(&sealed)}});
        let mut erased = data.clone();
        open_in_place(
            &mut data,
            &HashMap::from([("case:1".to_string(), KeyState::Live(key))]),
        );
        assert_eq!(data["text"], "Familjen Ali");
        open_in_place(
            &mut erased,
            &HashMap::from([(
                "case:1".to_string(),
                KeyState::Erased {
                    decision: "Dnr 2026/17".into(),
                },
            )]),
        );
        assert_eq!(erased["text"], "[raderat enligt beslut Dnr 2026/17]");
    }
}
