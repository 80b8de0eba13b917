//! Reminders by e-mail: deciding who is reminded of what, the outbox, and the sender.
//!
//! Deciding and sending are two steps with the outbox between them:
//! - **Deciding** ([`Notifier::decide`]) records each reminder once per rule, subject,
//!   period and person (`reminders`, keyed by that), and in the same transaction writes the
//!   mail that carries it to `mail_outbox`: at once for people who chose immediate mails,
//!   in the first run after [`DIGEST_HOUR`] for those who chose a daily digest. A mail's
//!   Message-ID is chosen here and stored, so a mail sent again after a crash carries the
//!   same one and mail clients fold the two.
//! - **Sending** ([`Notifier::send_due`]) sends the outbox's waiting mails over SMTP
//!   (`lettre`), marks each sent, and retries a failed one with a growing pause while the
//!   mail server is down; a mail the server refuses for good is given up and kept with its
//!   error.
//!
//! One instance at a time does both ([`Notifier::tick`] holds a PostgreSQL advisory lock on
//! a connection of its own), so two instances never send the same mail; a crash between the
//! server's "250 OK" and marking the mail sent sends it at most once more.
//!
//! Mail leaves the municipality's control: a mail says what kind of thing is due, for which
//! strategy or area, and links to it, never free text from cases, items or activities.

mod mail;

use anyhow::Context;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sqlx::{Connection, PgPool};
use std::collections::HashMap;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::{MailChoice, USER_COLUMNS, User};
use crate::domain::reminders::Due;
use crate::queries::Queries;
use crate::queries::todo::{concerns, describe};

/// The local hour (Växjö) from which the day's digest is written.
pub const DIGEST_HOUR: u8 = 7;

/// The advisory lock held by the one instance that decides and sends reminders.
const NOTIFICATIONS_LOCK: i64 = 0x6e6f_7469_6669_6572;

/// How many mails one run sends at most.
const BATCH: i64 = 100;

/// How long a run's lease on the mails it sends lasts: a run that dies holding it lets
/// another send them after this.
const LEASE: Duration = Duration::from_secs(10 * 60);

/// How long sent and given-up mails are kept.
const KEPT: Duration = Duration::from_secs(90 * 24 * 60 * 60);

/// Whether the server refused the mail's recipient for good (550: no such mailbox, 551:
/// not local): that mail is given up. Every other failure (a wrong password, 530/535; a
/// sender the server does not accept, 553/554; the server away) is the installation's, and
/// the mail is tried again, since giving up would lose every mail until it is put right.
///
/// Servers answer 550 to a refused sender too. Where the answer carries an enhanced status
/// code (RFC 3463, `5.1.1 …`), it says which: only one about the recipient's address or
/// mailbox ([`RECIPIENT_STATUSES`]) gives the mail up; one about the sender (`5.1.7`,
/// `5.1.8`) or about policy (`5.7.x`, such as relaying denied) is the installation's. A 550
/// without one is read as the recipient's, as it classically is.
fn refuses_recipient(error: &lettre::transport::smtp::Error) -> bool {
    use std::error::Error as _;
    let refused = error.is_permanent()
        && error
            .status()
            .is_some_and(|code| matches!(code.to_string().as_str(), "550" | "551"));
    let message = error.source().map(|source| source.to_string());
    refused
        && enhanced_status(message.as_deref().unwrap_or(""))
            .is_none_or(|(subject, detail)| RECIPIENT_STATUSES.contains(&(subject, detail)))
}

/// The enhanced status codes (subject, detail) that refuse the recipient: a bad destination
/// mailbox (1.1), system (1.2) or mailbox syntax (1.3), a mailbox moved (1.6), a domain that
/// takes no mail (1.10), a mailbox disabled (2.1).
const RECIPIENT_STATUSES: [(u16, u16); 6] = [(1, 1), (1, 2), (1, 3), (1, 6), (1, 10), (2, 1)];

/// The subject and detail of the enhanced status code a server's answer begins with
/// (`5.1.1 No such mailbox` gives (1, 1)), if it begins with one.
fn enhanced_status(message: &str) -> Option<(u16, u16)> {
    let code = message.split_whitespace().next()?;
    let mut parts = code.split('.');
    let class = parts.next()?;
    let subject = parts.next()?.parse().ok()?;
    let detail = parts.next()?.parse().ok()?;
    (matches!(class, "4" | "5") && parts.next().is_none()).then_some((subject, detail))
}

/// The longest pause before a failed mail is tried again.
const LONGEST_PAUSE: Duration = Duration::from_secs(6 * 60 * 60);

/// Where a reminder links to, as a path in Insats (given by the web layer).
pub type Link = fn(&Due) -> String;

/// How Insats sends mail (`INSATS_SMTP_URL`, `INSATS_MAIL_FROM`).
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// The SMTP server, e.g. `smtp://user:secret@mail.example:587?tls=required` (STARTTLS),
    /// `smtps://mail.example` (TLS) or `smtp://127.0.0.1:2525` (plain, for a local server).
    pub url: String,
    /// The sender, e.g. `Insats <insats@vaxjo.se>`.
    pub from: String,
}

/// An SMTP connection's settings, ready to send.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl Mailer {
    pub fn new(settings: &MailSettings) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.url)
            .context("INSATS_SMTP_URL is not an SMTP address (smtp://… or smtps://…)")?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        let from = settings
            .from
            .parse()
            .with_context(|| format!("INSATS_MAIL_FROM {:?} is not an address", settings.from))?;
        Ok(Self { transport, from })
    }
}

/// What one run decided and sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Run {
    /// Reminders recorded for the first time.
    pub decided: u64,
    /// Mails written to the outbox.
    pub written: u64,
    /// Mails the server took.
    pub sent: u64,
    /// Mails that failed this time (tried again later).
    pub failed: u64,
}

/// The outbox as `insats notifications status` reports it.
#[derive(Debug, Clone, Default)]
pub struct Status {
    pub waiting: i64,
    pub sent: i64,
    pub given_up: i64,
    pub oldest_waiting: Option<OffsetDateTime>,
    pub last_sent: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

/// Decides and sends reminders for one Insats.
#[derive(Clone)]
pub struct Notifier {
    pool: PgPool,
    queries: Queries,
    mailer: Option<Mailer>,
    /// Where people reach Insats (the links in mails begin with it).
    public_url: String,
    link: Link,
}

impl Notifier {
    pub fn new(
        pool: PgPool,
        queries: Queries,
        mailer: Option<Mailer>,
        public_url: &str,
        link: Link,
    ) -> Self {
        Self {
            pool,
            queries,
            mailer,
            public_url: public_url.trim_end_matches('/').to_owned(),
            link,
        }
    }

    /// Whether mail is on (an SMTP server is configured).
    pub fn mail_on(&self) -> bool {
        self.mailer.is_some()
    }

    fn now(&self) -> OffsetDateTime {
        self.queries.services().clock().now()
    }

    /// One run, on the instance that holds the lock: decide, then send. `None` when another
    /// instance holds it (or mail is off).
    pub async fn tick(&self) -> anyhow::Result<Option<Run>> {
        if self.mailer.is_none() {
            return Ok(None);
        }
        // A connection of its own: if this instance dies, the connection and the lock go
        // with it.
        let mut connection = self.pool.acquire().await?.detach();
        let leader: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(NOTIFICATIONS_LOCK)
            .fetch_one(&mut connection)
            .await?;
        if !leader {
            return Ok(None);
        }
        let run = async {
            let decided = self.decide().await?;
            let sent = self.send_due().await?;
            anyhow::Ok(Run {
                sent: sent.sent,
                failed: sent.failed,
                ..decided
            })
        }
        .await;
        // Let go at once (closing alone frees the lock only when the server has ended the
        // session, a moment later).
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(NOTIFICATIONS_LOCK)
            .execute(&mut connection)
            .await;
        let _ = connection.close().await;
        run.map(Some)
    }

    /// Records the reminders due now for everyone who wants mail, and writes the mails that
    /// carry them to the outbox, each person's in one transaction.
    pub async fn decide(&self) -> anyhow::Result<Run> {
        let now = self.now();
        let due = self.queries.due().await?;
        let plan = self.queries.services().plan().await?;
        let areas = self.queries.services().area_names().await?;
        let users: Vec<User> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users
             WHERE disabled_at IS NULL AND mail_choice <> 'none' ORDER BY email"
        )))
        .fetch_all(&self.pool)
        .await?;
        let digest_time = crate::clock::local(now).hour() >= DIGEST_HOUR;
        let today = crate::clock::local(now).date();
        let mut run = Run::default();
        for user in users {
            let actor = user.actor();
            let mine: HashMap<String, &Due> = due
                .all
                .iter()
                .filter(|due| concerns(due, &actor))
                .map(|due| (due.key(user.user_id), due))
                .collect();
            let mut transaction = self.pool.begin().await?;
            let keys: Vec<&String> = mine.keys().collect();
            let rules: Vec<&str> = keys.iter().map(|key| mine[*key].rule.as_str()).collect();
            let subjects: Vec<&str> = keys.iter().map(|key| mine[*key].subject.as_str()).collect();
            let periods: Vec<&str> = keys.iter().map(|key| mine[*key].period.as_str()).collect();
            let inserted = sqlx::query(
                "INSERT INTO reminders (reminder_key, user_id, rule, subject, period, decided_at)
                 SELECT key, $2, rule, subject, period, $6
                 FROM unnest($1::text[], $3::text[], $4::text[], $5::text[])
                      AS t(key, rule, subject, period)
                 ON CONFLICT (reminder_key) DO NOTHING",
            )
            .bind(&keys)
            .bind(user.user_id)
            .bind(&rules)
            .bind(&subjects)
            .bind(&periods)
            .bind(now)
            .execute(&mut *transaction)
            .await?;
            run.decided += inserted.rows_affected();
            let send_now = match user.mail_choice {
                MailChoice::Immediate => true,
                // The first run after the digest hour writes the day's digest (or finds
                // nothing to say); later runs that day leave it to the next morning.
                _ if digest_time => sqlx::query(
                    "INSERT INTO mail_digests (user_id, day) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(user.user_id)
                .bind(today)
                .execute(&mut *transaction)
                .await?
                .rows_affected()
                    == 1,
                _ => false,
            };
            if send_now {
                let waiting: Vec<String> = sqlx::query_scalar(
                    "SELECT reminder_key FROM reminders WHERE user_id = $1 AND message_id IS NULL
                     ORDER BY decided_at, reminder_key FOR UPDATE",
                )
                .bind(user.user_id)
                .fetch_all(&mut *transaction)
                .await?;
                // What was done before its mail was written is not mailed.
                let still_due: Vec<&Due> = waiting
                    .iter()
                    .filter_map(|key| mine.get(key).copied())
                    .collect();
                let message_id = if still_due.is_empty() {
                    String::new()
                } else {
                    let todos: Vec<_> = still_due
                        .iter()
                        .map(|due| describe(due, &plan, &areas))
                        .collect();
                    let message = mail::compose(
                        &user,
                        &todos,
                        &self.public_url,
                        self.link,
                        user.mail_choice == MailChoice::Digest,
                    );
                    let message_id = format!("<{}@{}>", Uuid::now_v7(), self.host());
                    sqlx::query(
                        "INSERT INTO mail_outbox (message_id, user_id, recipient, subject, text_body,
                                                  html_body, created_at, next_attempt_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                    )
                    .bind(&message_id)
                    .bind(user.user_id)
                    .bind(&user.email)
                    .bind(&message.subject)
                    .bind(&message.text)
                    .bind(&message.html)
                    .bind(now)
                    .execute(&mut *transaction)
                    .await?;
                    run.written += 1;
                    message_id
                };
                sqlx::query("UPDATE reminders SET message_id = $2 WHERE reminder_key = ANY($1)")
                    .bind(&waiting)
                    .bind(&message_id)
                    .execute(&mut *transaction)
                    .await?;
            }
            transaction.commit().await?;
        }
        Ok(run)
    }

    /// Sends the outbox's mails that are due, oldest first. Each run first takes a lease on
    /// the mails it will send (so that an instance that lost its lock unawares cannot send
    /// them too); a mail whose account was disabled is given up. After a failure to reach or
    /// satisfy the server, the whole outbox waits out the pause; a mail whose recipient the
    /// server refuses for good is given up and the others go on.
    pub async fn send_due(&self) -> anyhow::Result<Run> {
        let Some(mailer) = &self.mailer else {
            return Ok(Run::default());
        };
        let now = self.now();
        sqlx::query(
            "UPDATE mail_outbox o SET given_up_at = $1, last_error = 'Kontot är avstängt.'
             FROM users u
             WHERE u.user_id = o.user_id AND u.disabled_at IS NOT NULL
               AND o.sent_at IS NULL AND o.given_up_at IS NULL",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        // Sent mails are kept a while for `insats notifications status`, then forgotten.
        sqlx::query("DELETE FROM mail_outbox WHERE sent_at < $1 OR given_up_at < $1")
            .bind(now - KEPT)
            .execute(&self.pool)
            .await?;
        let waiting: Vec<(String, String, String, String, String, i32)> = sqlx::query_as(
            "UPDATE mail_outbox SET next_attempt_at = $3
             WHERE message_id IN (
                 SELECT message_id FROM mail_outbox
                 WHERE sent_at IS NULL AND given_up_at IS NULL AND next_attempt_at <= $1
                 ORDER BY created_at, message_id LIMIT $2
                 FOR UPDATE SKIP LOCKED)
             RETURNING message_id, recipient, subject, text_body, html_body, attempts",
        )
        .bind(now)
        .bind(BATCH)
        .bind(now + LEASE)
        .fetch_all(&self.pool)
        .await?;
        // Oldest first (a Message-ID begins with its time-ordered UUID).
        let mut waiting = waiting;
        waiting.sort();
        let leased: Vec<String> = waiting.iter().map(|mail| mail.0.clone()).collect();
        let mut run = Run::default();
        for (message_id, recipient, subject, text, html, attempts) in waiting {
            let message = mail::build(mailer, &message_id, &recipient, &subject, text, html);
            let outcome = match message {
                Ok(message) => mailer
                    .transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|error| (refuses_recipient(&error), format!("{error:#}"))),
                // An address lettre cannot even write is as good as refused.
                Err(error) => Err((true, format!("{error:#}"))),
            };
            match outcome {
                Ok(()) => {
                    sqlx::query(
                        "UPDATE mail_outbox SET sent_at = $2, attempts = attempts + 1, last_error = NULL
                         WHERE message_id = $1",
                    )
                    .bind(&message_id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    run.sent += 1;
                }
                Err((true, error)) => {
                    run.failed += 1;
                    tracing::warn!(
                        message_id,
                        error,
                        "a reminder mail's recipient was refused; it is given up"
                    );
                    sqlx::query(
                        "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $2, given_up_at = $3
                         WHERE message_id = $1",
                    )
                    .bind(&message_id)
                    .bind(&error)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                }
                Err((false, error)) => {
                    run.failed += 1;
                    let pause = pause_after(attempts + 1);
                    tracing::warn!(message_id, error, retry_in = ?pause, "a reminder mail was not sent; the outbox waits");
                    let mut transaction = self.pool.begin().await?;
                    sqlx::query(
                        "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $2
                         WHERE message_id = $1",
                    )
                    .bind(&message_id)
                    .bind(&error)
                    .execute(&mut *transaction)
                    .await?;
                    // The whole outbox waits, the leased rest too: the server is not
                    // asked again before the pause is over.
                    sqlx::query(
                        "UPDATE mail_outbox SET next_attempt_at = $1
                         WHERE sent_at IS NULL AND given_up_at IS NULL
                           AND (next_attempt_at < $1 OR message_id = ANY($2))",
                    )
                    .bind(now + pause)
                    .bind(&leased)
                    .execute(&mut *transaction)
                    .await?;
                    transaction.commit().await?;
                    break;
                }
            }
        }
        Ok(run)
    }

    /// The host name in Message-IDs: Insats's public address's.
    fn host(&self) -> String {
        self.public_url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split(['/', ':']).next())
            .filter(|host| !host.is_empty())
            .unwrap_or("insats.invalid")
            .to_owned()
    }
}

/// The pause before the next try after `attempts` failed ones: a minute, doubling, at most
/// [`LONGEST_PAUSE`].
pub fn pause_after(attempts: i32) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 16) as u32;
    (Duration::from_secs(60) * 2u32.pow(doublings)).min(LONGEST_PAUSE)
}

/// The outbox's state.
pub async fn status(pool: &PgPool) -> anyhow::Result<Status> {
    let row: (
        i64,
        i64,
        i64,
        Option<OffsetDateTime>,
        Option<OffsetDateTime>,
    ) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE sent_at IS NULL AND given_up_at IS NULL),
                count(*) FILTER (WHERE sent_at IS NOT NULL),
                count(*) FILTER (WHERE given_up_at IS NOT NULL),
                min(created_at) FILTER (WHERE sent_at IS NULL AND given_up_at IS NULL),
                max(sent_at)
         FROM mail_outbox",
    )
    .fetch_one(pool)
    .await?;
    let last_error: Option<String> = sqlx::query_scalar(
        "SELECT last_error FROM mail_outbox WHERE last_error IS NOT NULL
         ORDER BY next_attempt_at DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(Status {
        waiting: row.0,
        sent: row.1,
        given_up: row.2,
        oldest_waiting: row.3,
        last_sent: row.4,
        last_error,
    })
}

/// Decides and sends reminders every `every` while Insats runs, on whichever instance
/// holds the lock.
pub async fn run_periodically(notifier: Notifier, every: Duration) {
    loop {
        match notifier.tick().await {
            Ok(Some(run)) if run != Run::default() => tracing::info!(
                decided = run.decided,
                written = run.written,
                sent = run.sent,
                failed = run.failed,
                "reminders"
            ),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "deciding or sending reminders failed")
            }
        }
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_mail_waits_longer_each_time_up_to_six_hours() {
        assert_eq!(pause_after(1), Duration::from_secs(60));
        assert_eq!(pause_after(2), Duration::from_secs(120));
        assert_eq!(pause_after(4), Duration::from_secs(480));
        assert_eq!(pause_after(40), LONGEST_PAUSE);
    }

    #[test]
    fn the_enhanced_status_code_is_read_only_where_an_answer_begins_with_one() {
        assert_eq!(enhanced_status("5.1.1 No such mailbox here"), Some((1, 1)));
        assert_eq!(enhanced_status("5.7.1 Relay access denied"), Some((7, 1)));
        assert_eq!(enhanced_status("5.1.10 Null MX"), Some((1, 10)));
        assert_eq!(enhanced_status("No such user here"), None);
        assert_eq!(enhanced_status("550 5.1.1"), None);
        assert_eq!(enhanced_status("2.0.0 OK"), None);
        assert_eq!(enhanced_status("5.1 half"), None);
        assert_eq!(enhanced_status(""), None);
    }
}
