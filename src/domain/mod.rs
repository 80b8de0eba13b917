//! The pure domain of Insats: the plan, areas, activities, cases, items between forums,
//! process owners' decisions, strategy status reports and the council's reviews.
//!
//! Commands decide, events apply: each aggregate's methods take its state and a command's
//! validated values and return the events to append (or a [`DomainError`]); `apply` folds
//! an event into the state. Nothing here does I/O, and nothing imports the web layer or
//! the database.

pub mod activity;
pub mod actor;
pub mod area;
pub mod case;
pub mod catalogue;
pub mod describe;
pub mod error;
pub mod event;
pub mod feedback;
pub mod follow_up;
pub mod indicator;
pub mod item;
pub mod plan;
pub mod privacy;
pub mod process;
pub mod reminders;
pub mod replay;
pub mod review;
pub mod strategy;
pub mod values;

pub use error::{DomainError, FieldError};
