//! The follow-up reports (uppföljningsrapporter): `/rapporter` lists the periods of the
//! rhythm the coordinator chose and the reports issued; each period's report is a page
//! that prints as A4, a PDF and a CSV of its figures. The coordinator chooses the rhythm
//! and issues (fastställer) a report; everyone signed in may read them, since a report
//! holds no text about newcomers.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};

use super::components::{csrf, first, form_fields, refused, see_other};
use super::{After, Missing, PageUser, page};
use crate::app::ReportCheck;
use crate::domain::actor::Role;
use crate::domain::follow_up::{Cycle, ReportPeriod};
use crate::report::pdf::{Block, blocks};
use crate::report::{self, Report};
use crate::web::AppState;
use crate::web::extract::{FormBody, Query, Upload};
use crate::web::paths;

/// How many periods back the list offers.
const PERIODS: usize = 6;

fn period_of(key: &str) -> Result<ReportPeriod, Missing> {
    ReportPeriod::from_key(key).ok_or(Missing("Det finns ingen sådan period."))
}

/// `/rapporter`
pub async fn list(
    _: paths::Reports,
    State(state): State<AppState>,
    user: PageUser,
    Query(after): Query<After>,
) -> Response {
    let follow_up = match state.services.follow_up().await {
        Ok(follow_up) => follow_up,
        Err(error) => return refused(error),
    };
    let today = state.services.today();
    let mut periods = vec![follow_up.cycle.period_containing(today)];
    while periods.len() < PERIODS {
        let before = periods[periods.len() - 1].previous();
        periods.push(before);
    }
    let coordinator = user.role() == Role::Samordnare;
    let mut sent = Vec::with_capacity(follow_up.issued.len());
    for issued in &follow_up.issued {
        match state.services.report_sent(issued.report_id).await {
            Ok(was_sent) => sent.push(was_sent),
            Err(error) => return refused(error),
        }
    }
    page(
        "Uppföljningsrapporter",
        Some(&user.viewer()),
        html! {
            h1 { "Uppföljningsrapporter" }
            @if after.efter.is_some() {
                p.notice role="status" { "Sparat." }
            }
            p { "Uppföljningen görs per " strong { (follow_up.cycle.label()) } ". Rapporten för en period sammanställs ur allt som registrerats i Insats: processägarnas statusrapporter, områdenas insatser och ärenden, skrivelser mellan forumen, rådets granskningar och nyckeltalen." }
            h2 { "Perioder" }
            ul {
                @for period in &periods {
                    li {
                        a href=(paths::Report { period: period.key() }) { (period.label()) }
                        @if period.start() <= today && today <= period.end() { " (pågår)" }
                    }
                }
            }
            h2 { "Fastställda rapporter" }
            @if follow_up.issued.is_empty() {
                p.hint { "Ingen rapport är fastställd än." }
            } @else {
                div.table-scroll tabindex="0" role="region" aria-label="Fastställda rapporter, tabell som kan rullas i sidled" {
                    table {
                        thead { tr { th scope="col" { "Period" } th scope="col" { "Sammanställd till och med händelse" } th scope="col" { "Rapporten" } th scope="col" { "Till Integrationsberedningen" } } }
                        tbody {
                            @for (issued, sent) in follow_up.issued.iter().zip(&sent).rev() {
                                tr {
                                    th scope="row" { (issued.period.label()) }
                                    td { (issued.position) }
                                    td { a href=(paths::IssuedReport { id: issued.report_id.to_string() }) { "PDF för " (issued.period.label().to_lowercase()) } }
                                    td {
                                        @if *sent {
                                            "Skickad"
                                        } @else if coordinator {
                                            form method="post" action=(paths::ReportSend { id: issued.report_id.to_string() }) {
                                                (csrf(&user.csrf))
                                                button type="submit" aria-label={ "Skicka rapporten för " (issued.period.label().to_lowercase()) " till Integrationsberedningen" } { "Skicka" }
                                            }
                                        } @else {
                                            "Inte skickad än"
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if coordinator {
                h2 { "Hur ofta uppföljningen görs" }
                p { "Planen säger inte hur ofta strategierna ska följas upp; det bestämmer kommunen. Statusrapporternas perioder och rapporterna följer valet." }
                form method="post" action=(paths::ReportCycle) {
                    (csrf(&user.csrf))
                    fieldset {
                        legend { "Uppföljning per" }
                        @for cycle in Cycle::ALL {
                            div.choice {
                                input type="radio" name="cycle" id={ "cycle-" (cycle.as_str()) } value=(cycle.as_str()) checked[cycle == follow_up.cycle];
                                label for={ "cycle-" (cycle.as_str()) } { (cycle.label()) }
                            }
                        }
                    }
                    button type="submit" { "Spara" }
                }
            }
        },
    )
    .into_response()
}

/// `POST /rapporter/rytm`
pub async fn set_cycle(
    _: paths::ReportCycle,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let fields = form_fields(&body);
    match state
        .services
        .set_follow_up_cycle(&user.ctx(&fields), first(&fields, "cycle"))
        .await
    {
        Ok(done) => see_other(&format!("{}?efter={}", paths::Reports, done.position)),
        Err(error) => refused(error),
    }
}

async fn compiled(state: &AppState, period: ReportPeriod) -> Result<Report, Response> {
    state
        .services
        .report(&state.settings.units, period, None)
        .await
        .map_err(refused)
}

/// `/rapporter/{period}`: the report as a page that prints as A4.
pub async fn show(
    paths::Report { period }: paths::Report,
    State(state): State<AppState>,
    user: PageUser,
    Query(after): Query<After>,
) -> Response {
    let period = match period_of(&period) {
        Ok(period) => period,
        Err(missing) => return missing.into_response(),
    };
    let report = match compiled(&state, period).await {
        Ok(report) => report,
        Err(response) => return response,
    };
    let issued = after.efter.is_some();
    page(
        &report.title(),
        Some(&user.viewer()),
        html! {
            (print_style(&report))
            nav.actions aria-label="Rapporten i andra format" {
                a href=(paths::Reports) { "Alla rapporter" } " · "
                a href=(paths::ReportPdf { period: period.key() }) { "Ladda ner som PDF" } " · "
                a href=(paths::ReportCsv { period: period.key() }) { "Siffrorna som CSV" }
            }
            @if issued {
                p.notice role="status" { "Rapporten är fastställd. Den finns i listan över fastställda rapporter." }
            }
            @if user.role() == Role::Samordnare {
                form.actions method="post" action=(paths::ReportIssue { period: period.key() }) {
                    (csrf(&user.csrf))
                    p { "Fastställ rapporten som den ser ut nu. Loggen sparar var rapporten sammanställdes ifrån och PDF-filens kontrollsumma, så att den kan tas fram igen och kontrolleras." }
                    button type="submit" { "Fastställ rapporten" }
                }
            }
            article.report { (render(&report, &state)) }
        },
    )
    .into_response()
}

/// The running header and page numbers when the page is printed.
fn print_style(report: &Report) -> Markup {
    let title = report.title().replace(['"', '\\'], "");
    html! {
        style { (PreEscaped(format!(
            "@media print {{ @page {{ size: A4; margin: 22mm 16mm 20mm; \
             @top-left {{ content: \"{title}\"; font-size: 8pt; }} \
             @bottom-right {{ content: \"Sida \" counter(page) \" av \" counter(pages); font-size: 8pt; }} }} }}"
        ))) }
    }
}

/// The report's blocks as HTML: the same words and tables as the PDF.
fn render(report: &Report, state: &AppState) -> Markup {
    html! {
        @for block in blocks(report) {
            @match block {
                Block::Heading(1, text) => h1 { (text) },
                Block::Heading(2, text) => h2 { (text) },
                Block::Heading(_, text) => h3 { (text) },
                Block::Para(text) => p { (text) },
                Block::Strong(text) => p { strong { (text) } },
                Block::Bullets(items) => ul { @for item in items { li { (item) } } },
                Block::Table { header, rows, .. } => div.table-scroll tabindex="0" role="region" aria-label={ (header.join(", ")) ", tabell som kan rullas i sidled" } {
                    table {
                        thead { tr { @for cell in &header { th scope="col" { (cell) } } } }
                        tbody { @for row in &rows { tr {
                            @for (n, cell) in row.iter().enumerate() {
                                @if n == 0 { th scope="row" { (cell) } } @else { td { (cell) } }
                            }
                        } } }
                    }
                },
                Block::Chart(chart) => @if let Some(view) = report.indicators.get(chart.indicator) {
                    (super::indicators::chart(view, &state.settings.units))
                },
                Block::PageBreak => div.page-break {},
            }
        }
    }
}

fn attachment(content_type: &'static str, name: String, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// A period's report as a file to download: `kind` names the file ("pdf", "csv").
async fn download(
    state: &AppState,
    period: &str,
    content_type: &'static str,
    kind: &str,
    write: fn(&Report) -> Vec<u8>,
) -> Response {
    let period = match period_of(period) {
        Ok(period) => period,
        Err(missing) => return missing.into_response(),
    };
    match compiled(state, period).await {
        Ok(report) => attachment(
            content_type,
            format!("uppfoljningsrapport-{}.{kind}", period.key()),
            write(&report),
        ),
        Err(response) => response,
    }
}

/// `/rapporter/{period}/rapport.pdf`
pub async fn pdf(
    paths::ReportPdf { period }: paths::ReportPdf,
    State(state): State<AppState>,
    _user: PageUser,
) -> Response {
    download(
        &state,
        &period,
        "application/pdf",
        "pdf",
        report::pdf::render,
    )
    .await
}

/// `/rapporter/{period}/underlag.csv`
pub async fn csv(
    paths::ReportCsv { period }: paths::ReportCsv,
    State(state): State<AppState>,
    _user: PageUser,
) -> Response {
    download(
        &state,
        &period,
        "text/csv; charset=utf-8",
        "csv",
        report::csv,
    )
    .await
}

/// `POST /rapporter/{period}/faststall`
pub async fn issue(
    paths::ReportIssue { period }: paths::ReportIssue,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let period = match period_of(&period) {
        Ok(period) => period,
        Err(missing) => return missing.into_response(),
    };
    let fields = form_fields(&body);
    match state
        .services
        .issue_report(&user.ctx(&fields), &state.settings.units, period)
        .await
    {
        Ok(issued) => see_other(&format!(
            "{}?efter={}",
            paths::Report {
                period: period.key()
            },
            issued.done.position
        )),
        Err(error) => refused(error),
    }
}

/// `/rapporter/faststallda/{id}`: the issued PDF, compiled again from the log.
pub async fn issued(
    paths::IssuedReport { id }: paths::IssuedReport,
    State(state): State<AppState>,
    _user: PageUser,
) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return Missing("Det finns ingen fastställd rapport med den adressen.").into_response();
    };
    match state
        .services
        .issued_report(&state.settings.units, id)
        .await
    {
        Ok((issued, pdf)) => attachment(
            "application/pdf",
            format!("uppfoljningsrapport-{}-faststalld.pdf", issued.period.key()),
            pdf,
        ),
        Err(error) => refused(error),
    }
}

/// `POST /rapporter/faststallda/{id}/skicka`: the coordinator sends an issued report to
/// the Integrationsberedning, as an item from the föredragande.
pub async fn send(
    paths::ReportSend { id }: paths::ReportSend,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return Missing("Det finns ingen fastställd rapport med den adressen.").into_response();
    };
    let fields = form_fields(&body);
    match state.services.send_report(&user.ctx(&fields), id).await {
        Ok(done) => see_other(&format!("{}?efter={}", paths::Reports, done.position)),
        Err(error) => refused(error),
    }
}

/// `/granskning/rapporter`: each issued report compiled again and compared with the
/// checksum recorded when it was issued, and a form to check a PDF file.
pub async fn audit(
    _: paths::AuditReports,
    State(state): State<AppState>,
    user: PageUser,
) -> Response {
    audit_page(&state, &user, None).await
}

/// `POST /granskning/rapporter/kontroll`: a PDF file checked against the log.
pub async fn check(
    _: paths::AuditReportCheck,
    State(state): State<AppState>,
    user: PageUser,
    upload: Upload,
) -> Response {
    if let Err(error) = may_audit(&user) {
        return refused(error);
    }
    let Some(file) = upload.field("pdf").filter(|file| !file.bytes.is_empty()) else {
        return audit_page(
            &state,
            &user,
            Some(Err("Välj en PDF-fil att kontrollera.".into())),
        )
        .await;
    };
    let name = file
        .file_name
        .clone()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| "Filen".into());
    match state
        .services
        .check_report(&state.settings.units, &file.bytes)
        .await
    {
        Ok(check) => {
            let sentence = report::check_sentence(&check);
            audit_page(&state, &user, Some(Ok((name, sentence)))).await
        }
        Err(error) => refused(error),
    }
}

fn may_audit(user: &PageUser) -> Result<(), crate::app::AppError> {
    crate::app::allow(
        &crate::app::CommandContext::new(user.actor()),
        &crate::access::Action::Audit,
    )
}

/// The auditor's page of reports, with what checking an uploaded file found: the file's
/// name and the sentence, or why nothing was checked.
async fn audit_page(
    state: &AppState,
    user: &PageUser,
    checked: Option<Result<(String, String), String>>,
) -> Response {
    if let Err(error) = may_audit(user) {
        return refused(error);
    }
    let follow_up = match state.services.follow_up().await {
        Ok(follow_up) => follow_up,
        Err(error) => return refused(error),
    };
    let mut checks = Vec::new();
    for issued in follow_up.issued.iter().rev() {
        let check = match state
            .services
            .issued_report(&state.settings.units, issued.report_id)
            .await
        {
            Ok((_, pdf)) => ReportCheck::Issued {
                issued: issued.clone(),
                same: crate::app::follow_up::digest(&pdf) == issued.sha256,
            },
            Err(error) => return refused(error),
        };
        checks.push(check);
    }
    page(
        "Fastställda rapporter mot loggen",
        Some(&user.viewer()),
        html! {
            h1 { "Fastställda rapporter mot loggen" }
            p { "Varje fastställd rapport sammanställs på nytt ur loggen till och med händelsen den fastställdes ifrån, och PDF-filen jämförs med kontrollsumman som sparades när den fastställdes. En PDF-fil man fått på annat sätt kontrolleras med " code { "insats audit verify-report FIL" } "." }
            @if checks.is_empty() {
                p.hint { "Ingen rapport är fastställd än." }
            }
            ul {
                @for check in &checks {
                    li { (report::check_sentence(check)) }
                }
            }
            h2 id="kontrollera" { "Kontrollera en PDF-fil" }
            @match &checked {
                Some(Ok((name, sentence))) => {
                    div.notice role="status" { p { strong { (name) } ": " (sentence) } }
                }
                Some(Err(message)) => {
                    (crate::web::pages::layout::error_summary(&[("pdf".to_owned(), message.clone())]))
                }
                None => {}
            }
            p { "Välj en rapport som PDF-fil, till exempel en som skickats till Integrationsberedningen. Insats tar reda på om den är fastställd, sammanställer den på nytt ur loggen och säger om filen är densamma." }
            form.stack method="post" action=(paths::AuditReportCheck) enctype="multipart/form-data" {
                (csrf(&user.csrf))
                div.field {
                    label for="pdf" { "PDF-fil" }
                    input type="file" id="pdf" name="pdf" accept="application/pdf,.pdf" required;
                }
                button type="submit" { "Kontrollera filen" }
            }
        },
    )
    .into_response()
}
