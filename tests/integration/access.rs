//! Access control: every route for every role (own area, another area, anonymous), CSRF,
//! session cookies, login rate limiting, what the logs never contain, and who the events
//! say acted.

use reqwest::header::COOKIE;
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::{PASSWORD, TestApp};
use crate::visitor::Visitor;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    TeamAraby,
    TeamTeleborg,
    Owner,
    Council,
    Committee,
    Coordinator,
    Auditor,
    Anonymous,
}

const EVERYONE: [Who; 8] = [
    Who::TeamAraby,
    Who::TeamTeleborg,
    Who::Owner,
    Who::Council,
    Who::Committee,
    Who::Coordinator,
    Who::Auditor,
    Who::Anonymous,
];

struct Tokens(Vec<(Who, Option<String>)>);

impl Tokens {
    async fn new(app: &TestApp) -> Tokens {
        let mut tokens = vec![
            (Who::Coordinator, Some(app.token.clone())),
            (Who::Anonymous, None),
        ];
        for (who, role, areas, processes) in [
            (Who::TeamAraby, "omradesteam", vec!["araby"], vec![]),
            (Who::TeamTeleborg, "omradesteam", vec!["teleborg"], vec![]),
            (
                Who::Owner,
                "processagare",
                vec![],
                vec!["arbetsmarknad-och-naringsliv"],
            ),
            (Who::Council, "integrationsrad", vec![], vec![]),
            (Who::Committee, "integrationsberedning", vec![], vec![]),
            (Who::Auditor, "revisor", vec![], vec![]),
        ] {
            tokens.push((who, Some(app.user(role, &areas, &processes).await.1)));
        }
        Tokens(tokens)
    }

    fn get(&self, who: Who) -> Option<&str> {
        self.0
            .iter()
            .find(|(w, _)| *w == who)
            .and_then(|(_, token)| token.as_deref())
    }
}

/// A fresh target for one cell of the matrix, made by the coordinator.
async fn fresh(app: &TestApp, what: &str) -> String {
    let id = |body: Value| body["id"].as_str().unwrap().to_owned();
    match what {
        "case" => id(app.post("/api/v1/areas/araby/cases", json!({"title": "Ärende", "strategies": ["matchningsmetodik"]})).await.1),
        "activity" => id(app
            .post("/api/v1/areas/araby/activities", json!({"date": "2026-05-04", "title": "Insats", "strategies": ["matchningsmetodik"]}))
            .await
            .1),
        "item" => id(app
            .post("/api/v1/items", json!({"from": "omradesteam:araby", "to": "integrationsrad", "kind": "fraga", "title": "Fråga", "text": "?"}))
            .await
            .1),
        _ => String::new(),
    }
}

/// (method, path with `{id}`, the fresh target it needs, body, success status, who may).
type Route<'a> = (&'a str, &'a str, &'a str, Value, u16, &'a [Who]);

#[tokio::test]
async fn every_route_for_every_role() {
    let app = TestApp::spawn().await;
    let tokens = Tokens::new(&app).await;
    use Who::*;
    let team_araby: &[Who] = &[TeamAraby, Coordinator];
    // (method, path with {id}, fresh target, body, success status, who may)
    let routes: Vec<Route> = vec![
        ("GET", "/api/v1/plan", "", json!(null), 200, &EVERYONE[..7]),
        (
            "GET",
            "/api/v1/areas/araby/timeline",
            "",
            json!(null),
            200,
            &EVERYONE[..7],
        ),
        (
            "GET",
            "/api/v1/council/flow",
            "",
            json!(null),
            200,
            &EVERYONE[..7],
        ),
        (
            "GET",
            "/api/v1/strategies/matchningsmetodik/overview",
            "",
            json!(null),
            200,
            &EVERYONE[..7],
        ),
        (
            "POST",
            "/api/v1/areas/araby/activities",
            "",
            json!({"date": "2026-05-04", "title": "x", "strategies": ["matchningsmetodik"]}),
            201,
            team_araby,
        ),
        (
            "POST",
            "/api/v1/areas/araby/cases",
            "",
            json!({"title": "x", "strategies": ["matchningsmetodik"]}),
            201,
            team_araby,
        ),
        (
            "POST",
            "/api/v1/cases/{id}/notes",
            "case",
            json!({"text": "x"}),
            201,
            team_araby,
        ),
        (
            "POST",
            "/api/v1/cases/{id}/escalate",
            "case",
            json!({"text": "x"}),
            201,
            team_araby,
        ),
        (
            "POST",
            "/api/v1/cases/{id}/close",
            "case",
            json!({}),
            200,
            team_araby,
        ),
        (
            "POST",
            "/api/v1/activities/{id}/retraction",
            "activity",
            json!({"reason": "x"}),
            201,
            team_araby,
        ),
        (
            "POST",
            "/api/v1/strategies/matchningsmetodik/status-reports",
            "",
            json!({"period_start": "2026-01-01", "period_end": "2026-04-30", "status": "enligt_plan"}),
            201,
            &[Owner, Coordinator],
        ),
        (
            "POST",
            "/api/v1/processes/arbetsmarknad-och-naringsliv/decisions",
            "",
            json!({"title": "x", "decided_on": "2026-03-01"}),
            201,
            &[Owner, Coordinator],
        ),
        (
            "POST",
            "/api/v1/items",
            "",
            json!({"from": "omradesteam:araby", "to": "integrationsrad", "kind": "rapport", "title": "x"}),
            201,
            team_araby,
        ),
        (
            "POST",
            "/api/v1/items",
            "",
            json!({"from": "integrationsrad", "to": "integrationsberedning", "kind": "rapport", "title": "x"}),
            201,
            &[Council, Coordinator],
        ),
        (
            "POST",
            "/api/v1/items/{id}/answer",
            "item",
            json!({"text": "Svar"}),
            200,
            &[Council, Coordinator],
        ),
        (
            "POST",
            "/api/v1/items/{id}/close",
            "item",
            json!({}),
            200,
            &[TeamAraby, Council, Coordinator],
        ),
        (
            "POST",
            "/api/v1/areas/araby/reviews",
            "",
            json!({"period_start": "2026-01-01", "period_end": "2026-03-31"}),
            201,
            &[Council, Coordinator],
        ),
        (
            "POST",
            "/api/v1/processes/aktiv-fritid/owner",
            "",
            json!({"name": "Ny ägare"}),
            200,
            &[Coordinator],
        ),
        (
            "POST",
            "/api/v1/areas",
            "",
            json!({"name": "Nytt område"}),
            201,
            &[Coordinator],
        ),
    ];
    let mut failures = Vec::new();
    for (method, template, target, body, success, allowed) in &routes {
        for who in EVERYONE {
            let target_id = fresh(&app, target).await;
            let path = template.replace("{id}", &target_id);
            let mut body = body.clone();
            if *template == "/api/v1/areas" {
                body["name"] = json!(format!("Område {:?}", who));
            }
            let (status, answer) = match *method {
                "GET" => app.get_as(tokens.get(who), &path).await,
                _ => app.post_as(tokens.get(who), &path, body).await,
            };
            let expected = if who == Anonymous {
                401
            } else if allowed.contains(&who) {
                *success
            } else {
                403
            };
            if status != expected {
                failures.push(format!(
                    "{method} {template} as {who:?}: {status}, expected {expected}: {answer}"
                ));
            }
            if status == 403
                && !answer["errors"][0]["message"]
                    .as_str()
                    .unwrap_or("")
                    .ends_with('.')
            {
                failures.push(format!(
                    "{method} {template} as {who:?}: the refusal is not a sentence: {answer}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn events_say_which_user_and_role_acted() {
    let app = TestApp::spawn().await;
    let (team, team_token) = app.user("omradesteam", &["braas"], &[]).await;
    let (owner, owner_token) = app.user("processagare", &[], &["aktiv-fritid"]).await;
    let (status, activity) = app
        .post_as(
            Some(&team_token),
            "/api/v1/areas/braas/activities",
            json!({"date": "2026-05-04", "title": "x", "strategies": ["stodja-civilsamhallet"], "actor": "someone-else"}),
        )
        .await;
    assert_eq!(status, 201);
    let logged = &app
        .stream(&format!("activity-{}", activity["id"].as_str().unwrap()))
        .await[0];
    assert_eq!(
        logged.metadata["actor"],
        json!(team.user_id),
        "from the token, never the body"
    );
    assert_eq!(logged.metadata["role"], "omradesteam");
    let (status, _) = app
        .post_as(
            Some(&owner_token),
            "/api/v1/strategies/stodja-civilsamhallet/status-reports",
            json!({"period_start": "2026-01-01", "period_end": "2026-04-30", "status": "enligt_plan"}),
        )
        .await;
    assert_eq!(status, 201);
    let reported = &app.stream("strategy-stodja-civilsamhallet").await[0];
    assert_eq!(reported.metadata["actor"], json!(owner.user_id));
    assert_eq!(reported.metadata["role"], "processagare");
    assert_eq!(reported.metadata["actor_name"], "Test processagare");
}

#[tokio::test]
async fn sessions_rotate_at_login_carry_the_right_flags_and_need_csrf_for_changes() {
    let app = TestApp::spawn().await;
    let (user, _) = app.user("omradesteam", &["araby"], &[]).await;
    let mut browser = Visitor::new(&app);
    // A session id planted before login is not the one the login gives.
    browser.plant_cookie("__Host-insats", "planted-by-someone");
    let signed_in = browser.log_in(&user.email, PASSWORD).await;
    assert_eq!(signed_in.status, 303);
    assert_eq!(signed_in.location.as_deref(), Some("/"));
    let session_cookie = signed_in
        .set_cookies
        .iter()
        .find(|c| c.starts_with("__Host-insats="))
        .expect("a session cookie");
    for flag in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session_cookie.contains(flag), "{flag} in {session_cookie}");
    }
    let first = browser.session().unwrap();
    assert_ne!(first, "planted-by-someone");

    // A state-changing request on the cookie alone is refused without the CSRF token.
    let activity =
        json!({"date": "2026-05-04", "title": "Via kaka", "strategies": ["matchningsmetodik"]});
    let post = |cookies: String, token: Option<&str>| {
        let mut request = app
            .client
            .post(format!("{}/api/v1/areas/araby/activities", app.address))
            .header(COOKIE, cookies)
            .json(&activity);
        if let Some(token) = token {
            request = request.header("x-csrf-token", token);
        }
        request.send()
    };
    assert_eq!(
        post(browser.cookie_header(), None).await.unwrap().status(),
        403
    );
    assert_eq!(
        post(browser.cookie_header(), Some("fel"))
            .await
            .unwrap()
            .status(),
        403
    );
    let start = browser.get("/omraden/araby").await;
    let csrf = start
        .attr("input[name=csrf]", "value")
        .expect("a form with the token");
    assert_eq!(
        post(browser.cookie_header(), Some(&csrf))
            .await
            .unwrap()
            .status(),
        201
    );

    // Logging out ends the session; logging in again gives another id.
    let before_logout = browser.cookie_header();
    assert_eq!(
        browser.post("/logga-ut", &[("csrf", &csrf)]).await.status,
        303
    );
    assert_eq!(
        post(before_logout, Some(&csrf)).await.unwrap().status(),
        401,
        "the old session is gone"
    );
    browser.log_in(&user.email, PASSWORD).await;
    assert_ne!(browser.session().unwrap(), first);
    // A logout form without the token is refused.
    assert_eq!(
        browser.post("/logga-ut", &[("csrf", "fel")]).await.status,
        403
    );
}

#[tokio::test]
async fn ten_failed_logins_in_a_minute_are_followed_by_429() {
    let app = TestApp::spawn().await;
    let (user, _) = app.user("revisor", &[], &[]).await;
    let mut browser = Visitor::new(&app);
    for attempt in 0..10 {
        let status = browser
            .log_in(&user.email, "fel lösenord helt")
            .await
            .status;
        assert_eq!(status, 401, "attempt {attempt}");
    }
    let waiting = browser.log_in(&user.email, PASSWORD).await;
    assert_eq!(waiting.status, 429, "even the right password waits");
    let retry: u64 = waiting
        .headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
}

#[tokio::test]
async fn security_headers_are_on_every_answer() {
    let app = TestApp::spawn().await;
    for path in ["/logga-in", "/api/v1/plan", "/healthz", "/finns-inte"] {
        let response = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        let csp = headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(
            headers.get("x-content-type-options").unwrap(),
            "nosniff",
            "{path}"
        );
        assert!(headers.get("referrer-policy").is_some(), "{path}");
    }
}

#[tokio::test]
async fn logs_of_logins_contain_neither_passwords_nor_session_ids() {
    let app = TestApp::spawn().await;
    let (user, _) = app.user("integrationsrad", &[], &[]).await;
    let log_path =
        std::env::temp_dir().join(format!("insats-log-{}.txt", uuid::Uuid::new_v4().simple()));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_insats"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", app.db.url())
        .env("INSATS_MASTER_KEY_FILE", crate::helpers::key_file())
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        // A file, not a pipe: a chatty server must never block on a full pipe.
        .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()))
        .spawn()
        .unwrap();
    let address = format!("http://127.0.0.1:{port}");
    for _ in 0..300 {
        if app
            .client
            .get(format!("{address}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut browser = Visitor::at(&app, &address);
    let secret = "hemligt-kanarie-lösenord-4711";
    assert_eq!(browser.log_in(&user.email, secret).await.status, 401);
    assert_eq!(browser.log_in(&user.email, PASSWORD).await.status, 303);
    let session = browser.session().unwrap();
    browser.get("/").await;
    // SAFETY: sending SIGTERM to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait_with_output().unwrap();
    let logs = std::fs::read_to_string(&log_path).unwrap();
    std::fs::remove_file(&log_path).unwrap();
    assert!(logs.contains("failed login"), "the failure is logged");
    assert!(!logs.contains(secret), "no password in the logs");
    assert!(!logs.contains(PASSWORD), "no password in the logs");
    assert!(!logs.contains(&session), "no session id in the logs");
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test]
async fn a_token_works_until_revoked_or_its_user_disabled_and_records_its_last_use() {
    use insats::app::CommandContext;
    use insats::domain::actor::Actor;
    let app = TestApp::spawn().await;
    let (team, token) = app.user("omradesteam", &["araby"], &[]).await;
    let last_used = || async {
        sqlx::query_scalar::<_, Option<time::OffsetDateTime>>(
            "SELECT last_used_at FROM api_tokens WHERE user_id = $1",
        )
        .bind(team.user_id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
    };
    assert_eq!(last_used().await, None, "not used yet");
    let (status, _) = app
        .get_as(Some(&token), "/api/v1/areas/araby/timeline")
        .await;
    assert_eq!(status, 200);
    let first = last_used().await.expect("the first use is recorded");
    // Used again within the minute: the row is not written again.
    let (status, _) = app
        .get_as(Some(&token), "/api/v1/areas/araby/timeline")
        .await;
    assert_eq!(status, 200);
    assert_eq!(last_used().await, Some(first));

    // Revoked: refused at once.
    let operator = CommandContext::new(Actor::system());
    let (second_id, second) = app
        .accounts
        .create_token(&operator, &team.email, "andra")
        .await
        .unwrap();
    app.accounts
        .revoke_token(&operator, second_id)
        .await
        .unwrap();
    let (status, body) = app
        .get_as(Some(&second), "/api/v1/areas/araby/timeline")
        .await;
    assert_eq!(status, 401, "{body}");
    // The user disabled: their remaining token is refused too.
    app.accounts.disable(&operator, &team.email).await.unwrap();
    let (status, _) = app
        .get_as(Some(&token), "/api/v1/areas/araby/timeline")
        .await;
    assert_eq!(status, 401);
}
