//! The commands of Insats: what area teams, process owners, the council and the
//! coordinator do. Each parses its input with the domain's parsers (every problem reported
//! at once, in Swedish), checks that what it refers to exists, and executes.

use uuid::Uuid;

use super::{AppError, CommandContext, Done, Services, allow, done};
use crate::access::Action;
use crate::domain::activity::{self, Activity, ActivityDetails, ActivityInput};
use crate::domain::area::{self, Areas};
use crate::domain::case::{self, Assignee, Case, CaseStatus};
use crate::domain::error::Problems;
use crate::domain::feedback::{self, Feedback, FeedbackEvent};
use crate::domain::item::{self, Forum, Item, ItemKind, NewItem};
use crate::domain::plan::NodeKind;
use crate::domain::process::{self, Process};
use crate::domain::review::{self, Review};
use crate::domain::strategy::{self, StrategyReports, StrategyStatus};
use crate::domain::values::{self, FreeText, Name, Period, Slug, Title};
use crate::domain::{DomainError, FieldError};

/// A case as a form or an API client sends it.
#[derive(Debug, Clone, Default)]
pub struct CaseInput {
    pub title: String,
    pub description: String,
    pub strategies: Vec<String>,
}

/// Who to assign a case to: a process owner (by process) or a team member (by name).
#[derive(Debug, Clone)]
pub enum AssigneeInput {
    ProcessOwner { process: String },
    TeamMember { name: String, user_id: Option<Uuid> },
}

#[derive(Debug, Clone, Default)]
pub struct StatusReportInput {
    pub period_start: String,
    pub period_end: String,
    pub status: Option<StrategyStatus>,
    pub comment: String,
}

#[derive(Debug, Clone, Default)]
pub struct DecisionInput {
    pub title: String,
    pub text: String,
    pub strategy: Option<String>,
    pub decided_on: String,
}

#[derive(Debug, Clone, Default)]
pub struct ItemInput {
    pub from: String,
    pub to: String,
    pub kind: Option<ItemKind>,
    pub title: String,
    pub text: String,
    pub strategy: Option<String>,
    pub area: Option<String>,
}

/// An accessibility report as the coordinator reads it.
#[derive(Debug, Clone)]
pub struct AccessibilityReport {
    pub id: Uuid,
    pub page: String,
    pub problem: String,
    pub reported_at: time::OffsetDateTime,
}

#[derive(Debug, Clone, Default)]
pub struct ReviewInput {
    pub period_start: String,
    pub period_end: String,
    pub feedback: String,
}

impl Services {
    /// The area, or 404.
    pub async fn require_area(&self, area: &str) -> Result<Slug, AppError> {
        let areas = self.areas().await?;
        areas
            .get(area)
            .map(|area| area.id.clone())
            .ok_or_else(|| DomainError::not_found("Området finns inte.").into())
    }

    /// A strategy in force, or 404.
    pub async fn require_strategy(&self, strategy: &str) -> Result<(Slug, Slug), AppError> {
        let plan = self.plan().await?;
        let found = plan
            .strategy(strategy)
            .ok_or_else(|| DomainError::not_found("Strategin finns inte i planen."))?;
        let slug =
            |s: &str| Slug::parse("id", s).map_err(|error| DomainError::Invalid(vec![error]));
        Ok((slug(found.id())?, slug(found.process())?))
    }

    /// A process of the plan, or 404.
    pub async fn require_process(&self, process: &str) -> Result<Slug, AppError> {
        let plan = self.plan().await?;
        plan.node(NodeKind::Process, process)
            .ok_or_else(|| DomainError::not_found("Processen finns inte i planen."))?;
        Slug::parse("id", process).map_err(|error| DomainError::Invalid(vec![error]).into())
    }

    // ------------------------------------------------------------------ activities

    pub async fn log_activity(
        &self,
        ctx: &CommandContext,
        area: &str,
        input: &ActivityInput,
    ) -> Result<Done, AppError> {
        let area = self.require_area(area).await?;
        allow(
            ctx,
            &Action::WriteActivity {
                area: area.as_str(),
            },
        )?;
        let plan = self.plan().await?;
        let details = ActivityDetails::parse(input, &plan, self.today())?;
        let id = ctx.new_id("activity");
        self.execute::<Activity>(ctx, &activity::stream(id), id, |activity| {
            Ok(activity.log(id, area.clone(), details.clone())?)
        })
        .await
    }

    pub async fn correct_activity(
        &self,
        ctx: &CommandContext,
        id: Uuid,
        input: &ActivityInput,
        reason: &str,
    ) -> Result<Done, AppError> {
        let plan = self.plan().await?;
        let (details, reason) = match (
            ActivityDetails::parse(input, &plan, self.today()),
            FreeText::required("reason", reason, "Skriv varför insatsen rättas."),
        ) {
            (Ok(details), Ok(reason)) => (details, reason),
            (details, reason) => {
                let mut errors = match details {
                    Err(DomainError::Invalid(errors)) => errors,
                    Err(other) => return Err(other.into()),
                    Ok(_) => Vec::new(),
                };
                errors.extend(reason.err());
                return Err(DomainError::Invalid(errors).into());
            }
        };
        self.execute::<Activity>(ctx, &activity::stream(id), id, |activity| {
            allow_activity(ctx, activity)?;
            Ok(activity.correct(details.clone(), reason.clone())?)
        })
        .await
    }

    pub async fn retract_activity(
        &self,
        ctx: &CommandContext,
        id: Uuid,
        reason: &str,
    ) -> Result<Done, AppError> {
        let reason = FreeText::parse("reason", reason).map_err(invalid)?;
        self.execute::<Activity>(ctx, &activity::stream(id), id, |activity| {
            allow_activity(ctx, activity)?;
            Ok(activity.retract(reason.clone())?)
        })
        .await
    }

    // ------------------------------------------------------------------ cases

    pub async fn open_case(
        &self,
        ctx: &CommandContext,
        area: &str,
        input: &CaseInput,
    ) -> Result<Done, AppError> {
        let area = self.require_area(area).await?;
        allow(
            ctx,
            &Action::WriteCase {
                area: area.as_str(),
            },
        )?;
        let plan = self.plan().await?;
        let mut problems = Problems::new();
        let title = problems.check(Title::parse("title", &input.title));
        let description = problems.check(FreeText::parse("description", &input.description));
        let strategies = problems.check(activity::parse_strategies(
            "strategies",
            &input.strategies,
            &plan,
        ));
        problems.finish()?;
        let id = ctx.new_id("case");
        self.execute::<Case>(ctx, &case::stream(id), id, |case| {
            Ok(case.open(
                id,
                area.clone(),
                title.clone().expect("checked"),
                description.clone().expect("checked"),
                strategies.clone().expect("checked"),
            )?)
        })
        .await
    }

    /// Adds a note; the returned id is the note's.
    pub async fn add_case_note(
        &self,
        ctx: &CommandContext,
        case_id: Uuid,
        text: &str,
    ) -> Result<Done, AppError> {
        let text = FreeText::required("text", text, "Skriv en anteckning.").map_err(invalid)?;
        let note_id = ctx.new_id("note");
        self.execute::<Case>(ctx, &case::stream(case_id), note_id, |case| {
            allow_case(ctx, case)?;
            Ok(case.add_note(note_id, text.clone())?)
        })
        .await
    }

    pub async fn assign_case(
        &self,
        ctx: &CommandContext,
        case_id: Uuid,
        input: &AssigneeInput,
    ) -> Result<Done, AppError> {
        let assignee = match input {
            AssigneeInput::ProcessOwner { process } => Assignee::ProcessOwner {
                process: self
                    .require_process(process)
                    .await
                    .map_err(|error| match error {
                        AppError::Domain(DomainError::NotFound(message)) => {
                            DomainError::invalid("process", message).into()
                        }
                        other => other,
                    })?,
            },
            AssigneeInput::TeamMember { name, user_id } => Assignee::TeamMember {
                name: Name::parse("name", name).map_err(invalid)?,
                user_id: *user_id,
            },
        };
        self.execute::<Case>(ctx, &case::stream(case_id), case_id, |case| {
            allow_case(ctx, case)?;
            Ok(case.assign(assignee.clone())?)
        })
        .await
    }

    pub async fn change_case_status(
        &self,
        ctx: &CommandContext,
        case_id: Uuid,
        status: CaseStatus,
    ) -> Result<Done, AppError> {
        self.execute::<Case>(ctx, &case::stream(case_id), case_id, |case| {
            allow_case(ctx, case)?;
            Ok(case.change_status(status)?)
        })
        .await
    }

    pub async fn close_case(
        &self,
        ctx: &CommandContext,
        case_id: Uuid,
        resolution: &str,
    ) -> Result<Done, AppError> {
        let resolution = FreeText::parse("resolution", resolution).map_err(invalid)?;
        self.execute::<Case>(ctx, &case::stream(case_id), case_id, |case| {
            allow_case(ctx, case)?;
            Ok(case.close(resolution.clone())?)
        })
        .await
    }

    pub async fn reopen_case(
        &self,
        ctx: &CommandContext,
        case_id: Uuid,
        reason: &str,
    ) -> Result<Done, AppError> {
        let reason = FreeText::parse("reason", reason).map_err(invalid)?;
        self.execute::<Case>(ctx, &case::stream(case_id), case_id, |case| {
            allow_case(ctx, case)?;
            Ok(case.reopen(reason.clone())?)
        })
        .await
    }

    /// Escalates a case to the integration council: the case records the escalation and
    /// an item of kind eskalering is raised from the area team, in one transaction. The
    /// returned id is the item's.
    pub async fn escalate_case(
        &self,
        ctx: &CommandContext,
        case_id: Uuid,
        text: &str,
    ) -> Result<Done, AppError> {
        let text = FreeText::parse("text", text).map_err(invalid)?;
        if let Some(done) = self.answered_before(ctx).await? {
            return Ok(done);
        }
        let outcome = self.escalate(ctx, case_id, text).await;
        self.or_answered(ctx, outcome).await
    }

    async fn escalate(
        &self,
        ctx: &CommandContext,
        case_id: Uuid,
        text: FreeText,
    ) -> Result<Done, AppError> {
        let plan = self.plan().await?;
        let case_stream = case::stream(case_id);
        let (case, case_version) = self.load::<Case>(&case_stream).await?;
        allow_case(ctx, &case)?;
        let item_id = ctx.new_id("item");
        let case_events = case.escalate(item_id, text.clone())?;
        let area = case.area.clone().expect("an escalated case exists");
        let new_item = NewItem {
            from: Forum::AreaTeam(area.clone()),
            to: Forum::Council,
            kind: ItemKind::Eskalering,
            title: case.title.clone().expect("an escalated case has a title"),
            text,
            strategy: case.strategies.first().cloned(),
            area: Some(area),
            case_id: Some(case_id),
        };
        let item_events = Item::default().raise(item_id, new_item)?;
        let item_stream = item::stream(item_id);
        let mut case_rows = self.to_new_events(ctx, &case_stream, case, case_events, None, &plan);
        let mut item_rows =
            self.to_new_events(ctx, &item_stream, Item::default(), item_events, None, &plan);
        self.seal(&mut case_rows).await?;
        self.seal(&mut item_rows).await?;
        self.commit(
            ctx,
            item_id,
            vec![
                (case_stream, case_version, case_rows),
                (item_stream, 0, item_rows),
            ],
        )
        .await
    }

    // ------------------------------------------------------------------ items

    pub async fn raise_item(
        &self,
        ctx: &CommandContext,
        input: &ItemInput,
    ) -> Result<Done, AppError> {
        let plan = self.plan().await?;
        let areas = self.areas().await?;
        let mut problems = Problems::new();
        let from = problems.check(parse_forum("from", &input.from, &areas, &plan));
        let to = problems.check(parse_forum("to", &input.to, &areas, &plan));
        let kind = problems.check(input.kind.ok_or_else(|| {
            FieldError::new(
                "kind",
                "Välj vilken sorts skrivelse det är: eskalering, rapport, fråga eller information.",
            )
        }));
        let title = problems.check(Title::parse("title", &input.title));
        let text = problems.check(FreeText::parse("text", &input.text));
        let strategy = match input.strategy.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(strategy) => problems
                .check(activity::parse_strategies(
                    "strategy",
                    &[strategy.to_owned()],
                    &plan,
                ))
                .and_then(|mut strategies| strategies.pop()),
            None => None,
        };
        let area = match input.area.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(area) => problems.check(
                areas
                    .get(area)
                    .map(|area| area.id.clone())
                    .ok_or_else(|| FieldError::new("area", "Området finns inte.")),
            ),
            None => None,
        };
        problems.finish()?;
        let from = from.expect("checked");
        allow(ctx, &Action::SendAs { forum: &from })?;
        // An area team speaks only about its own area.
        if let (Forum::AreaTeam(team), Some(area)) = (&from, &area)
            && team != area
        {
            allow(
                ctx,
                &Action::WriteCase {
                    area: area.as_str(),
                },
            )?;
        }
        // A process owner speaks only about its own process's strategies.
        if let (Some(process), Some(strategy)) = (from.process(), &strategy)
            && plan.process_of(strategy.as_str()) != Some(process.as_str())
        {
            return Err(DomainError::invalid(
                "strategy",
                "Strategin hör inte till den processägarens process.",
            )
            .into());
        }
        let new_item = NewItem {
            from,
            to: to.expect("checked"),
            kind: kind.expect("checked"),
            title: title.expect("checked"),
            text: text.expect("checked"),
            strategy,
            area,
            case_id: None,
        };
        let id = ctx.new_id("item");
        self.execute::<Item>(ctx, &item::stream(id), id, |item| {
            Ok(item.raise(id, new_item.clone())?)
        })
        .await
    }

    pub async fn acknowledge_item(
        &self,
        ctx: &CommandContext,
        item_id: Uuid,
    ) -> Result<Done, AppError> {
        self.execute::<Item>(ctx, &item::stream(item_id), item_id, |item| {
            allow_settle(ctx, item, false)?;
            Ok(item.acknowledge()?)
        })
        .await
    }

    /// Answers an item; when it escalates a case, the case records the answer too, in
    /// the same transaction.
    pub async fn answer_item(
        &self,
        ctx: &CommandContext,
        item_id: Uuid,
        answer: &str,
    ) -> Result<Done, AppError> {
        let answer = FreeText::parse("answer", answer).map_err(invalid)?;
        self.settle_item(
            ctx,
            item_id,
            false,
            |item| item.answer(answer.clone()),
            |case| case.escalation_answered(item_id, answer.clone()),
        )
        .await
    }

    pub async fn close_item(&self, ctx: &CommandContext, item_id: Uuid) -> Result<Done, AppError> {
        self.settle_item(ctx, item_id, true, Item::close, |case| {
            case.escalation_closed(item_id)
        })
        .await
    }

    async fn settle_item(
        &self,
        ctx: &CommandContext,
        item_id: Uuid,
        closing: bool,
        decide_item: impl FnOnce(&Item) -> Result<Vec<item::ItemEvent>, DomainError>,
        decide_case: impl FnOnce(&Case) -> Result<Vec<case::CaseEvent>, DomainError>,
    ) -> Result<Done, AppError> {
        if let Some(done) = self.answered_before(ctx).await? {
            return Ok(done);
        }
        let outcome = self
            .settle(ctx, item_id, closing, decide_item, decide_case)
            .await;
        self.or_answered(ctx, outcome).await
    }

    async fn settle(
        &self,
        ctx: &CommandContext,
        item_id: Uuid,
        closing: bool,
        decide_item: impl FnOnce(&Item) -> Result<Vec<item::ItemEvent>, DomainError>,
        decide_case: impl FnOnce(&Case) -> Result<Vec<case::CaseEvent>, DomainError>,
    ) -> Result<Done, AppError> {
        let plan = self.plan().await?;
        let item_stream = item::stream(item_id);
        let (item, item_version) = self.load::<Item>(&item_stream).await?;
        allow_settle(ctx, &item, closing)?;
        let item_events = decide_item(&item)?;
        let case_id = item.item.as_ref().and_then(|raised| raised.case_id);
        let mut item_rows = self.to_new_events(ctx, &item_stream, item, item_events, None, &plan);
        self.seal(&mut item_rows).await?;
        let mut batches = vec![(item_stream, item_version, item_rows)];
        if let Some(case_id) = case_id {
            let case_stream = case::stream(case_id);
            let (case, case_version) = self.load::<Case>(&case_stream).await?;
            let case_events = decide_case(&case)?;
            let cause = batches[0].2.last().map(|row| row.event_id);
            let mut case_rows =
                self.to_new_events(ctx, &case_stream, case, case_events, cause, &plan);
            self.seal(&mut case_rows).await?;
            batches.push((case_stream, case_version, case_rows));
        }
        self.commit(ctx, item_id, batches).await
    }

    // ------------------------------------------------------------------ processes and strategies

    pub async fn report_status(
        &self,
        ctx: &CommandContext,
        strategy: &str,
        input: &StatusReportInput,
    ) -> Result<Done, AppError> {
        let (strategy, process) = self.require_strategy(strategy).await?;
        allow(
            ctx,
            &Action::ReportForProcess {
                process: process.as_str(),
            },
        )?;
        let mut problems = Problems::new();
        let period = match Period::parse(&input.period_start, &input.period_end, self.today()) {
            Ok(period) => Some(period),
            Err(errors) => {
                errors.into_iter().for_each(|error| problems.push(error));
                None
            }
        };
        let status = problems.check(input.status.ok_or_else(|| {
            FieldError::new("status", "Välj status: enligt plan, risk eller avvikelse.")
        }));
        let comment = problems.check(FreeText::parse("comment", &input.comment));
        problems.finish()?;
        let id = ctx.new_id("report");
        let stream = strategy::stream(strategy.as_str());
        self.execute::<StrategyReports>(ctx, &stream, id, |reports| {
            Ok(reports.report(
                id,
                strategy.clone(),
                process.clone(),
                period.expect("checked"),
                status.expect("checked"),
                comment.clone().expect("checked"),
            )?)
        })
        .await
    }

    pub async fn assign_process_owner(
        &self,
        ctx: &CommandContext,
        process: &str,
        name: &str,
        user_id: Option<Uuid>,
    ) -> Result<Done, AppError> {
        allow(ctx, &Action::Administer)?;
        let process = self.require_process(process).await?;
        let name = Name::parse("name", name).map_err(invalid)?;
        let id = user_id.unwrap_or_else(Uuid::nil);
        let stream = process::stream(process.as_str());
        self.execute::<Process>(ctx, &stream, id, |state| {
            Ok(state.assign_owner(process.clone(), name.clone(), user_id)?)
        })
        .await
    }

    pub async fn record_decision(
        &self,
        ctx: &CommandContext,
        process: &str,
        input: &DecisionInput,
    ) -> Result<Done, AppError> {
        let process = self.require_process(process).await?;
        allow(
            ctx,
            &Action::ReportForProcess {
                process: process.as_str(),
            },
        )?;
        let plan = self.plan().await?;
        let mut problems = Problems::new();
        let title = problems.check(Title::parse("title", &input.title));
        let text = problems.check(FreeText::parse("text", &input.text));
        let decided_on = problems.check(values::parse_date(
            "decided_on",
            &input.decided_on,
            self.today(),
        ));
        let strategy = match input.strategy.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(strategy) => problems
                .check(activity::parse_strategies(
                    "strategy",
                    &[strategy.to_owned()],
                    &plan,
                ))
                .and_then(|mut strategies| strategies.pop()),
            None => None,
        };
        if let Some(strategy) = &strategy
            && plan.process_of(strategy.as_str()) != Some(process.as_str())
        {
            problems.push(FieldError::new(
                "strategy",
                "Strategin hör inte till processen. Välj en av processens egna strategier.",
            ));
        }
        problems.finish()?;
        let id = ctx.new_id("decision");
        let stream = process::stream(process.as_str());
        self.execute::<Process>(ctx, &stream, id, |state| {
            Ok(state.record_decision(
                id,
                process.clone(),
                strategy.clone(),
                title.clone().expect("checked"),
                text.clone().expect("checked"),
                decided_on.expect("checked"),
            )?)
        })
        .await
    }

    // ------------------------------------------------------------------ areas and reviews

    /// Adds an area; the id is made from the name unless given.
    pub async fn add_area(
        &self,
        ctx: &CommandContext,
        id: Option<&str>,
        name: &str,
    ) -> Result<(Slug, Done), AppError> {
        allow(ctx, &Action::Administer)?;
        let mut problems = Problems::new();
        let name = problems.check(Name::parse("name", name));
        let id = match id.filter(|id| !id.trim().is_empty()) {
            Some(id) => problems.check(Slug::parse("id", id.trim())),
            None => name.as_ref().and_then(|name| {
                problems.check(
                    Slug::from_name(name.as_str())
                        .ok_or_else(|| FieldError::new("id", "Ange ett id med bokstäverna a–z.")),
                )
            }),
        };
        problems.finish()?;
        let (id, name) = (id.expect("checked"), name.expect("checked"));
        let done = self
            .execute::<Areas>(ctx, area::STREAM, Uuid::nil(), |areas| {
                Ok(areas.add(id.clone(), name.clone(), false)?)
            })
            .await?;
        self.areas.forget();
        Ok((id, done))
    }

    /// Records the council's review of an area's timeline for a period; the returned id
    /// is the review's.
    pub async fn review_timeline(
        &self,
        ctx: &CommandContext,
        area: &str,
        input: &ReviewInput,
    ) -> Result<Done, AppError> {
        let area = self.require_area(area).await?;
        allow(ctx, &Action::ReviewTimeline)?;
        let mut problems = Problems::new();
        let period = match Period::parse(&input.period_start, &input.period_end, self.today()) {
            Ok(period) => Some(period),
            Err(errors) => {
                errors.into_iter().for_each(|error| problems.push(error));
                None
            }
        };
        let feedback = problems.check(FreeText::parse("feedback", &input.feedback));
        problems.finish()?;
        let id = ctx.new_id("review");
        self.execute::<Review>(ctx, &review::stream(id), id, |review| {
            Ok(review.record(
                id,
                area.clone(),
                period.expect("checked"),
                feedback.clone().expect("checked"),
            )?)
        })
        .await
    }

    /// Someone reports an accessibility problem, signed in (`reporter`) or not. The
    /// problem is sealed like every free text, so it can be erased.
    pub async fn report_accessibility_problem(
        &self,
        reporter: Option<&CommandContext>,
        page: &str,
        problem: &str,
    ) -> Result<Done, AppError> {
        if let Some(ctx) = reporter
            && let Some(done) = self.answered_before(ctx).await?
        {
            return Ok(done);
        }
        let id = reporter.map_or_else(Uuid::now_v7, |ctx| ctx.new_id("feedback"));
        let events = Feedback::default().report(id, page, problem)?;
        let plan = self.plan().await?;
        let stream = feedback::stream(id);
        let mut rows = match reporter {
            Some(ctx) => self.to_new_events(ctx, &stream, Feedback::default(), events, None, &plan),
            None => {
                super::to_log_events(
                    Feedback::default(),
                    events,
                    &plan,
                    |_| serde_json::json!({"role": "besokare"}),
                )
                .1
            }
        };
        self.seal(&mut rows).await?;
        match reporter {
            Some(ctx) => self.commit(ctx, id, vec![(stream, 0, rows)]).await,
            None => {
                let result = self
                    .store
                    .append(&stream, crate::event_log::ExpectedVersion::NoStream, &rows)
                    .await?;
                Ok(done(id, result))
            }
        }
    }

    /// The newest accessibility reports, their text opened (or the erasure marker).
    pub async fn accessibility_reports(
        &self,
        limit: i64,
    ) -> Result<Vec<AccessibilityReport>, AppError> {
        let mut events = self.store.read_latest_by_tag(feedback::TAG, limit).await?;
        self.privacy
            .open_all(events.iter_mut().map(|event| &mut event.data))
            .await?;
        events
            .iter()
            .map(|event| {
                let FeedbackEvent::AccessibilityProblemReported {
                    report_id,
                    page,
                    problem,
                } = crate::domain::event::decode(
                    &event.event_type,
                    event.schema_version,
                    &event.data,
                )?;
                Ok(AccessibilityReport {
                    id: report_id,
                    page: page.as_str().to_owned(),
                    problem: problem.as_str().to_owned(),
                    reported_at: event.recorded_at,
                })
            })
            .collect()
    }
}

/// Area teams write only in their own areas (an unknown activity is left to the domain).
fn allow_activity(ctx: &CommandContext, activity: &Activity) -> Result<(), AppError> {
    match &activity.area {
        Some(area) => allow(
            ctx,
            &Action::WriteActivity {
                area: area.as_str(),
            },
        ),
        None => Ok(()),
    }
}

fn allow_case(ctx: &CommandContext, case: &Case) -> Result<(), AppError> {
    match &case.area {
        Some(area) => allow(
            ctx,
            &Action::WriteCase {
                area: area.as_str(),
            },
        ),
        None => Ok(()),
    }
}

/// The receiving forum acknowledges and answers; either side may close.
fn allow_settle(ctx: &CommandContext, item: &Item, closing: bool) -> Result<(), AppError> {
    match &item.item {
        Some(raised) => allow(
            ctx,
            &Action::Settle {
                from: &raised.from,
                to: &raised.to,
                closing,
            },
        ),
        None => Ok(()),
    }
}

/// A forum whose area or process exists.
fn parse_forum(
    field: &str,
    text: &str,
    areas: &Areas,
    plan: &crate::domain::plan::Plan,
) -> Result<Forum, FieldError> {
    let forum: Forum = text
        .trim()
        .parse()
        .map_err(|message: String| FieldError::new(field, message))?;
    match &forum {
        Forum::AreaTeam(area) if areas.get(area.as_str()).is_none() => {
            Err(FieldError::new(field, "Området finns inte."))
        }
        Forum::ProcessOwner(process)
            if plan.node(NodeKind::Process, process.as_str()).is_none() =>
        {
            Err(FieldError::new(field, "Processen finns inte i planen."))
        }
        _ => Ok(forum),
    }
}

fn invalid(error: FieldError) -> AppError {
    AppError::Domain(DomainError::Invalid(vec![error]))
}

impl AppError {
    /// Convenience for callers that only need to know a command was refused as invalid.
    pub fn is_invalid(&self) -> bool {
        matches!(self, AppError::Domain(DomainError::Invalid(_)))
    }
}
