//! The pages in a real headless Chromium: `tests/browser/day.mjs` (puppeteer-core and
//! axe-core from npm) plays an area team's and the council's day against a fresh Insats.
//!
//! Needs `node`, Chromium (`CHROMIUM`, default `/usr/bin/chromium`) and `npm ci` run in
//! `tests/browser`. Without them the test says so loudly and passes, unless
//! `INSATS_REQUIRE_BROWSER=1` (as `.ci/run` sets), when it fails instead.

use crate::helpers::{PASSWORD, TestApp};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// What is missing to run the browser tests, if anything.
fn missing() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!("no Chromium at {chromium} (apt install chromium)"));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("no node on PATH".into());
    }
    if !browser_dir().join("node_modules/puppeteer-core").exists() {
        return Some(
            "tests/browser/node_modules is missing (npm ci --prefix tests/browser)".into(),
        );
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_working_day_in_the_browser() {
    if let Some(what) = missing() {
        let required = std::env::var("INSATS_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "the browser tests are required but cannot run: {what}"
        );
        eprintln!("\n!!! SKIPPING the browser tests: {what}\n");
        return;
    }
    let app = TestApp::spawn().await;
    let credentials = |user: insats::accounts::User| json!({ "email": user.email, "password": PASSWORD, "name": user.name });
    let users = json!({
        "area": credentials(app.user("omradesteam", &["araby"], &[]).await.0),
        "council": credentials(app.user("integrationsrad", &[], &[]).await.0),
        "coordinator": credentials(app.user("samordnare", &[], &[]).await.0),
        "owner": credentials(app.user("processagare", &[], &["livslangt-larande"]).await.0),
        "committee": credentials(app.user("integrationsberedning", &[], &[]).await.0),
        "auditor": credentials(app.user("revisor", &[], &[]).await.0),
    });
    // Browsers treat http://localhost as a secure origin, so the `__Host-` cookies work.
    let url = app.address.replace("127.0.0.1", "localhost");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("day.mjs")
            .current_dir(browser_dir())
            .env("INSATS_URL", url)
            .env("INSATS_USERS", users.to_string())
            .env("INSATS_AREA", "araby")
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the browser day failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("passed axe-core"),
        "the script ran to its end:\n{stdout}"
    );
}
