//! The key-encryption key (KEK) and the data keys it wraps.
//!
//! The KEK comes from configuration (`INSATS_MASTER_KEY_FILE`, 32 bytes as 64 hex digits),
//! or, for the managed local database, from `master.key` in the data folder, created on
//! first start. The database never holds it; it holds only data keys wrapped by it, and a
//! check value that tells a wrong KEK at start.

use anyhow::{Context, bail};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sqlx::PgPool;
use std::path::Path;

const CHECK_TEXT: &[u8] = b"insats key-encryption key check v1";

/// The key-encryption key is not the database's.
#[derive(Debug, thiserror::Error)]
#[error(
    "The key-encryption key is not the one this database was set up with: set INSATS_MASTER_KEY_FILE to the right key file (Insats will not start with another key, so that no text is lost)."
)]
pub struct KeyMismatch;
const NONCE: usize = 24;

/// The key-encryption key.
#[derive(Clone)]
pub struct Keyring {
    kek: [u8; 32],
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring(…)")
    }
}

pub fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::fill(&mut bytes);
    bytes
}

/// Encrypts `plain` under `key` with a fresh nonce; the nonce comes first in the output.
pub fn seal_bytes(key: &[u8; 32], plain: &[u8], aad: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new_from_slice(key).expect("a 32-byte key");
    let nonce = random::<NONCE>();
    let sealed = cipher
        .encrypt(&XNonce::from(nonce), Payload { msg: plain, aad })
        .expect("encryption of a bounded message cannot fail");
    let mut out = Vec::with_capacity(NONCE + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

/// Decrypts what [`seal_bytes`] made; `None` when the key or the additional data is wrong.
pub fn open_bytes(key: &[u8; 32], sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE {
        return None;
    }
    let cipher = XChaCha20Poly1305::new_from_slice(key).ok()?;
    let (nonce, body) = sealed.split_at(NONCE);
    let nonce: [u8; NONCE] = nonce.try_into().ok()?;
    cipher
        .decrypt(&XNonce::from(nonce), Payload { msg: body, aad })
        .ok()
}

impl Keyring {
    pub fn from_bytes(kek: [u8; 32]) -> Self {
        Self { kek }
    }

    /// Reads a key file: 64 hex digits (whitespace around them is ignored).
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "Failed to read the key-encryption key file {}",
                path.display()
            )
        })?;
        let bytes = hex::decode(text.trim())
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok());
        match bytes {
            Some(kek) => Ok(Self { kek }),
            None => bail!(
                "The key-encryption key file {} does not hold a key: it must contain 64 hexadecimal digits (create one with `insats privacy new-key FILE`).",
                path.display()
            ),
        }
    }

    /// The managed setup's key: `master.key` in the data folder, created if missing.
    pub fn in_data_dir(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join("master.key");
        if !path.exists() {
            std::fs::create_dir_all(data_dir)?;
            write_new_key(&path)?;
            tracing::info!(path = %path.display(), "created a key-encryption key; back it up (see docs/privacy.md)");
        }
        Self::from_file(&path)
    }

    /// A key for another purpose than wrapping (`label` names it), derived from this KEK
    /// with HMAC-SHA256, so every instance with the same KEK derives the same key.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        use hmac::{KeyInit, Mac};
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.kek)
            .expect("any key length");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Wraps a data key for `subject`.
    pub fn wrap(&self, subject: &str, key: &[u8; 32]) -> Vec<u8> {
        seal_bytes(&self.kek, key, subject.as_bytes())
    }

    /// Unwraps a data key; `None` when this is not the KEK that wrapped it.
    pub fn unwrap_key(&self, subject: &str, wrapped: &[u8]) -> Option<[u8; 32]> {
        open_bytes(&self.kek, wrapped, subject.as_bytes()).and_then(|bytes| bytes.try_into().ok())
    }

    /// Checks this KEK against the database's check value, storing one on first use.
    /// The error is one sentence for the person starting Insats.
    pub async fn check(&self, pool: &PgPool) -> anyhow::Result<()> {
        let stored: Option<Vec<u8>> = sqlx::query_scalar("SELECT sealed FROM encryption_check")
            .fetch_optional(pool)
            .await
            .context("Failed to read the key check")?;
        match stored {
            Some(sealed) => match open_bytes(&self.kek, &sealed, b"check") {
                Some(text) if text == CHECK_TEXT => Ok(()),
                _ => Err(KeyMismatch.into()),
            },
            None => {
                sqlx::query(
                    "INSERT INTO encryption_check (sealed) VALUES ($1) ON CONFLICT DO NOTHING",
                )
                .bind(seal_bytes(&self.kek, CHECK_TEXT, b"check"))
                .execute(pool)
                .await
                .context("Failed to store the key check")?;
                Box::pin(self.check(pool)).await
            }
        }
    }
}

/// Re-wraps every data key with `new` and replaces the check value, in one transaction:
/// rotating the key-encryption key. Returns how many keys were re-wrapped.
pub async fn rotate(pool: &PgPool, old: &Keyring, new: &Keyring) -> anyhow::Result<u64> {
    old.check(pool).await?;
    let mut transaction = pool.begin().await?;
    sqlx::query("SET LOCAL statement_timeout = 0")
        .execute(&mut *transaction)
        .await?;
    let keys: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT subject, wrapped_key FROM data_keys WHERE wrapped_key IS NOT NULL FOR UPDATE",
    )
    .fetch_all(&mut *transaction)
    .await?;
    let mut subjects = Vec::with_capacity(keys.len());
    let mut rewrapped = Vec::with_capacity(keys.len());
    for (subject, wrapped) in keys {
        let key = old.unwrap_key(&subject, &wrapped).with_context(|| {
            format!("The data key of {subject} does not open with the current key")
        })?;
        rewrapped.push(new.wrap(&subject, &key));
        subjects.push(subject);
    }
    sqlx::query(
        "UPDATE data_keys k SET wrapped_key = r.wrapped FROM unnest($1::text[], $2::bytea[]) AS r(subject, wrapped)
         WHERE k.subject = r.subject",
    )
    .bind(&subjects)
    .bind(&rewrapped)
    .execute(&mut *transaction)
    .await?;
    sqlx::query("UPDATE encryption_check SET sealed = $1")
        .bind(seal_bytes(&new.kek, CHECK_TEXT, b"check"))
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(subjects.len() as u64)
}

/// Writes a new random key (64 hex digits) to `path`, readable only by its owner.
pub fn write_new_key(path: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "Failed to create the key file {} (it must not exist yet)",
                path.display()
            )
        })?;
    writeln!(file, "{}", hex::encode(random::<32>()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_bytes_open_only_with_the_same_key_and_context() {
        let key = random::<32>();
        let sealed = seal_bytes(&key, b"Anteckning om familjen", b"case:1:text");
        assert_eq!(
            open_bytes(&key, &sealed, b"case:1:text").unwrap(),
            b"Anteckning om familjen"
        );
        assert!(
            open_bytes(&key, &sealed, b"case:2:text").is_none(),
            "bound to its subject and field"
        );
        assert!(open_bytes(&random::<32>(), &sealed, b"case:1:text").is_none());
        let mut tampered = sealed.clone();
        tampered[30] ^= 1;
        assert!(open_bytes(&key, &tampered, b"case:1:text").is_none());
    }

    #[test]
    fn a_data_key_unwraps_only_for_its_subject_and_keyring() {
        let keyring = Keyring::from_bytes(random());
        let key = random::<32>();
        let wrapped = keyring.wrap("case:1", &key);
        assert_eq!(keyring.unwrap_key("case:1", &wrapped), Some(key));
        assert_eq!(keyring.unwrap_key("case:2", &wrapped), None);
        assert_eq!(
            Keyring::from_bytes(random()).unwrap_key("case:1", &wrapped),
            None
        );
    }

    #[test]
    fn key_files_hold_64_hex_digits() {
        let dir = std::env::temp_dir().join(format!("insats-key-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("kek");
        write_new_key(&path).unwrap();
        assert!(Keyring::from_file(&path).is_ok());
        assert!(write_new_key(&path).is_err(), "never overwritten");
        std::fs::write(&path, "not a key").unwrap();
        let error = Keyring::from_file(&path).unwrap_err().to_string();
        assert!(error.contains("64 hexadecimal digits"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
