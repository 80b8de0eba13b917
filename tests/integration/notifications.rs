//! Reminders: the "Att göra" list and the mails, against a real SMTP server
//! (`tests/mail/smtp_sink.py`, Python's aiosmtpd) that writes each mail it accepts to a
//! folder. Time is a clock the tests move, never a sleep.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use time::OffsetDateTime;

use crate::helpers::{TestApp, insats, key_file};
use crate::visitor::Visitor;
use insats::clock::Clock;
use insats::notifications::{MailSettings, Mailer, Notifier};

/// A Python that has aiosmtpd: the machine's, or else one the tests make for themselves
/// under `target/` (a virtual environment with aiosmtpd from PyPI), so that `cargo test`
/// needs nothing installed by hand.
fn python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let has_aiosmtpd = |python: &Path| {
                Command::new(python)
                    .args(["-c", "import aiosmtpd"])
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|status| status.success())
            };
            let system = PathBuf::from("python3");
            if has_aiosmtpd(&system) {
                return system;
            }
            let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/insats-smtp-python");
            let python = venv.join("bin/python");
            if !has_aiosmtpd(&python) {
                let made = Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(&venv)
                    .status()
                    .is_ok_and(|status| status.success())
                    && Command::new(&python)
                        .args(["-m", "pip", "install", "--quiet", "aiosmtpd>=1.4,<2"])
                        .status()
                        .is_ok_and(|status| status.success());
                assert!(
                    made && has_aiosmtpd(&python),
                    "the mail tests need Python 3 with aiosmtpd (pip install aiosmtpd)"
                );
            }
            python
        })
        .clone()
}

/// The SMTP server: a Python process on a port, writing mails to a folder.
struct SmtpServer {
    port: u16,
    folder: PathBuf,
    refused: Vec<String>,
    refused_senders: Vec<String>,
    process: Option<Child>,
}

impl SmtpServer {
    /// A port with nothing on it yet, and an empty folder.
    fn reserved() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let folder = std::env::temp_dir().join(format!("insats-mails-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&folder).unwrap();
        Self {
            port,
            folder,
            refused: Vec::new(),
            refused_senders: Vec::new(),
            process: None,
        }
    }

    fn started() -> Self {
        let mut server = Self::reserved();
        server.start();
        server
    }

    /// A server that refuses these recipients (550), as one does an address it does not know.
    fn refusing(addresses: &[&str]) -> Self {
        let mut server = Self::reserved();
        server.refused = addresses.iter().map(|a| a.to_string()).collect();
        server.start();
        server
    }

    /// A server that refuses this sender (550 5.7.1), as one does a sender it may not send
    /// for.
    fn refusing_sender(address: &str) -> Self {
        let mut server = Self::reserved();
        server.refused_senders = vec![address.to_owned()];
        server.start();
        server
    }

    fn start(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mail/smtp_sink.py");
        let process = Command::new(python())
            .arg(script)
            .args(["--port", &self.port.to_string()])
            .arg("--dir")
            .arg(&self.folder)
            .args(
                self.refused
                    .iter()
                    .flat_map(|address| ["--refuse", address.as_str()]),
            )
            .args(
                self.refused_senders
                    .iter()
                    .flat_map(|address| ["--refuse-sender", address.as_str()]),
            )
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 runs the SMTP server (pip install aiosmtpd)");
        self.process = Some(process);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the SMTP server did not start (is aiosmtpd installed? pip install aiosmtpd)");
    }

    fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The mails it accepted, in the order it accepted them.
    fn mails(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.folder)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|path| serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// A notifier on the test app's database, on `clock`, sending through `server`.
fn notifier(app: &TestApp, clock: &Clock, server: &SmtpServer) -> Notifier {
    let services = insats(app).with_clock(clock.clone());
    let queries = insats::queries::Queries::new(app.db.pool.clone(), services);
    let mailer = Mailer::new(&MailSettings {
        url: server.url(),
        from: "Insats <insats@vaxjo.se>".into(),
    })
    .unwrap();
    Notifier::new(
        app.db.pool.clone(),
        queries,
        Some(mailer),
        "https://insats.vaxjo.se",
        insats::web::pages::todo::link,
    )
}

/// `insats notifications ARGS` on the test app's database, with `env` besides: its exit
/// code and what it printed.
fn notifications_command(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_insats"))
        .arg("notifications")
        .args(args)
        .env("DATABASE_URL", app.db.url())
        .env("INSATS_MASTER_KEY_FILE", key_file())
        .env_remove("INSATS_SMTP_URL")
        .env_remove("INSATS_MAIL_FROM")
        .envs(env.iter().copied())
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// 08:00 in Växjö, `days` from now: after the digest hour.
fn morning(days: i64) -> OffsetDateTime {
    let day = insats::clock::local(OffsetDateTime::now_utc()).date() + time::Duration::days(days);
    insats::clock::start_of_day(day) + time::Duration::hours(8)
}

async fn choose_mail(app: &TestApp, user: &insats::accounts::User, choice: &str) {
    app.accounts
        .set_mail_choice(&insats::app::CommandContext::new(user.actor()), choice)
        .await
        .unwrap();
}

/// The reminder rules the tests of the rules form send: a week's notice, a week's wait,
/// thirty silent days.
const RULES: [(&str, &str); 3] = [
    ("report_days_before", "7"),
    ("item_waiting_days", "7"),
    ("silent_days", "30"),
];

#[tokio::test]
async fn reminders_reach_the_people_they_concern_once_in_swedish_and_without_free_text() {
    let app = TestApp::spawn().await;
    let services = insats(&app);
    let plan = services.plan().await.unwrap();
    let process = plan.process_of("matchningsmetodik").unwrap().to_owned();
    let (owner, owner_token) = app.user("processagare", &[], &[&process]).await;
    let (council, council_token) = app.user("integrationsrad", &[], &[]).await;
    let (team, team_token) = app.user("omradesteam", &["araby"], &[]).await;
    choose_mail(&app, &owner, "immediate").await;
    choose_mail(&app, &council, "digest").await;
    choose_mail(&app, &team, "none").await;
    let (status, body) = app
        .post_as(
            Some(&team_token),
            "/api/v1/items",
            json!({"from": "omradesteam:araby", "to": "integrationsrad", "kind": "fraga", "title": "HEMLIG lokalfråga", "text": "HEMLIG text om en familj"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    crate::helpers::caught_up(&app.db.pool).await;

    // Four months on, at eight in the morning: the period that ended has no status reports
    // and no reviews, the item has waited, the strategies have been silent.
    let clock = Clock::fixed(morning(130));
    let server = SmtpServer::started();
    let notifier = notifier(&app, &clock, &server);
    let run = notifier
        .tick()
        .await
        .unwrap()
        .expect("the only instance leads");
    assert!(run.decided > 0);
    // The owner and the council member, and the coordinator (the test app's own account,
    // a daily digest by default): silent strategies are the coordinator's too.
    assert_eq!((run.written, run.sent, run.failed), (3, 3, 0), "{run:?}");
    let mails = server.mails();
    assert_eq!(mails.len(), 3);
    let to = |mail: &Value| mail["to"][0].as_str().unwrap().to_owned();
    let coordinator: String =
        sqlx::query_scalar("SELECT email FROM users WHERE role = 'samordnare'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    let coordinator_mail = mails
        .iter()
        .find(|m| to(m) == coordinator)
        .expect("the coordinator's");
    assert!(
        coordinator_mail["text"]
            .as_str()
            .unwrap()
            .contains("har inte haft någon insats"),
        "{coordinator_mail}"
    );
    let owner_mail = mails
        .iter()
        .find(|m| to(m) == owner.email)
        .expect("the owner's");
    let council_mail = mails
        .iter()
        .find(|m| to(m) == council.email)
        .expect("the council's");
    assert!(
        mails.iter().all(|m| to(m) != team.email),
        "no mail for who chose none"
    );
    assert_eq!(owner_mail["from"], "insats@vaxjo.se");
    let subject = owner_mail["subject"].as_str().unwrap();
    assert!(subject.starts_with("Att göra i Insats"), "{subject}");
    let text = owner_mail["text"].as_str().unwrap();
    assert!(text.contains("Hej "), "{text}");
    assert!(text.contains("Statusrapporten för"), "{text}");
    assert!(text.contains("”Matchningsmetodik”"), "{text}");
    assert!(
        text.contains("https://insats.vaxjo.se/processagare"),
        "{text}"
    );
    assert!(text.contains("https://insats.vaxjo.se/att-gora"), "{text}");
    let html = owner_mail["html"].as_str().unwrap();
    assert!(
        html.contains("<a href=\"https://insats.vaxjo.se/processagare\""),
        "{html}"
    );
    let council_text = council_mail["text"].as_str().unwrap();
    assert!(council_mail["subject"].as_str().unwrap().contains("i dag"));
    assert!(
        council_text.contains("En fråga till Integrationsrådet har väntat på svar"),
        "{council_text}"
    );
    assert!(
        council_text.contains("Rådet har inte granskat tidslinjen för Araby"),
        "{council_text}"
    );
    for mail in &mails {
        let all = mail.to_string();
        assert!(!all.contains("HEMLIG"), "no free text in mail: {all}");
        assert!(
            mail["message_id"]
                .as_str()
                .unwrap()
                .ends_with("@insats.vaxjo.se>")
        );
    }

    // Answering the skrivelse takes it off the council's list.
    let queries =
        insats::queries::Queries::new(app.db.pool.clone(), insats(&app).with_clock(clock.clone()));
    let waiting = |todos: &[insats::queries::todo::Todo]| {
        todos
            .iter()
            .filter(|todo| todo.due.rule == insats::domain::reminders::Rule::ItemWaiting)
            .count()
    };
    assert_eq!(waiting(&queries.todo(&council.actor()).await.unwrap()), 1);
    let item_id = body["id"].as_str().unwrap();
    let (status, answered) = app
        .post_as(
            Some(&council_token),
            &format!("/api/v1/items/{item_id}/answer"),
            json!({"text": "Vi tar upp det på nästa möte."}),
        )
        .await;
    assert_eq!(status, 200, "{answered}");
    crate::helpers::caught_up(&app.db.pool).await;
    assert_eq!(waiting(&queries.todo(&council.actor()).await.unwrap()), 0);

    // Nothing new: nothing more is sent, however often the notifier runs.
    clock.advance(time::Duration::hours(3));
    let again = notifier.tick().await.unwrap().unwrap();
    assert_eq!((again.decided, again.written, again.sent), (0, 0, 0));
    assert_eq!(server.mails().len(), 3);

    // A case assigned to the area team member reaches them at once once they want mail.
    choose_mail(&app, &team, "immediate").await;
    let (status, case) = app
        .post_as(
            Some(&team_token),
            "/api/v1/areas/araby/cases",
            json!({"title": "HEMLIGT ärende", "description": "HEMLIG beskrivning", "strategies": ["matchningsmetodik"]}),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    let case_id = case["id"].as_str().unwrap();
    let (status, body) = app
        .post_as(
            Some(&team_token),
            &format!("/api/v1/cases/{case_id}/assign"),
            json!({"kind": "team_member", "name": team.name, "user_id": team.user_id}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    crate::helpers::caught_up(&app.db.pool).await;
    notifier.tick().await.unwrap().unwrap();
    let mails = server.mails();
    let team_mail = mails
        .iter()
        .find(|m| to(m) == team.email)
        .expect("the team member's");
    let team_text = team_mail["text"].as_str().unwrap();
    assert!(
        team_text.contains("Ett ärende i Araby är tilldelat dig"),
        "{team_text}"
    );
    assert!(
        team_text.contains(&format!("https://insats.vaxjo.se/arenden/{case_id}")),
        "{team_text}"
    );
    assert!(!team_mail.to_string().contains("HEMLIG"));

    // In the app (on today's clock): the team member's list has the case, with the count
    // in the header; closing the case takes it off the list.
    let (mut visitor, _) = Visitor::signed_in(&app, &team.email).await;
    let _ = owner_token;
    let page = visitor.get("/att-gora").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.count("ol.todo li"), 1, "{}", page.body);
    assert!(
        page.text("ol.todo")
            .contains("Ett ärende i Araby är tilldelat dig")
    );
    assert_eq!(
        page.attr("ol.todo li a", "href").unwrap(),
        format!("/arenden/{case_id}")
    );
    assert!(!page.body.contains("HEMLIG"));
    assert_eq!(page.text("nav .count"), "1");
    assert!(page.text("nav a[href='/att-gora']").contains("1 sak"));
    let (status, body) = app
        .post_as(
            Some(&team_token),
            &format!("/api/v1/cases/{case_id}/close"),
            json!({"resolution": "Klart."}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    crate::helpers::caught_up(&app.db.pool).await;
    let page = visitor.get("/att-gora").await;
    assert_eq!(page.count("ol.todo li"), 0, "{}", page.body);
    assert!(page.text("main").contains("Du har inget som väntar"));
    assert_eq!(page.count("nav .count"), 0);

    // Each person chooses their mail; a choice that is none of the three is refused.
    visitor.csrf = page.attr("input[name=csrf]", "value").unwrap();
    let saved = visitor
        .submit("/att-gora/epost", &[("mail_choice", "none")])
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let choice: String = sqlx::query_scalar("SELECT mail_choice FROM users WHERE user_id = $1")
        .bind(team.user_id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(choice, "none");
    let refused = visitor
        .submit("/att-gora/epost", &[("mail_choice", "ofta")])
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .text(".error-summary")
            .contains("Välj om påminnelser")
    );
    // Only the coordinator tunes the rules; bad numbers are refused with the values kept.
    let forbidden = visitor.submit("/att-gora/regler", &RULES).await;
    assert_eq!(forbidden.status, 403);
    let coordinator: String =
        sqlx::query_scalar("SELECT email FROM users WHERE role = 'samordnare'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    let (mut coordinator, _) = Visitor::signed_in(&app, &coordinator).await;
    let page = coordinator.get("/att-gora").await;
    coordinator.csrf = page.attr("input[name=csrf]", "value").unwrap();
    assert_eq!(page.attr("#silent_days", "value").unwrap(), "90");
    let refused = coordinator
        .submit(
            "/att-gora/regler",
            &[
                ("report_days_before", "0"),
                ("item_waiting_days", "7"),
                ("silent_days", "tre"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.count(".error-summary li"), 2, "{}", refused.body);
    assert_eq!(
        refused.attr("#silent_days", "value").unwrap(),
        "tre",
        "the values given are kept"
    );
    let saved = coordinator.submit("/att-gora/regler", &RULES).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let follow_up = app.stream("follow-up").await;
    assert_eq!(follow_up.last().unwrap().event_type, "ReminderRulesSet");
    assert_eq!(follow_up.last().unwrap().data["silent_days"], 30);
    let page = coordinator.get("/att-gora").await;
    assert_eq!(page.attr("#silent_days", "value").unwrap(), "30");
    // The same rules again are said beside the form.
    let again = coordinator.submit("/att-gora/regler", &RULES).await;
    assert_eq!(again.status, 422);
    assert!(
        again.text(".error-summary").contains("redan de reglerna"),
        "{}",
        again.body
    );
}

#[tokio::test]
async fn a_mail_server_that_is_down_loses_nothing_and_one_instance_of_two_sends() {
    let app = TestApp::spawn().await;
    let services = insats(&app);
    let plan = services.plan().await.unwrap();
    let process = plan.process_of("matchningsmetodik").unwrap().to_owned();
    let (owner, _) = app.user("processagare", &[], &[&process]).await;
    choose_mail(&app, &owner, "immediate").await;
    // The test app's own account (the coordinator) wants no mail here.
    sqlx::query("UPDATE users SET mail_choice = 'none' WHERE role = 'samordnare'")
        .execute(&app.db.pool)
        .await
        .unwrap();
    crate::helpers::caught_up(&app.db.pool).await;

    let clock = Clock::fixed(morning(130));
    let mut server = SmtpServer::reserved();
    let notifier = notifier(&app, &clock, &server);
    // Down: the mail is decided and waits in the outbox.
    let run = notifier.tick().await.unwrap().unwrap();
    assert_eq!((run.written, run.sent, run.failed), (1, 0, 1), "{run:?}");
    let status = insats::notifications::status(&app.db.pool).await.unwrap();
    assert_eq!((status.waiting, status.sent), (1, 0));
    assert!(status.last_error.is_some());
    // Not tried again before its pause is over.
    let run = notifier.tick().await.unwrap().unwrap();
    assert_eq!((run.sent, run.failed), (0, 0));

    // Up again, a minute later: sent once.
    server.start();
    clock.advance(time::Duration::minutes(2));
    let run = notifier.tick().await.unwrap().unwrap();
    assert_eq!((run.written, run.sent), (0, 1), "{run:?}");
    assert_eq!(notifier.tick().await.unwrap().unwrap().sent, 0);
    assert_eq!(server.mails().len(), 1);
    let first = server.mails()[0]["message_id"].as_str().unwrap().to_owned();

    // Two instances at once: one leads, the other does nothing, and each mail goes once.
    let (council, _) = app.user("integrationsrad", &[], &[]).await;
    choose_mail(&app, &council, "immediate").await;
    let other = self::notifier(&app, &clock, &server);
    let (a, b) = (notifier.clone(), other.clone());
    let (a, b) = tokio::join!(
        tokio::spawn(async move { a.tick().await.unwrap() }),
        tokio::spawn(async move { b.tick().await.unwrap() }),
    );
    let sent: u64 = [a.unwrap(), b.unwrap()]
        .into_iter()
        .flatten()
        .map(|run| run.sent)
        .sum();
    assert_eq!(sent, 1);
    assert_eq!(
        (
            notifier.tick().await.unwrap().unwrap().sent,
            other.tick().await.unwrap().unwrap().sent
        ),
        (0, 0)
    );
    assert_eq!(server.mails().len(), 2);

    // A crash between the server's answer and marking the mail sent: it goes once more,
    // with the same Message-ID, so mail clients fold the two.
    sqlx::query("UPDATE mail_outbox SET sent_at = NULL WHERE message_id = $1")
        .bind(&first)
        .execute(&app.db.pool)
        .await
        .unwrap();
    // Its lease runs out first.
    assert_eq!(notifier.tick().await.unwrap().unwrap().sent, 0);
    clock.advance(time::Duration::minutes(11));
    assert_eq!(notifier.tick().await.unwrap().unwrap().sent, 1);
    let mails = server.mails();
    assert_eq!(mails.len(), 3);
    assert_eq!(mails[2]["message_id"], first.as_str());
    let status = insats::notifications::status(&app.db.pool).await.unwrap();
    assert_eq!((status.waiting, status.sent, status.given_up), (0, 2, 0));

    // The operator's view: without INSATS_SMTP_URL mail is off; with it, on, and the outbox.
    let (code, said) = notifications_command(&app, &["status"], &[]);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("Mail is off"), "{said}");
    assert!(
        said.contains("Outbox: 0 waiting, 2 sent, 0 given up."),
        "{said}"
    );
    let url = server.url();
    let mail = [
        ("INSATS_SMTP_URL", url.as_str()),
        ("INSATS_MAIL_FROM", "Insats <insats@vaxjo.se>"),
    ];
    let (code, said) = notifications_command(&app, &["status"], &mail);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("Mail is on"), "{said}");
    let (code, said) = notifications_command(&app, &["send"], &[]);
    assert_eq!(code, 1, "nothing is sent with mail off: {said}");
    // INSATS_SMTP_URL without a sender is refused.
    let (code, _) = notifications_command(&app, &["status"], &mail[..1]);
    assert_ne!(code, 0);
}

/// A server that refuses Insats's sender refuses every mail with 550, as it would an unknown
/// recipient, but says why (5.7.1): the mails wait and go once the sender is put right;
/// none is given up as if its recipient did not exist.
#[tokio::test]
async fn a_refused_sender_keeps_the_mails_waiting_instead_of_giving_them_up() {
    let app = TestApp::spawn().await;
    let (council, _) = app.user("integrationsrad", &[], &[]).await;
    choose_mail(&app, &council, "immediate").await;
    sqlx::query("UPDATE users SET mail_choice = 'none' WHERE role = 'samordnare'")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let (_, team_token) = app.user("omradesteam", &["araby"], &[]).await;
    let (status, body) = app
        .post_as(
            Some(&team_token),
            "/api/v1/items",
            json!({"from": "omradesteam:araby", "to": "integrationsrad", "kind": "fraga", "title": "Lokaler", "text": "?"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    crate::helpers::caught_up(&app.db.pool).await;

    let clock = Clock::fixed(morning(130));
    let mut server = SmtpServer::refusing_sender("insats@vaxjo.se");
    let notifier = notifier(&app, &clock, &server);
    let run = notifier.tick().await.unwrap().unwrap();
    assert_eq!((run.sent, run.failed), (0, 1), "{run:?}");
    let waiting: Vec<(Option<OffsetDateTime>, Option<String>)> =
        sqlx::query_as("SELECT given_up_at, last_error FROM mail_outbox WHERE recipient = $1")
            .bind(&council.email)
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(waiting.len(), 1, "the council member's one mail");
    let (given_up, error) = &waiting[0];
    assert!(given_up.is_none(), "not given up: {error:?}");
    assert!(
        error.as_deref().unwrap_or("").contains("5.7.1"),
        "{error:?}"
    );

    // The sender put right: the same mail goes, once its pause is over.
    server.stop();
    server.refused_senders.clear();
    server.start();
    clock.advance(time::Duration::minutes(2));
    let run = notifier.tick().await.unwrap().unwrap();
    assert_eq!(run.sent, 1, "{run:?}");
    assert_eq!(server.mails().len(), 1);
    assert_eq!(server.mails()[0]["to"][0], council.email.as_str());
}

#[tokio::test]
async fn the_daily_digest_is_written_once_in_the_morning_and_a_refused_address_is_given_up() {
    let app = TestApp::spawn().await;
    let (council, council_token) = app.user("integrationsrad", &[], &[]).await;
    let (committee, _) = app.user("integrationsberedning", &[], &[]).await;
    let (team, team_token) = app.user("omradesteam", &["araby"], &[]).await;
    let (status, body) = app
        .post_as(
            Some(&council_token),
            "/api/v1/items",
            json!({"from": "integrationsrad", "to": "integrationsberedning", "kind": "fraga", "title": "Budget", "text": "?"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    choose_mail(&app, &council, "digest").await;
    choose_mail(&app, &committee, "immediate").await;
    choose_mail(&app, &team, "none").await;
    sqlx::query("UPDATE users SET mail_choice = 'none' WHERE role = 'samordnare'")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let raise = |title: &'static str| {
        let (app, token) = (&app, team_token.clone());
        async move {
            let (status, body) = app
                .post_as(
                    Some(&token),
                    "/api/v1/items",
                    json!({"from": "omradesteam:araby", "to": "integrationsrad", "kind": "fraga", "title": title, "text": "?"}),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            crate::helpers::caught_up(&app.db.pool).await;
        }
    };
    raise("Lokaler").await;
    // The committee member's address is one the server does not know.
    let server = SmtpServer::refusing(&[&committee.email]);
    let clock = Clock::fixed(morning(130) - time::Duration::hours(2));
    let notifier = notifier(&app, &clock, &server);

    // 06:00: the council member's reminders are decided but wait for the digest hour; the
    // committee member's mail goes at once, and its address is refused for good.
    let run = notifier.tick().await.unwrap().unwrap();
    assert!(run.decided > 0);
    let council_mails = |server: &SmtpServer| {
        server
            .mails()
            .into_iter()
            .filter(|m| m["to"][0] == council.email.as_str())
            .collect::<Vec<_>>()
    };
    assert!(council_mails(&server).is_empty(), "nothing before seven");
    // 14:00, the first run after seven: the digest, once.
    clock.advance(time::Duration::hours(8));
    notifier.tick().await.unwrap().unwrap();
    assert_eq!(council_mails(&server).len(), 1);
    let digest = &council_mails(&server)[0];
    assert!(digest["subject"].as_str().unwrap().contains("i dag"));
    assert!(
        digest["text"]
            .as_str()
            .unwrap()
            .contains("En fråga till Integrationsrådet")
    );
    // Something due later that day waits for the next morning's digest.
    raise("Tolkar").await;
    clock.advance(time::Duration::hours(1));
    let run = notifier.tick().await.unwrap().unwrap();
    assert_eq!(run.decided, 1, "{run:?}");
    assert_eq!(council_mails(&server).len(), 1);
    clock.advance(time::Duration::hours(16)); // 07:00 the next day
    notifier.tick().await.unwrap().unwrap();
    let mails = council_mails(&server);
    assert_eq!(mails.len(), 2);
    assert!(
        mails[1]["subject"].as_str().unwrap().contains("1 ny sak"),
        "{}",
        mails[1]
    );

    // The committee member's mail was refused for good and given up, not retried.
    let refused: Vec<(Option<OffsetDateTime>, Option<String>)> =
        sqlx::query_as("SELECT given_up_at, last_error FROM mail_outbox WHERE recipient = $1")
            .bind(&committee.email)
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(refused.len(), 1, "the committee member's one mail");
    for (given_up, error) in &refused {
        assert!(given_up.is_some(), "{error:?}");
        assert!(error.as_deref().unwrap_or("").contains("550"), "{error:?}");
    }
    assert!(
        server
            .mails()
            .iter()
            .all(|m| m["to"][0] != committee.email.as_str())
    );
}
