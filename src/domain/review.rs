//! The integration council's review of an area's timeline for a period, with feedback.
//! Each review is its own stream, `review-<uuid>`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::DomainError;
use super::event::Aggregate;
use super::values::{FreeText, Period, Slug};

pub fn stream(id: Uuid) -> String {
    format!("review-{id}")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ReviewEvent {
    TimelineReviewed {
        review_id: Uuid,
        area: Slug,
        #[serde(with = "crate::domain::strategy::period_serde")]
        period: Period,
        feedback: FreeText,
    },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Review {
    pub id: Option<Uuid>,
    pub version: i64,
}

impl Review {
    pub fn record(
        &self,
        review_id: Uuid,
        area: Slug,
        period: Period,
        feedback: FreeText,
    ) -> Result<Vec<ReviewEvent>, DomainError> {
        if self.id.is_some() {
            return Err(DomainError::conflict("Granskningen finns redan."));
        }
        Ok(vec![ReviewEvent::TimelineReviewed {
            review_id,
            area,
            period,
            feedback,
        }])
    }
}

impl Aggregate for Review {
    type Event = ReviewEvent;

    fn apply(mut self, event: &ReviewEvent) -> Self {
        self.version += 1;
        let ReviewEvent::TimelineReviewed { review_id, .. } = event;
        self.id = Some(*review_id);
        self
    }

    fn tags(&self, event: &ReviewEvent) -> Vec<String> {
        let ReviewEvent::TimelineReviewed {
            review_id, area, ..
        } = event;
        vec![format!("area:{area}"), format!("review:{review_id}")]
    }
}
