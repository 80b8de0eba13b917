//! Every page's address, typed: the router routes them and the pages link to them with the
//! same structs, so a link cannot point where no route is. `Display` gives the path (with
//! its segments percent-encoded); a query string is added where a link needs one.

use axum_extra::routing::TypedPath;
use serde::Deserialize;

use super::extract::Refused;

/// A path in a page is its address, escaped like any text.
macro_rules! rendered {
    ($name:ident) => {
        impl maud::Render for $name {
            fn render_to(&self, buffer: &mut String) {
                self.to_string().render_to(buffer);
            }
        }
    };
}

macro_rules! paths {
    () => {};
    ($(#[$doc:meta])* $name:ident $path:literal { $($field:ident),* }; $($rest:tt)*) => {
        $(#[$doc])*
        #[derive(Debug, Clone, TypedPath, Deserialize)]
        #[typed_path($path, rejection(Refused))]
        pub struct $name { $(pub $field: String),* }
        rendered!($name);
        paths! { $($rest)* }
    };
    ($(#[$doc:meta])* $name:ident $path:literal; $($rest:tt)*) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, TypedPath)]
        #[typed_path($path)]
        pub struct $name;
        rendered!($name);
        paths! { $($rest)* }
    };
}

paths! {
    /// Each role's start: a redirect to where its work is.
    Start "/";
    /// The coordinator's overview.
    Overview "/oversikt";
    Login "/logga-in";
    Logout "/logga-ut";
    Areas "/omraden";
    /// Search across the activities, cases and items one may read.
    Search "/sok";
    /// An area's timeline.
    AreaTimeline "/omraden/{area}" { area };
    AreaExportCsv "/omraden/{area}/export.csv" { area };
    AreaExportJson "/omraden/{area}/export.json" { area };
    /// The council's review of an area's timeline (a form posts here).
    AreaReview "/omraden/{area}/granskning" { area };
    NewActivity "/omraden/{area}/insatser/ny" { area };
    /// Logging an activity (the form posts here).
    AreaActivities "/omraden/{area}/insatser" { area };
    /// An area's cases, and opening one (the form posts here).
    AreaCases "/omraden/{area}/arenden" { area };
    /// An area's activities marked "Behöver följas upp".
    AreaFollowUps "/omraden/{area}/uppfoljning" { area };
    /// One activity with its corrections.
    Activity "/insatser/{id}" { id };
    NewCase "/omraden/{area}/arenden/nytt" { area };
    Case "/arenden/{id}" { id };
    CaseReopen "/arenden/{id}/oppna" { id };
    CaseNote "/arenden/{id}/anteckning" { id };
    CaseAssign "/arenden/{id}/tilldela" { id };
    CaseStatus "/arenden/{id}/status" { id };
    CaseEscalate "/arenden/{id}/eskalera" { id };
    CaseClose "/arenden/{id}/avsluta" { id };
    CaseSecrecy "/arenden/{id}/sekretess" { id };
    /// An item between forums.
    Item "/forum/{id}" { id };
    ItemAcknowledge "/forum/{id}/mottaget" { id };
    ItemAnswer "/forum/{id}/svara" { id };
    ItemClose "/forum/{id}/stang" { id };
    /// Raising an item to another forum (the form, and where it posts).
    NewItem "/forum/nytt";
    Plan "/planen";
    Strategy "/planen/strategier/{id}" { id };
    /// The key indicators, each with its latest figure and trend.
    Indicators "/planen/nyckeltal";
    /// One key indicator: its chart, figures and source.
    Indicator "/planen/nyckeltal/{id}" { id };
    /// A figure the coordinator enters (the form posts here).
    IndicatorValues "/planen/nyckeltal/{id}/varden" { id };
    CouncilFlow "/rad/informationsflode";
    /// The items between forums waiting for an answer, with filters and pages.
    OpenItems "/rad/oppna";
    Owner "/processagare";
    /// A process owner's status report (the form posts here; `id` is the process).
    OwnerStatus "/processagare/strategier/{id}/status" { id };
    OwnerDecision "/processagare/processer/{id}/beslut" { id };
    Audit "/granskning";
    AuditChosen "/granskning/strategi";
    AuditVerifyLog "/granskning/verifiering";
    AuditStrategy "/granskning/strategier/{id}" { id };
    AuditReport "/granskning/strategier/{id}/rapport" { id };
    /// The follow-up reports: the periods, the issued reports, the rhythm.
    Reports "/rapporter";
    /// The coordinator chooses the rhythm of follow-up (the form posts here).
    ReportCycle "/rapporter/rytm";
    /// A period's report, as a page.
    Report "/rapporter/{period}" { period };
    ReportPdf "/rapporter/{period}/rapport.pdf" { period };
    ReportCsv "/rapporter/{period}/underlag.csv" { period };
    /// The coordinator issues a period's report (the form posts here).
    ReportIssue "/rapporter/{period}/faststall" { period };
    /// An issued report's PDF, compiled again from the log as of where it was issued.
    IssuedReport "/rapporter/faststallda/{id}" { id };
    /// The coordinator sends an issued report to the Integrationsberedning (posts here).
    ReportSend "/rapporter/faststallda/{id}/skicka" { id };
    /// The auditor's check of the issued reports against the log.
    AuditReports "/granskning/rapporter";
    /// A PDF file checked against the log (the auditor's upload posts here).
    AuditReportCheck "/granskning/rapporter/kontroll";
    /// What is due for the signed-in person, their choice of mail, and (for the
    /// coordinator) the reminders' rules.
    Todo "/att-gora";
    TodoMail "/att-gora/epost";
    TodoRules "/att-gora/regler";
    Admin "/admin";
    AdminUsers "/admin/anvandare";
    AdminDisableUser "/admin/anvandare/stang-av";
    AdminAreas "/admin/omraden";
    AdminErase "/admin/radera";
    Accessibility "/tillganglighet";
    Stylesheet "/static/insats.css";
    Script "/static/insats.js";
}

/// Constructors for the paths with fields, so links read `paths::area(&id)`.
pub fn area_timeline(area: impl Into<String>) -> AreaTimeline {
    AreaTimeline { area: area.into() }
}

pub fn case(id: impl ToString) -> Case {
    Case { id: id.to_string() }
}

pub fn item(id: impl ToString) -> Item {
    Item { id: id.to_string() }
}

pub fn strategy(id: impl Into<String>) -> Strategy {
    Strategy { id: id.into() }
}

pub fn audit_strategy(id: impl Into<String>) -> AuditStrategy {
    AuditStrategy { id: id.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_the_routes_with_their_segments_encoded() {
        assert_eq!(area_timeline("araby").to_string(), "/omraden/araby");
        assert_eq!(
            CaseNote {
                id: "0192f0c4".into()
            }
            .to_string(),
            "/arenden/0192f0c4/anteckning"
        );
        assert_eq!(
            strategy("a b/c").to_string(),
            "/planen/strategier/a%20b%2Fc"
        );
        assert_eq!(CouncilFlow.to_string(), "/rad/informationsflode");
        assert_eq!(<AreaTimeline as TypedPath>::PATH, "/omraden/{area}");
    }
}
