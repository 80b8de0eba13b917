//! Reports of accessibility problems, sent from the accessibility statement's form by
//! anyone, signed in or not. Each report is its own stream, `feedback-<uuid>`. The problem
//! is free text (a visitor may describe themselves), so it is sealed and erasable like any
//! other.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::{DomainError, FieldError, Problems};
use super::event::Aggregate;
use super::values::{FreeText, Title};

pub fn stream(id: Uuid) -> String {
    format!("feedback-{id}")
}

/// Every report carries this tag, so the coordinator's list reads them by it.
pub const TAG: &str = "feedback";

/// The longest description an anonymous report may carry, in characters.
pub const PROBLEM_MAX: usize = 2_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum FeedbackEvent {
    AccessibilityProblemReported {
        report_id: Uuid,
        /// The page the problem is on, as the visitor named it.
        page: Title,
        problem: FreeText,
    },
}

/// A report as its events leave it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Feedback {
    pub id: Option<Uuid>,
    pub version: i64,
}

impl Feedback {
    /// Validates a report as the form sends it: the page may be left out, the problem
    /// may not, and neither may be long.
    pub fn report(
        &self,
        report_id: Uuid,
        page: &str,
        problem: &str,
    ) -> Result<Vec<FeedbackEvent>, DomainError> {
        if self.id.is_some() {
            return Err(DomainError::conflict("Rapporten finns redan."));
        }
        let mut problems = Problems::new();
        let page = problems.check(Title::parse(
            "page",
            if page.trim().is_empty() {
                "(ingen sida angiven)"
            } else {
                page
            },
        ));
        let problem = problems.check(
            FreeText::required("problem", problem, "Beskriv vad som inte fungerade.").and_then(
                |text| {
                    let length = text.as_str().chars().count();
                    if length > PROBLEM_MAX {
                        Err(FieldError::new(
                            "problem",
                            format!(
                                "Beskrivningen får vara högst {PROBLEM_MAX} tecken (nu {length})."
                            ),
                        ))
                    } else {
                        Ok(text)
                    }
                },
            ),
        );
        problems.finish()?;
        Ok(vec![FeedbackEvent::AccessibilityProblemReported {
            report_id,
            page: page.expect("checked"),
            problem: problem.expect("checked"),
        }])
    }
}

impl Aggregate for Feedback {
    type Event = FeedbackEvent;

    fn apply(mut self, event: &FeedbackEvent) -> Self {
        self.version += 1;
        let FeedbackEvent::AccessibilityProblemReported { report_id, .. } = event;
        self.id = Some(*report_id);
        self
    }

    fn tags(&self, event: &FeedbackEvent) -> Vec<String> {
        let FeedbackEvent::AccessibilityProblemReported { report_id, .. } = event;
        vec![TAG.to_owned(), format!("feedback:{report_id}")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_needs_a_problem_of_bounded_length() {
        let id = Uuid::now_v7();
        assert!(
            Feedback::default()
                .report(id, "", "Knappen syns inte")
                .is_ok()
        );
        let Err(DomainError::Invalid(errors)) = Feedback::default().report(id, "Start", " ") else {
            panic!("an empty problem is refused");
        };
        assert_eq!(errors[0].field, "problem");
        let long = "a".repeat(PROBLEM_MAX + 1);
        let Err(DomainError::Invalid(errors)) = Feedback::default().report(id, "Start", &long)
        else {
            panic!("a long problem is refused");
        };
        assert!(errors[0].message.contains("högst 2000 tecken"));
    }
}
