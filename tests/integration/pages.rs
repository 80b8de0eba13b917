//! The HTML pages without a browser: what a signed-in person is shown, checked through the
//! page's structure (scraper's CSS selectors), and the plain forms that work without
//! JavaScript. The browser itself is in `browser.rs`.

use scraper::Selector;
use serde_json::json;

use crate::helpers::TestApp;
use crate::visitor::Visitor;

async fn person(app: &TestApp, role: &str, areas: &[&str], processes: &[&str]) -> String {
    app.user(role, areas, processes).await.0.email
}

#[tokio::test]
async fn each_role_starts_on_its_own_page() {
    let app = TestApp::spawn().await;
    for (role, areas, processes, landing) in [
        (
            "omradesteam",
            &["teleborg"][..],
            &[][..],
            "/omraden/teleborg",
        ),
        ("integrationsrad", &[], &[], "/rad/informationsflode"),
        ("processagare", &[], &["aktiv-fritid"], "/processagare"),
        ("samordnare", &[], &[], "/oversikt"),
        ("integrationsberedning", &[], &[], "/rad/informationsflode"),
        ("revisor", &[], &[], "/granskning"),
    ] {
        let email = person(&app, role, areas, processes).await;
        let (mut visitor, start) = Visitor::signed_in(&app, &email).await;
        assert_eq!(start, landing, "{role}");
        let page = visitor.get(&start).await;
        assert_eq!(page.status, 200, "{role} may see {start}");
        assert_eq!(page.attr("html", "lang").as_deref(), Some("sv"));
        assert_eq!(page.count("main"), 1);
        assert_eq!(page.count("h1"), 1, "{role}: one main heading on {start}");
    }
    // Not signed in: the login page.
    let mut stranger = Visitor::new(&app);
    let start = stranger.get("/omraden/araby").await;
    assert_eq!(start.status, 303);
    assert_eq!(start.location.as_deref(), Some("/logga-in"));
}

#[tokio::test]
async fn the_activity_form_returns_errors_beside_their_fields_and_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    let email = person(&app, "omradesteam", &["araby"], &[]).await;
    let (mut team, _) = Visitor::signed_in(&app, &email).await;
    let form = team.get("/omraden/araby/insatser/ny").await;
    assert_eq!(form.status, 200);
    let today = time::OffsetDateTime::now_utc().date();
    let preset = form.attr("#date", "value").unwrap();
    let preset = time::Date::parse(
        &preset,
        &time::format_description::well_known::Iso8601::DATE,
    )
    .unwrap();
    assert!(
        (preset - today).whole_days().abs() <= 1,
        "today is preset ({preset})"
    );
    assert_eq!(
        form.count("#strategilista details.strategy-group"),
        6,
        "strategies grouped by the six processes"
    );
    assert_eq!(form.count("#strategilista input[name=strategies]"), 32);
    assert!(
        form.count("input[name=partners]") >= 5,
        "partners from the plan"
    );
    // Every field has a label.
    for id in form
        .html
        .select(
            &Selector::parse("form input:not([type=hidden]), form textarea, form select").unwrap(),
        )
        .filter_map(|e| e.value().attr("id"))
    {
        assert_eq!(
            form.count(&format!("label[for='{id}']")),
            1,
            "the field {id} has a label"
        );
    }

    let before = app.store.count_events().await.unwrap();
    let refused = team
        .submit(
            "/omraden/araby/insatser",
            &[
                ("date", "2026-13-40"),
                ("title", ""),
                ("description", "Läxhjälp i biblioteket"),
                ("participants", "-3"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        app.store.count_events().await.unwrap(),
        before,
        "nothing is saved"
    );
    assert_eq!(
        refused.text("#description"),
        "Läxhjälp i biblioteket",
        "the text typed is kept"
    );
    assert_eq!(
        refused.attr("#date", "value").as_deref(),
        Some("2026-13-40")
    );
    for field in ["date", "title", "participants", "strategies"] {
        let message = refused.text(&format!("#{field}-fel"));
        assert!(!message.is_empty(), "an error message beside {field}");
        let described = refused
            .attr(&format!("#{field}"), "aria-describedby")
            .unwrap_or_default();
        assert!(
            described.split(' ').any(|id| id == format!("{field}-fel")),
            "{field} is described by its error"
        );
    }
    assert_eq!(
        refused.attr("#title", "aria-invalid").as_deref(),
        Some("true")
    );
    let summary = refused.texts(".error-summary a");
    assert_eq!(
        summary.len(),
        4,
        "the summary links to each problem: {summary:?}"
    );
}

#[tokio::test]
async fn a_logged_activity_is_on_the_timeline_the_team_is_sent_to() {
    let app = TestApp::spawn().await;
    let email = person(&app, "omradesteam", &["araby"], &[]).await;
    let (mut team, _) = Visitor::signed_in(&app, &email).await;
    let logged = team
        .submit(
            "/omraden/araby/insatser",
            &[
                ("date", "2026-11-20"),
                ("title", "Språkcafé på biblioteket"),
                ("description", "Tolv deltagare övade svenska."),
                ("strategies", "samordnat-mottagande"),
                ("partners", "civilsamhallet"),
                ("participants", "12"),
            ],
        )
        .await;
    assert_eq!(logged.status, 303);
    let target = logged.location.unwrap();
    assert!(target.starts_with("/omraden/araby?"), "{target}");
    assert!(
        target.contains("efter="),
        "the redirect carries the change's position: {target}"
    );
    // Read-your-writes: the very next request shows it, with no waiting by the client.
    let timeline = team.get(&target).await;
    let entries = timeline.texts("ol.timeline > li");
    assert_eq!(entries.len(), 1);
    assert!(
        entries[0].contains("Språkcafé på biblioteket"),
        "{entries:?}"
    );
    assert!(entries[0].contains("Tolv deltagare övade svenska."));
    assert!(
        entries[0].contains("Samordnat mottagande"),
        "the strategy by its title"
    );
    assert!(
        timeline
            .text("[role=status]")
            .starts_with("Insatsen är loggad."),
        "{}",
        timeline.text("[role=status]")
    );
    // The confirmation links to the new entry, which the team was sent to.
    let link = timeline
        .attr("[role=status] a", "href")
        .expect("a link to it");
    assert!(link.starts_with("#h-"), "{link}");
    assert_eq!(timeline.count(&format!("li{link}")), 1);
}

#[tokio::test]
async fn forms_without_the_session_token_or_outside_the_area_are_refused() {
    let app = TestApp::spawn().await;
    let email = person(&app, "omradesteam", &["teleborg"], &[]).await;
    let (mut team, _) = Visitor::signed_in(&app, &email).await;
    let before = app.store.count_events().await.unwrap();
    let fields = [
        ("date", "2026-11-20"),
        ("title", "Fältbesök"),
        ("strategies", "samordnat-mottagande"),
    ];
    let without_token = team.post("/omraden/teleborg/insatser", &fields).await;
    assert_eq!(without_token.status, 403);
    let elsewhere = team.submit("/omraden/araby/insatser", &fields).await;
    assert_eq!(elsewhere.status, 403);
    assert!(
        elsewhere.text("main").contains("behörighet")
            || elsewhere.text("main").contains("får inte"),
        "{}",
        elsewhere.text("main")
    );
    let form = team.get("/omraden/araby/insatser/ny").await;
    assert_eq!(form.status, 403);
    let admin = team.get("/admin").await;
    assert_eq!(admin.status, 403);
    assert_eq!(
        app.store.count_events().await.unwrap(),
        before,
        "nothing was appended"
    );
    // Reading another area's timeline is allowed (the plan is public within the municipality).
    assert_eq!(team.get("/omraden/araby").await.status, 200);
}

#[tokio::test]
async fn the_timeline_filters_pages_by_key_and_exports_what_it_shows() {
    let app = TestApp::spawn().await;
    for day in 1..=60 {
        let strategy = if day % 3 == 0 {
            "matchningsmetodik"
        } else {
            "samordnat-mottagande"
        };
        let (status, body) = app
            .post(
                "/api/v1/areas/lammhult/activities",
                json!({"date": format!("2026-{:02}-{:02}", 1 + (day - 1) / 28, 1 + (day - 1) % 28), "title": format!("Insats {day}"), "strategies": [strategy]}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let email = person(&app, "integrationsrad", &[], &[]).await;
    let (mut council, _) = Visitor::signed_in(&app, &email).await;
    crate::helpers::caught_up(&app.db.pool).await;

    let first = council.get("/omraden/lammhult").await;
    let titles = first.texts("ol.timeline > li p.what");
    assert_eq!(titles.len(), 50, "a page holds fifty entries");
    assert!(
        titles[0].contains("Insats 60"),
        "newest first: {}",
        titles[0]
    );
    let next = first
        .attr("a[rel=next]", "href")
        .expect("a link to older entries");
    let second = council.get(&next).await;
    let older = second.texts("ol.timeline > li p.what");
    assert_eq!(older.len(), 10);
    assert!(
        older.iter().all(|t| !titles.contains(t)),
        "no entry on both pages"
    );
    assert_eq!(second.count("a[rel=next]"), 0);

    let filtered = council
        .get("/omraden/lammhult?strategi=matchningsmetodik&fran=2026-02-01&till=2026-12-31")
        .await;
    let shown = filtered.texts("ol.timeline > li p.what");
    // Days 30..=60 fall in February and March; every third is matchningsmetodik.
    let expected: Vec<u32> = (29..=60).filter(|d| d % 3 == 0).collect();
    assert_eq!(shown.len(), expected.len(), "{shown:?}");
    let csv = council
        .get("/omraden/lammhult/export.csv?strategi=matchningsmetodik&fran=2026-02-01&till=2026-12-31")
        .await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let mut lines = csv.body.lines();
    let header = lines.next().unwrap();
    assert!(
        header.contains("datum") || header.contains("date"),
        "{header}"
    );
    for column in ["samverkan", "deltagare", "behöver följas upp"] {
        assert!(
            header.contains(column),
            "the export names {column}: {header}"
        );
    }
    let first_row = csv.body.lines().nth(1).unwrap_or_default().to_owned();
    assert!(
        first_row.contains(";\"nej\";") || first_row.contains(";nej;"),
        "an activity's follow-up mark is exported: {first_row}"
    );
    assert_eq!(
        lines.count(),
        expected.len(),
        "the export holds the filtered view, all of it"
    );
    let export: serde_json::Value = serde_json::from_str(
        &council
            .get("/omraden/lammhult/export.json?strategi=matchningsmetodik&fran=2026-02-01&till=2026-12-31")
            .await
            .body,
    )
    .unwrap();
    assert_eq!(export.as_array().unwrap().len(), expected.len());

    let nonsense = council.get("/omraden/lammhult?fran=igår").await;
    assert_eq!(nonsense.status, 200);
    assert!(
        nonsense.text(".field-error").contains("ÅÅÅÅ-MM-DD"),
        "{}",
        nonsense.text("main")
    );
}

#[tokio::test]
async fn an_escalated_case_reaches_the_council_and_the_answer_returns_to_the_area() {
    let app = TestApp::spawn().await;
    let team_email = person(&app, "omradesteam", &["braas"], &[]).await;
    let council_email = person(&app, "integrationsrad", &[], &[]).await;
    let (mut team, _) = Visitor::signed_in(&app, &team_email).await;
    let opened = team
        .submit(
            "/omraden/braas/arenden",
            &[
                ("title", "Ingen lokal för läxhjälp"),
                ("description", "Skolan är stängd på kvällarna."),
                ("strategies", "samordnat-mottagande"),
            ],
        )
        .await;
    assert_eq!(opened.status, 303);
    let case_path = opened.location.unwrap();
    let case_path = case_path.split('?').next().unwrap().to_owned();
    let escalated = team
        .submit(
            &format!("{case_path}/eskalera"),
            &[("escalation", "Kan rådet hjälpa oss med en lokal?")],
        )
        .await;
    assert_eq!(escalated.status, 303);
    let case_page = team.get(escalated.location.as_deref().unwrap()).await;
    assert_eq!(case_page.text("h1"), "Ingen lokal för läxhjälp");
    assert_eq!(
        case_page.count("form[action$='/eskalera']"),
        0,
        "escalated once"
    );

    let (mut council, start) = Visitor::signed_in(&app, &council_email).await;
    let flow = council.get(&start).await;
    let rows = flow.texts("section[aria-labelledby=oppna] tbody tr");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0].contains("Ingen lokal för läxhjälp") && rows[0].contains("Områdesteam Braås"),
        "{rows:?}"
    );
    assert!(
        flow.count("svg.flow-diagram line") >= 1,
        "an arrow in the diagram"
    );
    assert!(flow.text("svg.flow-diagram").contains("Braås"));
    let item_path = flow
        .attr("section[aria-labelledby=oppna] tbody a", "href")
        .unwrap();
    let item = council.get(&item_path).await;
    assert!(
        item.text("main")
            .contains("Kan rådet hjälpa oss med en lokal?")
    );
    let answered = council
        .submit(
            &format!("{item_path}/svara"),
            &[("answer", "Ja, Braås bygdegård från mars.")],
        )
        .await;
    assert_eq!(answered.status, 303);
    // The answer's position, carried by its redirect, makes the next page wait for it.
    let after = answered.after();
    let flow = council
        .get(&format!("/rad/informationsflode?efter={after}"))
        .await;
    assert_eq!(
        flow.count("section[aria-labelledby=oppna] tbody tr"),
        0,
        "nothing open any more"
    );

    let timeline = team.get(&format!("/omraden/braas?efter={after}")).await;
    let entries = timeline.texts("ol.timeline > li");
    assert!(
        entries
            .iter()
            .any(|e| e.contains("Ja, Braås bygdegård från mars.")),
        "{entries:?}"
    );
    let case_page = team.get(&format!("{case_path}?efter={after}")).await;
    assert!(
        case_page
            .text("main")
            .contains("Ja, Braås bygdegård från mars.")
    );
}

#[tokio::test]
async fn the_plan_and_a_strategy_page_show_the_plan_and_its_follow_up() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post("/api/v1/areas/araby/activities", json!({"date": "2026-11-02", "title": "Mentorsträff", "strategies": ["mentorskap-och-yrkesnatverk"], "participants": 9}))
        .await;
    assert_eq!(status, 201, "{body}");
    let email = person(&app, "processagare", &[], &["arbetsmarknad-och-naringsliv"]).await;
    let (mut owner, _) = Visitor::signed_in(&app, &email).await;
    let plan = owner.get("/planen").await;
    assert_eq!(
        plan.count("section[aria-labelledby^='p-']"),
        6,
        "six processes"
    );
    assert_eq!(
        plan.count("a[href^='/planen/strategier/']"),
        32,
        "every strategy links to its page"
    );
    crate::helpers::caught_up(&app.db.pool).await;
    let strategy = owner
        .get("/planen/strategier/mentorskap-och-yrkesnatverk")
        .await;
    assert_eq!(strategy.status, 200);
    assert_eq!(strategy.text("h1"), "Mentorskap och yrkesnätverk");
    let rows = strategy.texts("table tbody tr");
    assert!(
        rows.iter().any(|r| r.starts_with("Araby 1 9")),
        "activity per area: {rows:?}"
    );
    assert_eq!(owner.get("/planen/strategier/finns-inte").await.status, 404);

    let mine = owner.get("/processagare").await;
    assert!(
        mine.text("main").contains("Mentorskap och yrkesnätverk"),
        "the owner's strategies are listed"
    );
}

#[tokio::test]
async fn the_accessibility_statement_takes_reports_from_anyone() {
    let app = TestApp::spawn().await;
    let mut visitor = Visitor::new(&app);
    let statement = visitor.get("/tillganglighet").await;
    assert_eq!(statement.status, 200);
    assert_eq!(statement.text("h1"), "Tillgänglighetsredogörelse");
    // The form carries a token of its own, signed in or not.
    let token = statement.attr("input[name=csrf]", "value").unwrap();
    let empty = visitor
        .post(
            "/tillganglighet",
            &[("page", "/planen"), ("problem", ""), ("csrf", &token)],
        )
        .await;
    assert_eq!(empty.status, 422);
    assert!(!empty.text("#problem-fel").is_empty());
    let token = empty.attr("input[name=csrf]", "value").unwrap();
    let sent = visitor
        .post(
            "/tillganglighet",
            &[
                ("page", "/planen"),
                ("problem", "Fokus syns inte på länkarna."),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(sent.status, 200);
    assert!(sent.text("[role=status]").starts_with("Tack"));
    let reports: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE event_type = 'AccessibilityProblemReported'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(reports, 1);
    let missing = visitor.get("/finns-inte").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.text("h1"), "Sidan finns inte");
}

#[tokio::test]
async fn the_coordinator_adds_an_account_from_the_admin_page() {
    let app = TestApp::spawn().await;
    let email = person(&app, "samordnare", &[], &[]).await;
    let (mut coordinator, start) = Visitor::signed_in(&app, &email).await;
    assert_eq!(start, "/oversikt");
    let admin = coordinator.get("/admin").await;
    assert_eq!(admin.status, 200);
    let refused = coordinator
        .submit(
            "/admin/anvandare",
            &[
                ("email", "inte-en-adress"),
                ("name", "Ny"),
                ("role", "omradesteam"),
                ("password", "kort"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(!refused.text("#email-fel").is_empty());
    assert_eq!(refused.attr("#name", "value").as_deref(), Some("Ny"));
    let added = coordinator
        .submit(
            "/admin/anvandare",
            &[
                ("email", "ny@vaxjo.se"),
                ("name", "Nyanställd i Araby"),
                ("role", "omradesteam"),
                ("areas", "araby"),
                ("password", "ett tillräckligt långt lösenord"),
            ],
        )
        .await;
    assert_eq!(added.status, 303);
    let admin = coordinator.get(added.location.as_deref().unwrap()).await;
    let rows = admin.texts("table tbody tr");
    assert!(
        rows.iter()
            .any(|r| r.contains("ny@vaxjo.se") && r.contains("Områdesteam")),
        "{rows:?}"
    );
}

#[tokio::test]
async fn a_rendered_part_is_shared_while_its_read_models_stand_still_and_renewed_when_they_change()
{
    use insats::web::pages::rendered::{Rendered, Standing};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let app = TestApp::spawn().await;
    crate::helpers::caught_up(&app.db.pool).await;
    let state = insats::web::AppState::new(
        app.db.pool.clone(),
        insats::web::Settings {
            secure_cookies: false,
            ..Default::default()
        },
        crate::helpers::keyring(),
    );
    let rendered = Rendered::default();
    let renderings = Arc::new(AtomicUsize::new(0));
    // A part of the council's flow of items, as a page asks for it: where the read models
    // stand, then the part.
    let render = |rendered: Rendered| {
        let (state, renderings) = (state.clone(), renderings.clone());
        async move {
            let standing = Standing::now(&state).await.unwrap();
            rendered
                .get_or_render(&standing, &["council_flow"], "del".into(), || async {
                    let n = renderings.fetch_add(1, Ordering::SeqCst) + 1;
                    // Long enough that the other requests arrive while this one renders.
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    Ok::<_, sqlx::Error>(format!("<p>rendering {n}</p>"))
                })
                .await
                .unwrap()
                .0
                .to_string()
        }
    };
    // Sixteen at once, then one more: one rendering, the same part for all.
    let parts = futures_util::future::join_all((0..16).map(|_| render(rendered.clone()))).await;
    assert!(
        parts.iter().all(|part| part == "<p>rendering 1</p>"),
        "{parts:?}"
    );
    assert_eq!(render(rendered.clone()).await, "<p>rendering 1</p>");
    assert_eq!(renderings.load(Ordering::SeqCst), 1);

    // An activity: the council's projection applies it (its checkpoint moves past it) but
    // its tables do not change, so the part stands.
    let before = insats::projections::checkpoint(&app.db.pool, "council_flow")
        .await
        .unwrap();
    let (status, _) = app
        .post(
            "/api/v1/areas/araby/activities",
            json!({"date": "2026-05-04", "title": "Läxhjälp", "strategies": ["matchningsmetodik"]}),
        )
        .await;
    assert_eq!(status, 201);
    crate::helpers::caught_up(&app.db.pool).await;
    let after = insats::projections::checkpoint(&app.db.pool, "council_flow")
        .await
        .unwrap();
    assert_ne!(before, after, "the projection went past the activity");
    assert_eq!(render(rendered.clone()).await, "<p>rendering 1</p>");

    // An item between the forums changes the council's tables: the next request renders
    // again, once.
    let (status, body) = app
        .post(
            "/api/v1/items",
            json!({"kind": "fraga", "from": "omradesteam:araby", "to": "integrationsrad", "title": "Lokaler", "text": "Finns det lokaler?"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    crate::helpers::caught_up(&app.db.pool).await;
    assert_eq!(render(rendered.clone()).await, "<p>rendering 2</p>");
    assert_eq!(render(rendered.clone()).await, "<p>rendering 2</p>");
    assert_eq!(renderings.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn pages_seen_before_a_change_show_it_once_their_read_models_have_it() {
    let app = TestApp::spawn().await;
    let team = person(&app, "omradesteam", &["araby"], &[]).await;
    let council = person(&app, "integrationsrad", &[], &[]).await;
    let (mut team, _) = Visitor::signed_in(&app, &team).await;
    let (mut council, _) = Visitor::signed_in(&app, &council).await;
    crate::helpers::caught_up(&app.db.pool).await;
    // Seen (and kept rendered) before anything happened.
    let before = team.get("/omraden/araby").await;
    assert_eq!(before.count("ol.timeline > li"), 0);
    let flow = council.get("/rad/informationsflode").await;
    assert_eq!(flow.status, 200);
    assert!(!flow.body.contains("Lokaler för språkcafé"));
    let strategy = team.get("/planen/strategier/matchningsmetodik").await;
    assert_eq!(strategy.status, 200);
    assert!(!strategy.body.contains("Läxhjälp i Araby"));

    // Changes through the API, which carry no position for the pages to wait for.
    let (status, _) = app
        .post(
            "/api/v1/areas/araby/activities",
            json!({"date": "2026-05-04", "title": "Läxhjälp i Araby", "strategies": ["matchningsmetodik"]}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = app
        .post(
            "/api/v1/items",
            json!({"kind": "fraga", "from": "omradesteam:araby", "to": "integrationsrad", "title": "Lokaler för språkcafé", "text": "Finns det lokaler?"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    crate::helpers::caught_up(&app.db.pool).await;

    let after = team.get("/omraden/araby").await;
    let entries = after.texts("ol.timeline > li");
    assert!(
        entries
            .iter()
            .any(|entry| entry.contains("Läxhjälp i Araby")),
        "{entries:?}"
    );
    let flow = council.get("/rad/informationsflode").await;
    assert!(flow.body.contains("Lokaler för språkcafé"));
    let strategy = team.get("/planen/strategier/matchningsmetodik").await;
    assert!(strategy.body.contains("Araby"), "the activity per area");
}

#[tokio::test]
async fn a_timeline_seen_before_an_erasure_never_shows_the_erased_text_again() {
    let app = TestApp::spawn().await;
    let team = person(&app, "omradesteam", &["araby"], &[]).await;
    let (mut team, _) = Visitor::signed_in(&app, &team).await;
    let (status, case) = app
        .post(
            "/api/v1/areas/araby/cases",
            json!({"title": "Bostadsfråga", "description": "Familjen Kanariesson behöver stöd", "strategies": ["oka-tillgangen-till-bostader"]}),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    crate::helpers::caught_up(&app.db.pool).await;
    // Seen, and kept rendered, with the text.
    let before = team.get("/omraden/araby").await;
    assert!(before.body.contains("Kanariesson"), "{}", before.body);

    let (status, erased) = app
        .post(
            &format!("/api/v1/cases/{}/erasure", case["id"].as_str().unwrap()),
            json!({"decision": "Dnr KS 2026/123", "reason": "Gallringsbeslut"}),
        )
        .await;
    assert_eq!(status, 201, "{erased}");
    // At once, before the projections have applied the erasure, and after.
    let right_after = team.get("/omraden/araby").await;
    assert!(
        !right_after.body.contains("Kanariesson"),
        "{}",
        right_after.body
    );
    crate::helpers::caught_up(&app.db.pool).await;
    let after = team.get("/omraden/araby").await;
    assert!(!after.body.contains("Kanariesson"), "{}", after.body);
    assert!(
        after
            .body
            .contains("[raderat enligt beslut Dnr KS 2026/123]")
    );
}

#[tokio::test]
async fn the_councils_open_items_are_newest_first_filtered_paged_and_new_since_the_last_visit() {
    let app = TestApp::spawn().await;
    let raise = |title: String, kind: &'static str, from: &'static str| {
        let app = &app;
        async move {
            let (status, body) = app
                .post(
                    "/api/v1/items",
                    json!({"from": from, "to": "integrationsrad", "kind": kind, "title": title, "text": "Text."}),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            body["position"].as_i64().unwrap()
        }
    };
    for n in 1..=27 {
        raise(format!("Fråga {n}"), "fraga", "omradesteam:araby").await;
    }
    let last = raise(
        "Information från Teleborg".into(),
        "information",
        "omradesteam:teleborg",
    )
    .await;
    let email = person(&app, "integrationsrad", &[], &[]).await;
    let (mut council, _) = Visitor::signed_in(&app, &email).await;
    let first = council.get(&format!("/rad/oppna?efter={last}")).await;
    assert_eq!(first.status, 200);
    let titles = first.texts("tbody tr td:first-child a");
    assert_eq!(titles.len(), 25, "a page lists twenty-five");
    assert_eq!(titles[0], "Information från Teleborg", "newest first");
    assert_eq!(first.count(".tag"), 0, "nothing is new on a first visit");
    assert!(first.text("nav[aria-label=Sidor]").contains("Sida 1 av 2"));
    let second = council
        .get(&first.attr("a[rel=next]", "href").expect("a next page"))
        .await;
    assert_eq!(second.texts("tbody tr td:first-child a").len(), 3);
    // Past the last page nothing is listed, and the count of what matches still holds.
    let beyond = council.get("/rad/oppna?sida=5").await;
    assert_eq!(beyond.status, 200);
    assert!(beyond.texts("tbody tr td:first-child a").is_empty());
    assert!(
        beyond.text("nav[aria-label=Sidor]").contains("av 2"),
        "{}",
        beyond.text("main")
    );

    let filtered = council
        .get("/rad/oppna?typ=information&fran=omradesteam%3Ateleborg")
        .await;
    assert_eq!(
        filtered.texts("tbody tr td:first-child a"),
        ["Information från Teleborg"]
    );

    let newer = raise("Fråga efter besöket".into(), "fraga", "omradesteam:araby").await;
    let again = council.get(&format!("/rad/oppna?efter={newer}")).await;
    let rows = again.texts("tbody tr td:first-child");
    assert!(
        rows[0].starts_with("Fråga efter besöket") && rows[0].contains("Nytt"),
        "{rows:?}"
    );
    assert_eq!(
        again.count(".tag"),
        1,
        "only what came after the last visit is new"
    );
    assert!(
        again
            .text("[role=status]")
            .contains("sedan ditt senaste besök")
    );
}

#[tokio::test]
async fn search_finds_titles_and_partners_in_swedish_but_never_free_text() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post(
            "/api/v1/areas/araby/activities",
            json!({"date": "2026-11-02", "title": "Språkcaféer för nyanlända", "description": "Hemligt: Ahmed kom.",
                   "strategies": ["samordnat-mottagande"], "partners": ["Arbetsförmedlingen"], "participants": 9}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .post(
            "/api/v1/areas/teleborg/cases",
            json!({"title": "Lokal för språkcafé saknas", "description": "Beskrivning med namnet Ahmed.", "strategies": ["samordnat-mottagande"]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let position = body["position"].as_i64().unwrap();
    let email = person(&app, "integrationsrad", &[], &[]).await;
    let (mut council, _) = Visitor::signed_in(&app, &email).await;
    council
        .get(&format!("/omraden/teleborg?efter={position}"))
        .await;
    // Swedish stemming: "språkcafé" finds "Språkcaféer" as well.
    let found = council.get("/sok?q=spr%C3%A5kcaf%C3%A9").await;
    assert_eq!(found.status, 200);
    assert_eq!(found.count(".result"), 2, "{}", found.text("main"));
    assert!(found.text("[role=status]").starts_with("2 träffar"));
    let by_partner = council.get("/sok?q=Arbetsf%C3%B6rmedlingen").await;
    assert_eq!(by_partner.count(".result"), 1);
    let free_text = council.get("/sok?q=Ahmed").await;
    assert_eq!(free_text.count(".result"), 0, "free text is never searched");
    assert!(free_text.text("[role=status]").contains("Inget hittades"));
}

#[tokio::test]
async fn an_activity_has_its_own_page_with_its_corrections_and_follow_ups_are_listed() {
    let app = TestApp::spawn().await;
    let log = |title: &'static str, follow_up: bool| {
        let app = &app;
        async move {
            let (status, body) = app
                .post(
                    "/api/v1/areas/araby/activities",
                    json!({"date": "2026-11-02", "title": title, "strategies": ["samordnat-mottagande"],
                           "participants": 5, "follow_up": follow_up}),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            body["id"].as_str().unwrap().to_owned()
        }
    };
    let kept = log("Läxhjälp i Araby", true).await;
    let retracted = log("Felloggad träff", true).await;
    log("Klar träff", false).await;
    let (status, body) = app
        .post(
            &format!("/api/v1/activities/{kept}/corrections"),
            json!({"reason": "Fel antal", "activity": {"date": "2026-11-02", "title": "Läxhjälp i Araby",
                   "strategies": ["samordnat-mottagande"], "participants": 7, "follow_up": true}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .post(
            &format!("/api/v1/activities/{retracted}/retraction"),
            json!({"reason": "Dubblett"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let position = body["position"].as_i64().unwrap();
    let email = person(&app, "omradesteam", &["araby"], &[]).await;
    let (mut team, _) = Visitor::signed_in(&app, &email).await;
    let list = team
        .get(&format!("/omraden/araby/uppfoljning?efter={position}"))
        .await;
    assert_eq!(list.status, 200);
    let listed = list.texts("ol.timeline > li p.what");
    assert_eq!(
        listed.len(),
        1,
        "only the one still marked and not retracted: {listed:?}"
    );
    assert!(listed[0].contains("Läxhjälp i Araby"), "{listed:?}");
    let page = team
        .get(
            &list
                .attr("a[href^='/insatser/']", "href")
                .expect("a link to its page"),
        )
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.count("ol.timeline > li"),
        2,
        "as logged and as corrected"
    );
    assert!(
        page.text("main").contains("Fel antal"),
        "the correction's reason"
    );
    assert_eq!(team.get("/insatser/finns-inte").await.status, 404);
}

/// A read of the timeline takes one connection and holds it for all it reads, so it must
/// never wait for a second one while it holds it: with two connections in the pool (one
/// kept by the projections' listener), such a wait would stand until the pool's five-second
/// timeout and answer 503. The plan's and the areas' caches read the database again every
/// half second, so the pages below are shown across several of those reads.
#[tokio::test]
async fn timeline_reads_never_wait_for_a_second_connection_while_holding_one() {
    let app = TestApp::spawn_on(2, insats::web::Settings::default()).await;
    for title in ["Bostadsfråga", "Skolplacering", "Tolkbehov"] {
        let (status, case) = app
            .post(
                "/api/v1/areas/araby/cases",
                json!({"title": title, "description": "Familjen behöver stöd", "strategies": ["oka-tillgangen-till-bostader"]}),
            )
            .await;
        assert_eq!(status, 201, "{case}");
    }
    crate::helpers::caught_up(&app.db.pool).await;
    let team = person(&app, "omradesteam", &["araby"], &[]).await;
    let mut readers = Vec::new();
    for reader in 0..6 {
        let (mut visitor, _) = Visitor::signed_in(&app, &team).await;
        let (client, address, token) = (app.client.clone(), app.address.clone(), app.token.clone());
        readers.push(tokio::spawn(async move {
            let started = std::time::Instant::now();
            let mut request = 0;
            while started.elapsed() < std::time::Duration::from_millis(1_600) {
                request += 1;
                // Each page a different one, so none is kept rendered.
                let path = format!(
                    "/omraden/araby?sida=2099-01-{:02}_{reader}{request}",
                    request % 28 + 1
                );
                {
                    let page = visitor.get(&path).await;
                    assert_eq!(page.status, 200, "{}", page.body);
                    assert!(page.body.contains("Familjen behöver stöd"), "{}", page.body);
                }
                let answer = client
                    .get(format!("{address}/api/v1/areas/araby/timeline"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(answer.status(), 200);
            }
            request
        }));
    }
    for reader in readers {
        let shown = reader.await.expect("every page answered");
        assert!(shown > 1, "each reader was shown more than one page");
    }
}
