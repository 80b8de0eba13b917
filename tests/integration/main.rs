//! Insats's integration tests: one binary, a fresh database per test, a real PostgreSQL
//! (see `insats::database::scratch` for how the server is found).

mod access;
mod api_activities;
mod api_cases_and_items;
mod api_plan;
mod audit;
mod bad_input;
mod browser;
mod event_log;
mod faults;
mod health;
mod helpers;
mod idempotency;
mod indicators;
mod managed_database;
mod notifications;
mod pages;
mod privacy;
mod projections;
mod reports;
mod security;
mod visitor;
