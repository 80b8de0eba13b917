//! The last (version, hash) Insats has seen per stream, so that most appends can compute
//! the hash chain themselves and skip the recursive statement.
//!
//! Safe without invalidation: events are immutable, so the hash at a (stream, version)
//! never changes. An entry can only be *behind* the stream's real head, and then the
//! append's guard ("the head at the expected version has this hash") simply refers to an
//! older version and the append fails as any stale expected version does.

use std::collections::HashMap;
use std::sync::Mutex;

use super::chain::Hash;

/// Entries kept before the cache starts over (a few MB at most).
const CAPACITY: usize = 50_000;

#[derive(Debug, Default)]
pub struct HeadCache {
    heads: Mutex<HashMap<String, (i64, Hash)>>,
}

impl HeadCache {
    pub fn get(&self, stream_id: &str) -> Option<(i64, Hash)> {
        self.heads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(stream_id)
            .copied()
    }

    /// Remembers that `stream_id` has `hash` at `version`, unless a later version is known.
    pub fn remember(&self, stream_id: &str, version: i64, hash: &[u8]) {
        let Ok(hash) = Hash::try_from(hash) else {
            return;
        };
        let mut heads = self
            .heads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(entry) = heads.get_mut(stream_id) {
            if version >= entry.0 {
                *entry = (version, hash);
            }
            return;
        }
        if heads.len() >= CAPACITY {
            heads.clear();
        }
        heads.insert(stream_id.to_owned(), (version, hash));
    }
}
