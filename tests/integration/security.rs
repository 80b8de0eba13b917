//! What an outside review of a running Insats tried as an attacker, each answered as the
//! review asked: concurrent guesses, anonymous text in the log, shared addresses behind a
//! load balancer, caching, writing into another area or process, unbounded metrics, a
//! planted login token, raw framework errors, long sessions, secret escalations and the
//! memory of many logins at once.

use reqwest::header::COOKIE;
use serde_json::{Value, json};
use std::time::Duration;

use crate::helpers::{InsatsProcess, PASSWORD, TestApp, caught_up, insats};
use crate::visitor::Visitor;

/// The `name=value` pair of the form-token cookie `name` that a page set, and the value.
fn token_cookie(response: &reqwest::Response, name: &str) -> (String, String) {
    let pair = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|line| line.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("the page sets its token cookie {name}"))
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let token = pair.split_once('=').unwrap().1.to_owned();
    (pair, token)
}

/// The login form's token and its cookie, fetched as a browser would.
async fn login_form(app: &TestApp, forwarded_for: Option<&str>) -> (String, String) {
    let mut request = app.client.get(format!("{}/logga-in", app.address));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    let response = request.send().await.unwrap();
    token_cookie(&response, "__Host-insats-login")
}

/// Posts the login form from `forwarded_for` (when the app trusts the test as its proxy).
async fn log_in(app: &TestApp, email: &str, password: &str, forwarded_for: Option<&str>) -> u16 {
    let (cookie, token) = login_form(app, forwarded_for).await;
    let mut request = app
        .client
        .post(format!("{}/logga-in", app.address))
        .header(COOKIE, cookie)
        .form(&[("email", email), ("password", password), ("csrf", &token)]);
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap().status().as_u16()
}

fn behind_the_test_as_proxy() -> insats::web::Settings {
    insats::web::Settings {
        trusted_proxies: insats::web::client::TrustedProxies::parse("127.0.0.1").unwrap(),
        ..Default::default()
    }
}

#[tokio::test]
async fn thirty_guesses_at_once_are_counted_before_any_is_checked() {
    let app = TestApp::spawn().await;
    let (user, _) = app.user("revisor", &[], &[]).await;
    let guesses: Vec<_> = (0..30)
        .map(|n| {
            let app_address = app.address.clone();
            let client = app.client.clone();
            let email = user.email.clone();
            async move {
                // Each guess with a form of its own, as thirty browser tabs would send.
                let response = client
                    .get(format!("{app_address}/logga-in"))
                    .send()
                    .await
                    .unwrap();
                let (pair, token) = token_cookie(&response, "__Host-insats-login");
                client
                    .post(format!("{app_address}/logga-in"))
                    .header(COOKIE, pair)
                    .form(&[
                        ("email", email.as_str()),
                        ("password", &format!("fel gissning nummer {n}")),
                        ("csrf", &token),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        })
        .collect();
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + refused, 30, "{statuses:?}");
    assert!(
        checked <= 10,
        "at most ten guesses are checked: {statuses:?}"
    );
    assert!(refused >= 20, "{statuses:?}");
}

#[tokio::test]
async fn others_failures_at_a_shared_address_do_not_lock_out_the_right_password() {
    let app = TestApp::spawn_with(behind_the_test_as_proxy()).await;
    let (anna, _) = app.user("revisor", &[], &[]).await;
    let (bo, _) = app.user("samordnare", &[], &[]).await;
    // Someone at the office's address guesses Anna's password ten times.
    for _ in 0..10 {
        assert_eq!(
            log_in(&app, &anna.email, "helt fel lösenord", Some("203.0.113.10")).await,
            401
        );
    }
    assert_eq!(
        log_in(&app, &anna.email, PASSWORD, Some("203.0.113.10")).await,
        429,
        "the account waits at that address"
    );
    // Anna from home, and Bo at the same office, get in.
    assert_eq!(
        log_in(&app, &anna.email, PASSWORD, Some("198.51.100.20")).await,
        303
    );
    assert_eq!(
        log_in(&app, &bo.email, PASSWORD, Some("203.0.113.10")).await,
        303
    );

    // Without a trusted proxy, X-Forwarded-For is the client's own claim and ignored: a
    // guesser cannot escape the limit by inventing addresses.
    let direct = TestApp::spawn().await;
    let (cecilia, _) = direct.user("revisor", &[], &[]).await;
    for n in 0..10 {
        let invented = format!("192.0.2.{n}");
        let (cookie, token) = login_form(&direct, None).await;
        let status = direct
            .client
            .post(format!("{}/logga-in", direct.address))
            .header(COOKIE, cookie)
            .header("x-forwarded-for", invented)
            .form(&[
                ("email", cecilia.email.as_str()),
                ("password", "helt fel lösenord"),
                ("csrf", &token),
            ])
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 401);
    }
    assert_eq!(
        log_in(&direct, &cecilia.email, PASSWORD, Some("192.0.2.99")).await,
        429
    );
}

#[tokio::test]
async fn a_login_token_insats_did_not_issue_is_refused_and_the_cookie_is_host_bound() {
    let app = TestApp::spawn().await;
    let (user, _) = app.user("revisor", &[], &[]).await;
    let (cookie, _) = login_form(&app, None).await;
    assert!(cookie.starts_with("__Host-insats-login="));
    // An attacker plants a matching cookie and field of their own making.
    let planted = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQQ";
    let status = app
        .client
        .post(format!("{}/logga-in", app.address))
        .header(COOKIE, format!("__Host-insats-login={planted}"))
        .form(&[
            ("email", user.email.as_str()),
            ("password", PASSWORD),
            ("csrf", planted),
        ])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 403);
    // The old cookie name without the prefix is not the token's cookie either.
    let (_, token) = login_form(&app, None).await;
    let status = app
        .client
        .post(format!("{}/logga-in", app.address))
        .header(COOKIE, format!("insats-login={token}"))
        .form(&[
            ("email", user.email.as_str()),
            ("password", PASSWORD),
            ("csrf", &token),
        ])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 403);
    assert_eq!(log_in(&app, &user.email, PASSWORD, None).await, 303);
}

/// The accessibility form's token and cookie, for a visitor who is not signed in.
async fn report_form(app: &TestApp) -> (String, String) {
    let response = app
        .client
        .get(format!("{}/tillganglighet", app.address))
        .send()
        .await
        .unwrap();
    token_cookie(&response, "__Host-insats-report")
}

async fn report(app: &TestApp, problem: &str, with_token: bool) -> u16 {
    let (cookie, token) = report_form(app).await;
    let mut request = app
        .client
        .post(format!("{}/tillganglighet", app.address))
        .form(&[
            ("page", "Startsidan"),
            ("problem", problem),
            ("csrf", &token),
        ]);
    if with_token {
        request = request.header(COOKIE, cookie);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn anonymous_reports_are_sealed_erasable_bounded_and_protected_from_other_sites() {
    let app = TestApp::spawn().await;
    let before = app.store.count_events().await.unwrap();
    let canary = "Jag heter Kanarie Fågelsson och ser dåligt";
    assert_eq!(report(&app, canary, true).await, 200);
    // Sealed: the text is nowhere in the log as stored.
    let stored: Vec<String> = sqlx::query_scalar(
        "SELECT data::text FROM events WHERE event_type = 'AccessibilityProblemReported'",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0].contains("Kanarie"),
        "the report is sealed: {}",
        stored[0]
    );
    // A post from another site carries no token cookie.
    assert_eq!(report(&app, "Från en annan webbplats", false).await, 403);
    // Too long.
    assert_eq!(report(&app, &"x".repeat(2_001), true).await, 422);
    // Five an hour from one address, and then no more.
    for n in 0..3 {
        assert_eq!(report(&app, &format!("Problem {n}"), true).await, 200);
    }
    assert_eq!(report(&app, "Det sjätte", true).await, 429);
    assert_eq!(
        app.store.count_events().await.unwrap(),
        before + 4,
        "refused reports append nothing"
    );

    // The coordinator reads it, and erases it under a decision.
    let reports = insats(&app).accessibility_reports(10).await.unwrap();
    let canary_report = reports.iter().find(|r| r.problem == canary).unwrap();
    let coordinator = insats::app::CommandContext::new(insats::domain::actor::Actor::system());
    insats(&app)
        .erase_personal_data(
            &coordinator,
            insats::app::ErasureTarget::Feedback(canary_report.id),
            "KS 2026-12-01 § 3",
            "Omhändertagen",
            None,
        )
        .await
        .unwrap();
    let reports = insats(&app).accessibility_reports(10).await.unwrap();
    let erased = reports.iter().find(|r| r.id == canary_report.id).unwrap();
    assert_eq!(erased.problem, "[raderat enligt beslut KS 2026-12-01 § 3]");
    assert!(reports.iter().all(|r| !r.problem.contains("Kanarie")));
}

#[tokio::test]
async fn nothing_personal_is_cached_and_https_is_kept_to() {
    let app = TestApp::spawn().await;
    let email = app.user("samordnare", &[], &[]).await.0.email;
    let (mut visitor, start) = Visitor::signed_in(&app, &email).await;
    for path in [
        start.as_str(),
        "/omraden/araby",
        "/omraden/araby/export.csv",
        "/logga-in",
    ] {
        let page = visitor.get(path).await;
        assert_eq!(
            page.headers.get("cache-control").unwrap(),
            "no-store",
            "{path}"
        );
        assert!(page.headers.get("strict-transport-security").is_none());
    }
    let api = app
        .client
        .get(format!("{}/api/v1/plan", app.address))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.headers().get("cache-control").unwrap(), "no-store");
    let css = app
        .client
        .get(format!("{}/static/insats.css", app.address))
        .send()
        .await
        .unwrap();
    assert_ne!(
        css.headers().get("cache-control").unwrap(),
        "no-store",
        "the stylesheet may be kept"
    );

    let served_over_https = TestApp::spawn_with(insats::web::Settings {
        public_url: Some("https://insats.vaxjo.se".into()),
        ..Default::default()
    })
    .await;
    let response = served_over_https
        .client
        .get(format!("{}/logga-in", served_over_https.address))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers().get("strict-transport-security").unwrap(),
        "max-age=31536000; includeSubDomains"
    );
}

#[tokio::test]
async fn an_area_team_writes_items_only_about_its_area_and_owners_only_about_their_process() {
    let app = TestApp::spawn().await;
    let (_, araby) = app.user("omradesteam", &["araby"], &[]).await;
    let (_, owner) = app.user("processagare", &[], &["aktiv-fritid"]).await;
    let before = app.store.count_events().await.unwrap();
    let (status, body) = app
        .post_as(
            Some(&araby),
            "/api/v1/items",
            json!({"from": "omradesteam:araby", "to": "integrationsrad", "kind": "fraga",
                   "title": "Om Teleborg", "text": "x", "area": "teleborg"}),
        )
        .await;
    assert!(
        status == 403 || status == 422,
        "Araby's team may not write on Teleborg's timeline: {status} {body}"
    );
    // Process owners: a decision on another process's strategy is refused.
    let (status, body) = app
        .post_as(
            Some(&owner),
            "/api/v1/processes/aktiv-fritid/decisions",
            json!({"title": "Beslut", "text": "x", "decided_on": "2026-05-04",
                   "strategy": "utveckla-yttre-miljo"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "strategy");
    let (status, body) = app
        .post_as(
            Some(&owner),
            "/api/v1/items",
            json!({"from": "processagare:aktiv-fritid", "to": "integrationsrad", "kind": "rapport",
                   "title": "Läget", "text": "x", "strategy": "utveckla-yttre-miljo"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        app.store.count_events().await.unwrap(),
        before,
        "nothing refused is saved"
    );
    // What they may do still works.
    let (status, body) = app
        .post_as(
            Some(&araby),
            "/api/v1/items",
            json!({"from": "omradesteam:araby", "to": "integrationsrad", "kind": "fraga",
                   "title": "Om Araby", "text": "x", "area": "araby"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .post_as(
            Some(&owner),
            "/api/v1/processes/aktiv-fritid/decisions",
            json!({"title": "Beslut", "text": "x", "decided_on": "2026-05-04",
                   "strategy": "stodja-civilsamhallet"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn invented_methods_fold_into_one_metric_label() {
    let app = TestApp::spawn().await;
    for method in ["M123", "M124", "BREW"] {
        let _ = app
            .client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}/healthz", app.address),
            )
            .send()
            .await
            .unwrap();
    }
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!metrics.contains("M123") && !metrics.contains("BREW"));
    assert!(metrics.contains("method=\"other\""));
}

#[tokio::test]
async fn bad_paths_queries_and_forms_get_insats_own_answers() {
    let app = TestApp::spawn().await;
    let email = app.user("omradesteam", &["araby"], &[]).await.0.email;
    let (mut visitor, _) = Visitor::signed_in(&app, &email).await;
    for path in [
        "/omraden/araby?efter=99999999999999999999999",
        "/omraden/araby/arenden?efter=x",
        "/planen/strategier/matchningsmetodik?efter=-",
    ] {
        let page = visitor.get(path).await;
        assert_eq!(page.status, 400, "{path}");
        assert!(
            page.headers
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert_eq!(page.attr("html", "lang").as_deref(), Some("sv"));
        assert!(!page.body.contains("Failed to deserialize"), "{path}");
    }
    // The API's own error shape for its paths.
    let response = app
        .client
        .get(format!(
            "{}/api/v1/areas/araby/timeline?limit=99999999999999999999",
            app.address
        ))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert!(body["errors"][0]["message"].is_string());
    // A login form that is not a form.
    let response = app
        .client
        .post(format!("{}/logga-in", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'=', 0xfd])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());
    assert!(!response.text().await.unwrap().contains("Failed to"));
}

#[tokio::test]
async fn sessions_end_after_idling_or_a_working_day_and_the_login_page_says_why() {
    let app = TestApp::spawn().await;
    let email = app.user("revisor", &[], &[]).await.0.email;
    for (age, column, reason, words) in [
        (
            "31 minutes",
            "last_seen_at",
            "inaktiv",
            "inte hade använt Insats",
        ),
        ("13 hours", "created_at", "tid", "länge sedan du loggade in"),
    ] {
        let (mut visitor, start) = Visitor::signed_in(&app, &email).await;
        assert_eq!(visitor.get(&start).await.status, 200);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE sessions SET {column} = now() - interval '{age}'"
        )))
        .execute(&app.db.pool)
        .await
        .unwrap();
        let ended = visitor.get(&start).await;
        assert_eq!(ended.status, 303, "{age}");
        let location = ended.location.clone().unwrap();
        assert_eq!(location, format!("/logga-in?slut={reason}"));
        assert!(
            ended.set_cookies.iter().any(|c| c.contains("Max-Age=0")),
            "the ended session's cookie is cleared"
        );
        let login = visitor.get(&location).await;
        assert!(login.text("[role=status]").contains(words), "{age}");
        // Active sessions in between are untouched by the other's ending.
        sqlx::query("DELETE FROM sessions")
            .execute(&app.db.pool)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn the_council_reads_the_escalation_it_must_answer_but_not_the_secret_case() {
    let app = TestApp::spawn().await;
    let (_, team) = app.user("omradesteam", &["araby"], &[]).await;
    let (_, council) = app.user("integrationsrad", &[], &[]).await;
    let (_, committee) = app.user("integrationsberedning", &[], &[]).await;
    let (_, case) = app
        .post_as(
            Some(&team),
            "/api/v1/areas/araby/cases",
            json!({"title": "Bostad", "description": "Familjen Haddad saknar bostad",
                   "strategies": ["oka-tillgangen-till-bostader"]}),
        )
        .await;
    let case_id = case["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .post_as(
            Some(&team),
            &format!("/api/v1/cases/{case_id}/secrecy"),
            json!({"target": "description", "secret": true}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, escalation) = app
        .post_as(
            Some(&team),
            &format!("/api/v1/cases/{case_id}/escalate"),
            json!({"text": "Behöver rådets beslut om förtur till bostad"}),
        )
        .await;
    assert_eq!(status, 201, "{escalation}");
    let item_id = escalation["id"].as_str().unwrap().to_owned();
    // Even marked secret, the escalation is for the council to read.
    let (status, _) = app
        .post(
            &format!("/api/v1/items/{item_id}/secrecy"),
            json!({"secret": true}),
        )
        .await;
    assert_eq!(status, 201);
    caught_up(&app.db.pool).await;
    let path = format!("/api/v1/areas/araby/timeline?case={case_id}");
    let (_, seen_by_council) = app.get_as(Some(&council), &path).await;
    let text = seen_by_council.to_string();
    assert!(
        text.contains("Behöver rådets beslut"),
        "the council reads what it is asked to answer: {text}"
    );
    assert!(
        !text.contains("Familjen Haddad"),
        "the case's secret description stays hidden"
    );
    let (_, seen_by_committee) = app.get_as(Some(&committee), &path).await;
    let text = seen_by_committee.to_string();
    assert!(!text.contains("Behöver rådets beslut") && !text.contains("Familjen Haddad"));
    assert!(text.contains("[sekretessmarkerad]"));
    // The item's own page, as the council opens it from its list.
    let email = app.user("integrationsrad", &[], &[]).await.0.email;
    let (mut member, _) = Visitor::signed_in(&app, &email).await;
    let page = member.get(&format!("/forum/{item_id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Behöver rådets beslut"));
}

#[tokio::test]
async fn two_hundred_logins_at_once_leave_memory_flat() {
    let db = insats::database::scratch::ScratchDatabase::create(4)
        .await
        .unwrap();
    let key_file = crate::helpers::key_file();
    let mut server = InsatsProcess::start(
        &["serve"],
        &[
            ("DATABASE_URL", db.url().as_ref()),
            ("INSATS_MASTER_KEY_FILE", key_file.as_os_str()),
            ("INSATS_DB_POOL_SIZE", "8".as_ref()),
            ("INSATS_TRUSTED_PROXIES", "127.0.0.1".as_ref()),
        ],
    );
    server.wait_until_healthy().await;
    let client = crate::helpers::client();
    // Two hundred visitors, each from an address of their own, each with a form.
    let mut forms = Vec::new();
    for n in 0..200u32 {
        let address = format!("10.{}.{}.{}", n / 65536, (n / 256) % 256, n % 256);
        let response = client
            .get(format!("{}/logga-in", server.address))
            .header("x-forwarded-for", &address)
            .send()
            .await
            .unwrap();
        forms.push((address, token_cookie(&response, "__Host-insats-login")));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (before, _) = server.memory_kib();
    let logins: Vec<_> = forms
        .into_iter()
        .enumerate()
        .map(|(n, (address, (pair, token)))| {
            let client = client.clone();
            let url = format!("{}/logga-in", server.address);
            async move {
                client
                    .post(url)
                    .header(COOKIE, pair)
                    .header("x-forwarded-for", address)
                    .form(&[
                        ("email", format!("person{n}@vaxjo.se").as_str()),
                        ("password", "ett fel lösenord här"),
                        ("csrf", &token),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        })
        .collect();
    let statuses = futures_util::future::join_all(logins).await;
    let (after, peak) = server.memory_kib();
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 503),
        "every login is answered, refused or asked to wait: {statuses:?}"
    );
    assert!(statuses.contains(&401), "logins are checked");
    let grown_mib = peak.saturating_sub(before) / 1024;
    eprintln!(
        "200 concurrent logins: resident {before} KiB before, {after} KiB after, peak {peak} KiB (grew at most {grown_mib} MiB); {} checked, {} asked to wait",
        statuses.iter().filter(|s| **s == 401).count(),
        statuses.iter().filter(|s| **s == 503).count()
    );
    assert!(
        grown_mib < 200,
        "the password checks at once are bounded: peak {peak} KiB against {before} KiB before"
    );
    assert!(
        after.saturating_sub(before) / 1024 < 80,
        "memory goes back after the burst: {after} KiB against {before} KiB before"
    );
}
