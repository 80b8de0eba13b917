//! Insats: the follow-up system for Växjö kommunkoncern's integration plan.
//!
//! An event-sourced case-and-activity tracker: every action is appended to an immutable,
//! hash-chained event log in PostgreSQL ([`event_log`]); read models are built from it.
//! The web layer ([`web`]) serves the JSON API and the pages; [`startup`], [`database`],
//! [`config`], [`telemetry`] and [`cli`] are the shell around them.

pub mod access;
pub mod accounts;
pub mod app;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod database;
pub mod demo;
pub mod domain;
pub mod event_log;
pub mod kolada;
pub mod notifications;
pub mod privacy;
pub mod projections;
pub mod queries;
pub mod report;
pub mod spreadsheet;
pub mod startup;
pub mod telemetry;
pub mod web;

/// Insats's allocator, wherever it runs (the server, the CLI, the tests and benchmarks):
/// a page is many small, short-lived values (rows, JSON, HTML), and glibc's allocator spent
/// about a fifth of an older timeline page's time (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
