//! Accounts: users with a role (and areas or processes), password logins, sessions kept
//! in PostgreSQL, API tokens for machine clients, and login rate limiting.
//!
//! Secrets are never stored as given: passwords as argon2id hashes, session ids and API
//! tokens as SHA-256 of the random value the client holds.

pub mod password;
pub mod rate_limit;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::app::{AppError, CommandContext, Done, Services, submission};
use crate::domain::DomainError;
use crate::domain::actor::{Actor, Role};
use crate::domain::error::{FieldError, Problems};
use crate::domain::values::{Name, Slug};
use crate::event_log::{ExpectedVersion, NewEvent};
pub use rate_limit::{Limit, Limiter, LoginLimiter};

/// How long sessions last: ended after `idle` without a request, and `lifetime` after
/// signing in however active (`INSATS_SESSION_IDLE_MINUTES`, `INSATS_SESSION_MAX_HOURS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub idle: Duration,
    pub lifetime: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(30 * 60),
            lifetime: Duration::from_secs(12 * 60 * 60),
        }
    }
}

/// What a session cookie stands for.
#[derive(Debug, Clone)]
pub enum SessionLookup {
    Active(Box<Session>),
    /// It ended by itself: the login page says why.
    Ended(SessionEnd),
    /// No such session (never was, logged out, or its account disabled).
    Unknown,
}

/// Why a session ended by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    Idle,
    Lifetime,
}

/// Why a password could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Busy(#[from] password::Busy),
}
/// How often a session's last-seen time is written (not on every request).
const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// What adding an account with an address already in use is told.
const EMAIL_TAKEN: &str = "Det finns redan ett konto med den e-postadressen.";

/// How a person wants reminders by e-mail: at once, one mail a day, or none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum MailChoice {
    Immediate,
    #[default]
    Digest,
    None,
}

impl MailChoice {
    pub const ALL: [MailChoice; 3] = [MailChoice::Immediate, MailChoice::Digest, MailChoice::None];

    /// The stored name (`immediate`, `digest`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            MailChoice::Immediate => "immediate",
            MailChoice::Digest => "digest",
            MailChoice::None => "none",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|choice| choice.as_str() == text)
    }
}

/// The stream recording account administration (never a secret).
pub const USERS_STREAM: &str = "users";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct User {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub areas: Vec<String>,
    pub processes: Vec<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub disabled_at: Option<OffsetDateTime>,
    /// How the person wants reminders by e-mail.
    #[serde(skip)]
    pub mail_choice: MailChoice,
}

impl User {
    pub fn role(&self) -> Role {
        self.role.parse().unwrap_or(Role::Revisor)
    }

    /// The actor this user is in commands and events.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user_id,
            name: self.name.clone(),
            role: self.role(),
            areas: self
                .areas
                .iter()
                .filter_map(|a| Slug::parse("area", a).ok())
                .collect(),
            processes: self
                .processes
                .iter()
                .filter_map(|p| Slug::parse("process", p).ok())
                .collect(),
        }
    }
}

/// A signed-in session: its user and its CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub id_hash: Vec<u8>,
}

/// An account to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: String,
    pub areas: Vec<String>,
    pub processes: Vec<String>,
    pub password: String,
}

/// The columns a [`User`] is read from.
pub const USER_COLUMNS: &str =
    "user_id, email, name, role, areas, processes, disabled_at, mail_choice";

/// A random secret for a client to hold, and its SHA-256 for the database.
fn new_secret(prefix: &str) -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let secret = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = Sha256::digest(secret.as_bytes()).to_vec();
    (secret, hash)
}

fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Accounts over the database, with the application services for their events.
#[derive(Clone)]
pub struct Accounts {
    pool: PgPool,
    services: Services,
    pub limiter: LoginLimiter,
    sessions: SessionLimits,
}

impl Accounts {
    pub fn new(pool: PgPool, services: Services) -> Self {
        Self {
            pool,
            services,
            limiter: LoginLimiter::default(),
            sessions: SessionLimits::default(),
        }
    }

    /// The same accounts with other session limits.
    pub fn with_session_limits(mut self, sessions: SessionLimits) -> Self {
        self.sessions = sessions;
        self
    }

    /// Creates an account (the coordinator's task), checking every field.
    pub async fn add_user(&self, ctx: &CommandContext, new: NewUser) -> Result<User, AppError> {
        crate::access::authorize(&ctx.actor, &crate::access::Action::Administer)
            .map_err(|refusal| AppError::Forbidden(refusal.0))?;
        let email = new.email.trim().to_lowercase();
        let mut problems = Problems::new();
        if !(3..=200).contains(&email.len())
            || !email.contains('@')
            || email.contains(char::is_whitespace)
        {
            problems.push(FieldError::new("email", "Skriv en giltig e-postadress."));
        }
        let name = problems.check(Name::parse("name", &new.name));
        let role: Option<Role> = problems.check(
            new.role
                .parse()
                .map_err(|_| FieldError::new("role", "Välj en roll: omradesteam, processagare, integrationsrad, integrationsberedning, samordnare eller revisor.")),
        );
        if let Err(message) = password::check_strength(&new.password) {
            problems.push(FieldError::new("password", message));
        }
        let areas_known = self.services.areas().await?;
        let plan = self.services.plan().await?;
        for area in &new.areas {
            if areas_known.get(area).is_none() {
                problems.push(FieldError::new(
                    "areas",
                    format!("Området {area} finns inte."),
                ));
            }
        }
        for process in &new.processes {
            if plan
                .node(crate::domain::plan::NodeKind::Process, process)
                .is_none()
            {
                problems.push(FieldError::new(
                    "processes",
                    format!("Processen {process} finns inte i planen."),
                ));
            }
        }
        match role {
            Some(Role::Omradesteam) if new.areas.is_empty() => problems.push(FieldError::new(
                "areas",
                "Ett områdesteam behöver minst ett område.",
            )),
            Some(Role::Processagare) if new.processes.is_empty() => problems.push(FieldError::new(
                "processes",
                "En processägare behöver minst en process.",
            )),
            _ => {}
        }
        problems.finish()?;
        let role = role.expect("checked");
        let name = name.expect("checked");
        if let Some(done) = submission::earlier(&self.pool, ctx).await? {
            return self.added(done.id).await;
        }
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)")
                .bind(&email)
                .fetch_one(&self.pool)
                .await?;
        if exists {
            // The first arrival of this very form may have added it a moment ago.
            if let Some(done) = submission::earlier(&self.pool, ctx).await? {
                return self.added(done.id).await;
            }
            return Err(DomainError::conflict(EMAIL_TAKEN).into());
        }
        let hash = password::hash(new.password).await?;
        let user_id = ctx.new_id("user");
        let mut transaction = self.pool.begin().await?;
        if let submission::Claim::Answered(done) = submission::claim(&mut transaction, ctx).await? {
            return self.added(done.id).await;
        }
        sqlx::query(
            "INSERT INTO users (user_id, email, name, role, areas, processes, password_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(user_id)
        .bind(&email)
        .bind(name.as_str())
        .bind(role.as_str())
        .bind(&new.areas)
        .bind(&new.processes)
        .bind(&hash)
        .execute(&mut *transaction)
        .await
        .map_err(|error| match &error {
            // Two coordinators adding the same address at the same moment.
            sqlx::Error::Database(database) if database.is_unique_violation() => {
                AppError::from(DomainError::conflict(EMAIL_TAKEN))
            }
            _ => AppError::from(error),
        })?;
        self.record_in(
            &mut transaction,
            ctx,
            user_id,
            "UserAdded",
            json!({"user_id": user_id, "name": name.as_str(), "role": role, "areas": new.areas, "processes": new.processes}),
        )
        .await?;
        transaction.commit().await?;
        self.added(user_id).await
    }

    /// The account just added (or added by an earlier arrival of the same form).
    async fn added(&self, user_id: Uuid) -> Result<User, AppError> {
        self.user_by_id(user_id)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the new user vanished")))
    }

    pub async fn list(&self) -> sqlx::Result<Vec<User>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY role, email"
        )))
        .fetch_all(&self.pool)
        .await
    }

    pub async fn user_by_id(&self, user_id: Uuid) -> sqlx::Result<Option<User>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE user_id = $1"
        )))
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await
    }

    pub async fn user_by_email(&self, email: &str) -> sqlx::Result<Option<User>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE email = $1"
        )))
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await
    }

    /// Disables an account: its sessions end and its tokens stop working.
    pub async fn disable(&self, ctx: &CommandContext, email: &str) -> Result<User, AppError> {
        crate::access::authorize(&ctx.actor, &crate::access::Action::Administer)
            .map_err(|refusal| AppError::Forbidden(refusal.0))?;
        let user = self
            .user_by_email(email)
            .await?
            .ok_or_else(|| DomainError::not_found("Kontot finns inte."))?;
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "UPDATE users SET disabled_at = now() WHERE user_id = $1 AND disabled_at IS NULL",
        )
        .bind(user.user_id)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.user_id)
            .execute(&mut *transaction)
            .await?;
        let event = NewEvent::new("UserDisabled", json!({"user_id": user.user_id}))
            .with_metadata(ctx_metadata(ctx))
            .with_tags([format!("user:{}", user.user_id)]);
        self.services
            .store()
            .append_in(
                &mut transaction,
                USERS_STREAM,
                ExpectedVersion::Any,
                &[event],
            )
            .await?;
        transaction.commit().await?;
        Ok(user)
    }

    /// A person chooses how reminders reach them by e-mail: at once (`immediate`), one mail
    /// a day (`digest`) or not at all (`none`). Recorded in the log too.
    pub async fn set_mail_choice(
        &self,
        ctx: &CommandContext,
        choice: &str,
    ) -> Result<Done, AppError> {
        let Some(choice) = MailChoice::parse(choice) else {
            return Err(DomainError::invalid(
                "mail_choice",
                "Välj om påminnelser ska komma direkt, en gång om dagen eller inte alls.",
            )
            .into());
        };
        let user_id = ctx.actor.user_id;
        let mut transaction = self.pool.begin().await?;
        if let submission::Claim::Answered(done) = submission::claim(&mut transaction, ctx).await? {
            return Ok(done);
        }
        sqlx::query("UPDATE users SET mail_choice = $2 WHERE user_id = $1")
            .bind(user_id)
            .bind(choice)
            .execute(&mut *transaction)
            .await?;
        let done = self
            .record_in(
                &mut transaction,
                ctx,
                user_id,
                "MailChoiceSet",
                json!({"user_id": user_id, "mail_choice": choice.as_str()}),
            )
            .await?;
        transaction.commit().await?;
        Ok(done)
    }

    /// Records a change to an account as an event on the `users` stream, in the change's
    /// transaction, and completes the form's submission with it.
    async fn record_in(
        &self,
        transaction: &mut sqlx::PgConnection,
        ctx: &CommandContext,
        user_id: Uuid,
        event_type: &str,
        data: serde_json::Value,
    ) -> Result<Done, AppError> {
        let event = NewEvent::new(event_type, data)
            .with_metadata(ctx_metadata(ctx))
            .with_tags([format!("user:{user_id}")]);
        let result = self
            .services
            .store()
            .append_in(
                &mut *transaction,
                USERS_STREAM,
                ExpectedVersion::Any,
                &[event],
            )
            .await?;
        let done = Done {
            id: user_id,
            position: result.last_position,
            cursor: result.cursor,
        };
        submission::complete(&mut *transaction, ctx, &done).await?;
        Ok(done)
    }

    /// The user, if `password` is theirs and the account is enabled. Takes as long for an
    /// unknown account as for a wrong password.
    pub async fn check_password(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Option<User>, CheckError> {
        let row: Option<(Uuid, String, Option<OffsetDateTime>)> = sqlx::query_as(
            "SELECT user_id, password_hash, disabled_at FROM users WHERE email = $1",
        )
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        let (user_id, stored, disabled) = match row {
            Some(row) => row,
            None => {
                password::verify(password.to_owned(), password::decoy().to_owned()).await?;
                return Ok(None);
            }
        };
        if !password::verify(password.to_owned(), stored).await? || disabled.is_some() {
            return Ok(None);
        }
        Ok(self.user_by_id(user_id).await?)
    }

    /// Starts a session: a new id (so an id known before login is worthless after it) and
    /// a new CSRF token. Returns the cookie value.
    pub async fn start_session(&self, user_id: Uuid) -> sqlx::Result<(String, String)> {
        let (id, id_hash) = new_secret("");
        let (csrf, _) = new_secret("");
        sqlx::query("INSERT INTO sessions (id_hash, user_id, csrf_token) VALUES ($1, $2, $3)")
            .bind(&id_hash)
            .bind(user_id)
            .bind(&csrf)
            .execute(&self.pool)
            .await?;
        Ok((id, csrf))
    }

    /// The session behind a cookie value: active when it exists, has neither been idle
    /// too long nor lived too long, and its user is enabled.
    pub async fn session(&self, cookie: &str) -> sqlx::Result<SessionLookup> {
        #[derive(sqlx::FromRow)]
        struct Row {
            csrf_token: String,
            created_at: OffsetDateTime,
            last_seen_at: OffsetDateTime,
            #[sqlx(flatten)]
            user: User,
        }
        let id_hash = digest(cookie);
        // One round trip per request: the session and its user together.
        let row: Option<Row> = sqlx::query_as(
            "SELECT s.csrf_token, s.created_at, s.last_seen_at, u.user_id, u.email, u.name, u.role,
                    u.areas, u.processes, u.disabled_at, u.mail_choice
             FROM sessions s JOIN users u ON u.user_id = s.user_id
             WHERE s.id_hash = $1",
        )
        .bind(&id_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(SessionLookup::Unknown);
        };
        let now = OffsetDateTime::now_utc();
        let idle = now - row.last_seen_at;
        let ended = if now - row.created_at > self.sessions.lifetime {
            Some(SessionEnd::Lifetime)
        } else if idle > self.sessions.idle {
            Some(SessionEnd::Idle)
        } else {
            None
        };
        if let Some(end) = ended {
            sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(&id_hash)
                .execute(&self.pool)
                .await?;
            return Ok(SessionLookup::Ended(end));
        }
        if row.user.disabled_at.is_some() {
            return Ok(SessionLookup::Unknown);
        }
        if idle > TOUCH_EVERY.min(self.sessions.idle / 4) {
            sqlx::query("UPDATE sessions SET last_seen_at = now() WHERE id_hash = $1")
                .bind(&id_hash)
                .execute(&self.pool)
                .await?;
        }
        Ok(SessionLookup::Active(Box::new(Session {
            user: row.user,
            csrf_token: row.csrf_token,
            id_hash,
        })))
    }

    /// Records that `user` looks at `page` now, and returns when they looked at it before
    /// (none on a first visit): what arrived since is new to them.
    pub async fn visit(
        &self,
        user: Uuid,
        page: &str,
        now: OffsetDateTime,
    ) -> sqlx::Result<Option<OffsetDateTime>> {
        sqlx::query_scalar(
            "WITH before AS (SELECT visited_at FROM page_visits WHERE user_id = $1 AND page = $2),
                  now AS (INSERT INTO page_visits (user_id, page, visited_at) VALUES ($1, $2, $3)
                          ON CONFLICT (user_id, page) DO UPDATE SET visited_at = excluded.visited_at)
             SELECT visited_at FROM before",
        )
        .bind(user)
        .bind(page)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
    }

    pub async fn end_session(&self, id_hash: &[u8]) -> sqlx::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Creates an API token for a user; the token itself is returned once and never again.
    pub async fn create_token(
        &self,
        ctx: &CommandContext,
        email: &str,
        label: &str,
    ) -> Result<(Uuid, String), AppError> {
        crate::access::authorize(&ctx.actor, &crate::access::Action::Administer)
            .map_err(|refusal| AppError::Forbidden(refusal.0))?;
        let user = self
            .user_by_email(email)
            .await?
            .filter(|user| user.disabled_at.is_none())
            .ok_or_else(|| DomainError::not_found("Kontot finns inte eller är avstängt."))?;
        let (token, token_hash) = new_secret("insats_");
        let token_id = Uuid::now_v7();
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO api_tokens (token_id, user_id, token_hash, label) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_id)
        .bind(user.user_id)
        .bind(&token_hash)
        .bind(label)
        .execute(&mut *transaction)
        .await?;
        let event = NewEvent::new(
            "ApiTokenCreated",
            json!({"token_id": token_id, "user_id": user.user_id, "label": label}),
        )
        .with_metadata(ctx_metadata(ctx))
        .with_tags([format!("user:{}", user.user_id)]);
        self.services
            .store()
            .append_in(
                &mut transaction,
                USERS_STREAM,
                ExpectedVersion::Any,
                &[event],
            )
            .await?;
        transaction.commit().await?;
        Ok((token_id, token))
    }

    pub async fn revoke_token(&self, ctx: &CommandContext, token_id: Uuid) -> Result<(), AppError> {
        crate::access::authorize(&ctx.actor, &crate::access::Action::Administer)
            .map_err(|refusal| AppError::Forbidden(refusal.0))?;
        let mut transaction = self.pool.begin().await?;
        let revoked = sqlx::query(
            "UPDATE api_tokens SET revoked_at = now() WHERE token_id = $1 AND revoked_at IS NULL",
        )
        .bind(token_id)
        .execute(&mut *transaction)
        .await?;
        if revoked.rows_affected() == 0 {
            return Err(
                DomainError::not_found("Nyckeln finns inte eller är redan återkallad.").into(),
            );
        }
        let event = NewEvent::new("ApiTokenRevoked", json!({"token_id": token_id}))
            .with_metadata(ctx_metadata(ctx))
            .with_tags([format!("token:{token_id}")]);
        self.services
            .store()
            .append_in(
                &mut transaction,
                USERS_STREAM,
                ExpectedVersion::Any,
                &[event],
            )
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// The user behind a bearer token, if the token is valid and the user enabled.
    ///
    /// The token's `last_used_at` is written at most once a minute, like a session's: a
    /// write on every request made each API call commit (and wait for the disk) twice, and
    /// made concurrent calls with one token queue on that token's row.
    pub async fn token_user(&self, token: &str) -> sqlx::Result<Option<User>> {
        let user_id: Option<Uuid> = sqlx::query_scalar(
            "WITH token AS (
                 SELECT token_id, user_id, last_used_at FROM api_tokens
                 WHERE token_hash = $1 AND revoked_at IS NULL
             ), touched AS (
                 UPDATE api_tokens t SET last_used_at = now() FROM token
                 WHERE t.token_id = token.token_id
                   AND (token.last_used_at IS NULL OR token.last_used_at < now() - interval '1 minute')
             )
             SELECT user_id FROM token",
        )
        .bind(digest(token))
        .fetch_optional(&self.pool)
        .await?;
        let Some(user_id) = user_id else {
            return Ok(None);
        };
        Ok(self
            .user_by_id(user_id)
            .await?
            .filter(|user| user.disabled_at.is_none()))
    }

    /// Creates the first coordinator account when there is none (set-up and demo data).
    pub async fn ensure_user(&self, id: Uuid, new: NewUser) -> Result<bool, AppError> {
        if self.user_by_email(&new.email).await?.is_some() {
            return Ok(false);
        }
        let hash = password::hash(new.password).await?;
        sqlx::query(
            "INSERT INTO users (user_id, email, name, role, areas, processes, password_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(new.email.trim().to_lowercase())
        .bind(&new.name)
        .bind(&new.role)
        .bind(&new.areas)
        .bind(&new.processes)
        .bind(&hash)
        .execute(&self.pool)
        .await?;
        Ok(true)
    }
}

fn ctx_metadata(ctx: &CommandContext) -> serde_json::Value {
    json!({
        "actor": ctx.actor.user_id,
        "actor_name": ctx.actor.name,
        "role": ctx.actor.role,
        "correlation_id": ctx.correlation_id,
    })
}

/// A random token for forms (the login form's double-submit token).
pub fn random_token() -> String {
    new_secret("").0
}
