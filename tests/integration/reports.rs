//! The follow-up report: compiled from the log, read as text with `pdftotext` (poppler),
//! issued by the coordinator only, compiled again byte for byte after later events and
//! after an erasure of text it never held, checked with `insats audit verify-report`, and
//! never showing secret text.

use serde_json::json;
use std::process::Command;

use crate::helpers::{TestApp, caught_up, demo_history, key_file};
use crate::visitor::Visitor;

/// The text of a PDF, as `pdftotext` (poppler-utils, installed by `.ci/run`) reads it.
fn pdf_text(pdf: &[u8]) -> String {
    let path = std::env::temp_dir().join(format!("insats-report-{}.pdf", uuid::Uuid::new_v4()));
    std::fs::write(&path, pdf).unwrap();
    let output = Command::new("pdftotext")
        .args([path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) is installed: .ci/run installs it");
    std::fs::remove_file(&path).ok();
    assert!(output.status.success(), "pdftotext reads the PDF");
    String::from_utf8(output.stdout).unwrap()
}

/// `insats audit verify-report FILE` on the test database: exit code and what it says.
fn verify_report(app: &TestApp, pdf: &[u8]) -> (i32, String) {
    let path = std::env::temp_dir().join(format!("insats-verify-{}.pdf", uuid::Uuid::new_v4()));
    std::fs::write(&path, pdf).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_insats"))
        .args(["audit", "verify-report", path.to_str().unwrap()])
        .env("DATABASE_URL", app.db.url())
        .env("INSATS_MASTER_KEY_FILE", key_file())
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    std::fs::remove_file(&path).ok();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

async fn bytes(visitor: &mut Visitor, path: &str) -> (u16, String, Vec<u8>) {
    let response = visitor
        .client
        .get(format!("{}{path}", visitor.address))
        .header("cookie", visitor.cookie_header())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        content_type,
        response.bytes().await.unwrap().to_vec(),
    )
}

/// A period that has begun: the tertial of today, as the report's address writes it.
fn this_tertial() -> insats::domain::follow_up::ReportPeriod {
    insats::domain::follow_up::Cycle::Tertial
        .period_containing(time::OffsetDateTime::now_utc().date())
}

#[tokio::test]
async fn an_issued_report_is_compiled_again_byte_for_byte_and_never_shows_secret_text() {
    let app = TestApp::spawn().await;
    let services = crate::helpers::insats(&app);
    let period = this_tertial();
    let today = time::OffsetDateTime::now_utc().date();
    demo_history(
        &services,
        &[("araby", "Araby"), ("teleborg", "Teleborg")],
        2_000,
        7,
        today,
    )
    .await;

    // A status report with a comment, and a case whose description is secret and which
    // is escalated with a text of its own.
    let (status, body) = app
        .post(
            "/api/v1/strategies/matchningsmetodik/status-reports",
            json!({"period_start": period.start().to_string(), "period_end": period.end().to_string(),
                   "status": "risk", "comment": "Företagsbesöken har minskat under hösten"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, case) = app
        .post(
            "/api/v1/areas/araby/cases",
            json!({"title": "Familj behöver tolk", "description": "HEMLIG-BESKRIVNING om familjen",
                   "strategies": ["matchningsmetodik"]}),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    let case_id = case["id"].as_str().unwrap().to_owned();
    let (status, body) = app
        .post(
            &format!("/api/v1/cases/{case_id}/secrecy"),
            json!({"target": "description", "secret": true}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .post(
            &format!("/api/v1/cases/{case_id}/escalate"),
            json!({"text": "HEMLIG-ESKALERING behöver rådets hjälp"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    caught_up(&app.db.pool).await;

    // The coordinator issues the report from its page.
    let (coordinator, _) = app.user("samordnare", &[], &[]).await;
    let (mut visitor, _) = Visitor::signed_in(&app, &coordinator.email).await;
    let page_path = format!("/rapporter/{}", period.key());
    let page = visitor.get(&page_path).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains(&format!("Uppföljningsrapport – {}", period.label()))
    );
    assert!(
        page.body
            .contains("Företagsbesöken har minskat under hösten")
    );
    assert!(
        !page.body.contains("HEMLIG"),
        "no secret text on the report's page"
    );
    visitor.csrf = page.attr("input[name=csrf]", "value").unwrap();
    let issued = visitor.submit(&format!("{page_path}/faststall"), &[]).await;
    assert_eq!(issued.status, 303, "{}", issued.body);
    let follow_up = app.stream("follow-up").await;
    assert_eq!(follow_up.len(), 1);
    assert_eq!(follow_up[0].event_type, "ReportIssued");
    let sha = follow_up[0].data["sha256"].as_str().unwrap().to_owned();
    let report_id = follow_up[0].data["report_id"].as_str().unwrap().to_owned();

    // The issued PDF, compiled again from the log, has the recorded checksum.
    let issued_path = format!("/rapporter/faststallda/{report_id}");
    let (status, content_type, pdf) = bytes(&mut visitor, &issued_path).await;
    assert_eq!((status, content_type.as_str()), (200, "application/pdf"));
    assert_eq!(insats::app::follow_up::digest(&pdf), sha);
    let text = pdf_text(&pdf);
    for expected in [
        format!("Uppföljningsrapport – {}", period.label()).as_str(),
        "Sammanfattning",
        "Företagsbesöken har minskat under hösten",
        "Araby",
        "Teleborg",
        "Familj behöver tolk",
        "Nyckeltal",
    ] {
        assert!(
            text.contains(expected),
            "the PDF says {expected:?}:\n{text}"
        );
    }
    assert!(
        !text.contains("HEMLIG"),
        "no secret or case text in the PDF"
    );
    let (code, said) = verify_report(&app, &pdf);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("stämmer med loggen"), "{said}");

    // Later events and an erasure of text the report never held change nothing in it.
    let (status, body) = app
        .post(
            "/api/v1/areas/araby/activities",
            json!({"date": today.to_string(), "title": "Språkcafé", "strategies": ["matchningsmetodik"], "participants": 12}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    services
        .erase_personal_data(
            &insats::app::CommandContext::new(insats::domain::actor::Actor::system()),
            insats::app::ErasureTarget::Case(uuid::Uuid::parse_str(&case_id).unwrap()),
            "KS 2026/17",
            "Begäran om radering",
            None,
        )
        .await
        .unwrap();
    let (_, _, again) = bytes(&mut visitor, &issued_path).await;
    assert_eq!(again, pdf, "the issued report compiles to the same bytes");
    let (code, said) = verify_report(&app, &again);
    assert_eq!(code, 0, "{said}");

    // The report as it stands now is another PDF, which also checks against the log.
    let (_, _, now) = bytes(&mut visitor, &format!("{page_path}/rapport.pdf")).await;
    assert_ne!(now, pdf, "the later activity is in today's report");
    let (code, said) = verify_report(&app, &now);
    assert_eq!(
        (code, said.contains("inte fastställd")),
        (0, true),
        "{said}"
    );

    // A changed file does not.
    let mut tampered = pdf.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 0x20;
    let (code, said) = verify_report(&app, &tampered);
    assert_eq!(code, 1, "{said}");
    let (code, said) = verify_report(&app, b"%PDF-1.7 not a report");
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("ingen rapport"), "{said}");

    // The auditor's page says the issued report matches.
    let (auditor, _) = app.user("revisor", &[], &[]).await;
    let (mut auditor, _) = Visitor::signed_in(&app, &auditor.email).await;
    let audit = auditor.get("/granskning/rapporter").await;
    assert_eq!(audit.status, 200);
    assert!(audit.body.contains("stämmer med loggen"), "{}", audit.body);

    // On the audit page the auditor checks a file: the issued PDF, a changed one, none.
    auditor.csrf = audit.attr("input[name=csrf]", "value").unwrap();
    let csrf = auditor.csrf.clone();
    let check = "/granskning/rapporter/kontroll";
    let checked = auditor
        .upload(check, &[("csrf", &csrf)], ("pdf", "rapport.pdf", &pdf))
        .await;
    assert_eq!(checked.status, 200, "{}", checked.body);
    let said = checked.text("[role=status]");
    assert!(said.contains("rapport.pdf"), "{said}");
    assert!(said.contains("den stämmer med loggen"), "{said}");
    let checked = auditor
        .upload(check, &[("csrf", &csrf)], ("pdf", "andrad.pdf", &tampered))
        .await;
    assert!(
        !checked
            .text("[role=status]")
            .contains("den stämmer med loggen")
    );
    let empty = auditor
        .upload(check, &[("csrf", &csrf)], ("pdf", "", b""))
        .await;
    assert!(
        empty.text(".error-summary").contains("Välj en PDF-fil"),
        "{}",
        empty.body
    );
    // A file larger than Insats takes is refused with a sentence about the file.
    let huge = vec![b'%'; 33 * 1024 * 1024];
    let too_large = auditor
        .upload(check, &[("csrf", &csrf)], ("pdf", "stor.pdf", &huge))
        .await;
    assert_eq!(too_large.status, 413);
    assert!(
        too_large.text("main").contains("Filen är större"),
        "{}",
        too_large.body
    );
    // Without the session's token, nothing is checked.
    let forged = auditor
        .upload(check, &[], ("pdf", "rapport.pdf", &pdf))
        .await;
    assert_eq!(forged.status, 403);
    // An area team member may not use the auditor's tools.
    let (team, _) = app.user("omradesteam", &["araby"], &[]).await;
    let (mut team, _) = Visitor::signed_in(&app, &team.email).await;
    let page = team.get("/rapporter").await;
    team.csrf = page.attr("input[name=csrf]", "value").unwrap();
    let team_csrf = team.csrf.clone();
    let refused = team
        .upload(check, &[("csrf", &team_csrf)], ("pdf", "rapport.pdf", &pdf))
        .await;
    assert_eq!(refused.status, 403);

    // The coordinator sends the issued report to the Integrationsberedning, once: an item
    // from the coordinator (its föredragande) to the committee, with no report text in it.
    let list = visitor.get("/rapporter").await;
    visitor.csrf = list.attr("input[name=csrf]", "value").unwrap();
    let send = format!("{issued_path}/skicka");
    let sent = visitor.submit(&send, &[]).await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let raised: Vec<serde_json::Value> = sqlx::query_scalar(
        "SELECT data FROM events WHERE event_type = 'ItemRaised' AND data->>'from' = 'samordnare'",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0]["to"], "integrationsberedning");
    assert_eq!(raised[0]["kind"], "rapport");
    assert_eq!(
        raised[0]["title"],
        format!("Uppföljningsrapport {}", period.label())
    );
    let again = visitor.submit(&send, &[]).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("redan skickad"), "{}", again.body);
    let list = visitor
        .get(&format!("/rapporter?efter={}", sent.after()))
        .await;
    assert!(list.text("table").contains("Skickad"), "{}", list.body);
    // Nobody but the coordinator sends it.
    let refused = team.submit(&send, &[]).await;
    assert_eq!(refused.status, 403);
}

#[tokio::test]
async fn everyone_reads_reports_and_only_the_coordinator_issues_them_or_sets_the_rhythm() {
    let app = TestApp::spawn().await;
    let period = this_tertial();
    let (team, _) = app.user("omradesteam", &["araby"], &[]).await;
    let (mut visitor, _) = Visitor::signed_in(&app, &team.email).await;
    let list = visitor.get("/rapporter").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("Uppföljningen görs per"));
    assert!(list.body.contains(&period.label()));
    let page = visitor.get(&format!("/rapporter/{}", period.key())).await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("Fastställ rapporten"),
        "no issuing for an area team"
    );
    let (status, content_type, csv) = bytes(
        &mut visitor,
        &format!("/rapporter/{}/underlag.csv", period.key()),
    )
    .await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/csv; charset=utf-8")
    );
    assert!(String::from_utf8_lossy(&csv).contains("Del;Gäller;Uppgift;Värde"));
    visitor.csrf = page.attr("input[name=csrf]", "value").unwrap();
    let refused = visitor
        .submit(&format!("/rapporter/{}/faststall", period.key()), &[])
        .await;
    assert_eq!(refused.status, 403);
    let refused = visitor
        .submit("/rapporter/rytm", &[("cycle", "kvartal")])
        .await;
    assert_eq!(refused.status, 403);
    assert!(app.stream("follow-up").await.is_empty());
    assert_eq!(visitor.get("/rapporter/2026-tertial-9").await.status, 404);
    assert_eq!(
        visitor
            .get("/rapporter/faststallda/inte-ett-id")
            .await
            .status,
        404
    );

    // The coordinator chooses quarters: the list and the process owners' page follow.
    let (coordinator, _) = app.user("samordnare", &[], &[]).await;
    let (mut coordinator, _) = Visitor::signed_in(&app, &coordinator.email).await;
    let list = coordinator.get("/rapporter").await;
    coordinator.csrf = list.attr("input[name=csrf]", "value").unwrap();
    let bad = coordinator
        .submit("/rapporter/rytm", &[("cycle", "varannan-vecka")])
        .await;
    assert_eq!(bad.status, 422);
    let saved = coordinator
        .submit("/rapporter/rytm", &[("cycle", "kvartal")])
        .await;
    assert_eq!(saved.status, 303);
    let list = coordinator.get("/rapporter").await;
    let quarter = insats::domain::follow_up::Cycle::Kvartal
        .period_containing(time::OffsetDateTime::now_utc().date());
    assert!(list.body.contains(&quarter.label()), "{}", list.body);
    let owner = coordinator.get("/processagare").await;
    let last = insats::domain::follow_up::Cycle::Kvartal
        .last_ended(time::OffsetDateTime::now_utc().date());
    assert!(
        owner
            .body
            .contains(&format!("Rapport för {}", last.label().to_lowercase())),
        "the status report is due for the last quarter"
    );
    // A period that has not begun cannot be issued.
    let next = quarter.next();
    let refused = coordinator
        .submit(&format!("/rapporter/{}/faststall", next.key()), &[])
        .await;
    assert_eq!(refused.status, 422);
}
