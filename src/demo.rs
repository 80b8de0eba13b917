//! `insats demo`: a realistic, deterministic history in Swedish. The four areas over the
//! years since 2019: activities against many strategies with partners, cases through their
//! whole lifecycle (notes, assignment, status, escalation to the council and its answer,
//! closing, sometimes reopening), status reports from the process owners, items between
//! the forums, decisions and the council's reviews.
//!
//! Everything is drawn from one seeded generator, so the same seed and size give the same
//! history (ids included). Events are written with `EventStore::append_bulk` in large
//! batches, with the simulated time as each event's recorded time.

use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use time::{Date, Duration, OffsetDateTime, Time};
use uuid::Uuid;

use crate::app::{Services, to_log_events};
use crate::domain::activity::{Activity, ActivityDetails, PartnerMention};
use crate::domain::actor::Role;
use crate::domain::case::{Assignee, Case, CaseStatus};
use crate::domain::event::Aggregate;
use crate::domain::item::{Forum, Item, ItemKind, NewItem};
use crate::domain::plan::{NodeKind, Plan};
use crate::domain::process::Process;
use crate::domain::review::Review;
use crate::domain::strategy::{StrategyReports, StrategyStatus};
use crate::domain::values::{FreeText, Name, Period, Slug, Title};
use crate::event_log::chain::{GENESIS, Hash};
use crate::event_log::{BulkStream, NewEvent};

/// The day the simulated history starts.
const START: Date = time::macros::date!(2019 - 01 - 07);
/// Events per bulk statement.
const BATCH: usize = 4_000;

/// A demo user: the same ids as the accounts `insats demo` creates.
#[derive(Debug, Clone)]
pub struct DemoUser {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub areas: Vec<String>,
    pub processes: Vec<String>,
}

/// The demo password of a demo user: `demo-<the part of the e-mail before @>-2026`.
pub fn password(user: &DemoUser) -> String {
    let local = user.email.split('@').next().unwrap_or("user");
    format!("demo-{local}-2026")
}

/// One user per role, an area team user per area, and a process owner per process.
pub fn users(plan: &Plan, areas: &[(String, String)]) -> Vec<DemoUser> {
    let mut users = Vec::new();
    let id = |n: u128| Uuid::from_u128(0x0192_f0c4_0000_7000_8000_0000_0000_0000 | n);
    let first_names = [
        "Anna", "Ali", "Sara", "Johan", "Fatima", "Erik", "Leila", "Mikael", "Noor", "Karin",
    ];
    for (index, (area, name)) in areas.iter().enumerate() {
        users.push(DemoUser {
            id: id(100 + index as u128),
            name: format!("{} i {name}", first_names[index % first_names.len()]),
            email: format!("{area}@insats.local"),
            role: Role::Omradesteam,
            areas: vec![area.clone()],
            processes: Vec::new(),
        });
    }
    for (index, process) in plan.nodes(NodeKind::Process).into_iter().enumerate() {
        users.push(DemoUser {
            id: id(200 + index as u128),
            name: format!(
                "{} Processägare",
                ["Karin", "Omar", "Lena", "Hassan", "Maria", "Per"][index % 6]
            ),
            email: format!("process-{}@insats.local", index + 1),
            role: Role::Processagare,
            areas: Vec::new(),
            processes: vec![process.id.clone()],
        });
    }
    for (n, role, name, email) in [
        (
            300,
            Role::Integrationsrad,
            "Integrationsrådet (ordförande)",
            "rad@insats.local",
        ),
        (
            301,
            Role::Integrationsberedning,
            "Integrationsberedningen",
            "beredning@insats.local",
        ),
        (
            302,
            Role::Samordnare,
            "Verksamhetsutvecklare integration",
            "samordnare@insats.local",
        ),
        (303, Role::Revisor, "Revisor", "revisor@insats.local"),
    ] {
        users.push(DemoUser {
            id: id(n),
            name: name.into(),
            email: email.into(),
            role,
            areas: Vec::new(),
            processes: Vec::new(),
        });
    }
    users
}

const ACTIVITY_TITLES: [&str; 16] = [
    "Språkcafé på biblioteket",
    "Föräldraträff om skolan",
    "Studiebesök på företag",
    "Jobbmässa i området",
    "Samhällsinformation på lätt svenska",
    "Läxhjälp med studiehandledare",
    "Öppen idrottshall på lördag",
    "Mentorsträff med yrkesnätverk",
    "Information om vuxenutbildning och sfi",
    "Dialogmöte med boende",
    "Trygghetsvandring",
    "Kvinnogrupp om arbetsmarknaden",
    "Företagarfrukost",
    "Prova-på-dag inom vården",
    "Föreningsmässa",
    "Rådgivning om eget företag",
];

const DESCRIPTIONS: [&str; 6] = [
    "Genomfördes tillsammans med samverkansparterna. Bra uppslutning och många frågor.",
    "Deltagarna efterfrågade en uppföljning om några veckor.",
    "Tolk fanns på plats. Materialet delades ut på flera språk.",
    "Lägre uppslutning än väntat på grund av vädret.",
    "Flera deltagare anmälde intresse för fortsättning.",
    "",
];

const CASE_TITLES: [&str; 10] = [
    "Familj behöver stöd med bostad",
    "Ungdomar saknar sommarjobb",
    "Lokal för föreningsverksamhet saknas",
    "Otrygg miljö vid busshållplatsen",
    "Behov av fler platser på sfi",
    "Studiehandledning på modersmål räcker inte",
    "Företagare vill anställa men hittar inte kandidater",
    "Föräldrar vill ha information om skolval",
    "Långa väntetider till validering",
    "Mötesplats stänger under sommaren",
];

const NOTES: [&str; 8] = [
    "Kontakt tagen med berörd förvaltning.",
    "Möte bokat nästa vecka.",
    "Väntar på besked från bostadsbolaget.",
    "Arbetsförmedlingen är informerad.",
    "Diskuterat i områdesteamet, vi fortsätter.",
    "Föreningen återkommer med förslag.",
    "Ärendet följs upp vid nästa möte.",
    "Frågan lyft med processägaren.",
];

/// What a demo run wrote.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct DemoOutcome {
    pub events: u64,
    pub days: i64,
}

struct Scheduled {
    at: OffsetDateTime,
    stream: String,
    event: NewEvent,
}

/// The generator's state: heads of the streams it writes, pending future events.
struct Generator<'a> {
    rng: fastrand::Rng,
    plan: &'a Plan,
    users: &'a [DemoUser],
    areas: Vec<(Slug, String)>,
    strategies: Vec<(Slug, Slug)>,
    heads: HashMap<String, (i64, Hash)>,
    pending: BTreeMap<(OffsetDateTime, u64), Scheduled>,
    sequence: u64,
    ready: Vec<Scheduled>,
}

impl Generator<'_> {
    fn uuid(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(self.rng.u128(..).to_le_bytes()).into_uuid()
    }

    fn metadata(&self, user: &DemoUser, correlation: Uuid, area: Option<&str>) -> Value {
        let mut metadata = json!({
            "actor": user.id,
            "actor_name": user.name,
            "role": user.role,
            "correlation_id": correlation,
        });
        if let Some(area) = area {
            metadata["area"] = json!(area);
        }
        metadata
    }

    fn user(&self, role: Role, area: Option<&str>, process: Option<&str>) -> &DemoUser {
        self.users
            .iter()
            .find(|user| {
                user.role == role
                    && area.is_none_or(|area| user.areas.iter().any(|a| a == area))
                    && process.is_none_or(|process| user.processes.iter().any(|p| p == process))
            })
            .unwrap_or(&self.users[0])
    }

    /// Turns a command's events into scheduled log events at `at`, with fresh seeded ids.
    fn emit<A: Aggregate>(
        &mut self,
        stream: &str,
        state: A,
        events: Vec<A::Event>,
        user: &DemoUser,
        at: OffsetDateTime,
    ) -> A {
        let correlation = self.uuid();
        let user = user.clone();
        let (state, mut new_events) = to_log_events(state, events, self.plan, |area| {
            self.metadata(&user, correlation, area)
        });
        for event in &mut new_events {
            event.event_id = self.uuid();
            self.sequence += 1;
            self.pending.insert(
                (at, self.sequence),
                Scheduled {
                    at,
                    stream: stream.to_owned(),
                    event: event.clone(),
                },
            );
        }
        state
    }

    fn at(&mut self, day: Date) -> OffsetDateTime {
        let minutes = self.rng.u32(8 * 60..17 * 60);
        let seconds = self.rng.u32(0..60);
        day.with_time(Time::from_hms(0, 0, 0).expect("midnight"))
            .assume_utc()
            + Duration::minutes(minutes.into())
            + Duration::seconds(seconds.into())
    }

    fn text(&self, s: &str) -> FreeText {
        text(s)
    }

    fn pick<'b, T>(&mut self, items: &'b [T]) -> &'b T {
        &items[self.rng.usize(..items.len())]
    }

    fn phrase(&mut self, items: &[&'static str]) -> &'static str {
        items[self.rng.usize(..items.len())]
    }

    fn activity(&mut self, day: Date, area: &Slug) {
        let count = if self.rng.u8(..10) < 3 { 2 } else { 1 };
        let mut strategies: Vec<Slug> = Vec::new();
        for _ in 0..count {
            let strategy = self.pick(&self.strategies.clone()).0.clone();
            if !strategies.contains(&strategy) {
                strategies.push(strategy);
            }
        }
        let partners: Vec<PartnerMention> = self
            .plan
            .strategy(strategies[0].as_str())
            .map(|strategy| strategy.partners())
            .unwrap_or_default()
            .into_iter()
            .filter(|_| self.rng.bool())
            .filter_map(|id| self.plan.node(NodeKind::Partner, id))
            .map(|node| PartnerMention {
                id: Some(node.id.clone()),
                name: node.text("name").to_owned(),
            })
            .collect();
        let details = ActivityDetails {
            date: day,
            title: Title::parse("title", self.phrase(&ACTIVITY_TITLES)).expect("valid"),
            description: text(self.phrase(&DESCRIPTIONS)),
            strategies,
            partners,
            participants: self.rng.u32(3..60),
            follow_up: self.rng.u8(..4) == 0,
        };
        let id = self.uuid();
        let stream = crate::domain::activity::stream(id);
        let user = self
            .user(Role::Omradesteam, Some(area.as_str()), None)
            .clone();
        let at = self.at(day);
        let events = Activity::default()
            .log(id, area.clone(), details.clone())
            .expect("a new activity");
        let state = self.emit(&stream, Activity::default(), events, &user, at);
        // Now and then an activity is corrected or retracted a few days later.
        match self.rng.u8(..100) {
            0..=4 => {
                let mut corrected = details;
                corrected.participants += self.rng.u32(1..5);
                let events = state
                    .correct(corrected, self.text("Fel antal deltagare"))
                    .expect("correctable");
                let later = at + Duration::days(self.rng.i64(1..5));
                self.emit(&stream, state, events, &user, later);
            }
            5..=6 => {
                let events = state
                    .retract(self.text("Dubbelregistrerad"))
                    .expect("retractable");
                let later = at + Duration::days(self.rng.i64(1..3));
                self.emit(&stream, state, events, &user, later);
            }
            _ => {}
        }
    }

    /// A case and its whole future: notes, assignment, status, escalation, closing.
    fn case(&mut self, day: Date, area: &Slug) {
        let id = self.uuid();
        let stream = crate::domain::case::stream(id);
        let team = self
            .user(Role::Omradesteam, Some(area.as_str()), None)
            .clone();
        let council = self.user(Role::Integrationsrad, None, None).clone();
        let (strategy, process) = self.pick(&self.strategies.clone()).clone();
        let mut at = self.at(day);
        let events = Case::default()
            .open(
                id,
                area.clone(),
                Title::parse("title", self.phrase(&CASE_TITLES)).expect("valid"),
                self.text("Uppmärksammat av områdesteamet."),
                vec![strategy.clone()],
            )
            .expect("a new case");
        let mut state = self.emit(&stream, Case::default(), events, &team, at);
        let steps = self.rng.usize(1..6);
        for step in 0..steps {
            at += Duration::days(self.rng.i64(1..12)) + Duration::hours(self.rng.i64(0..6));
            let events = match step {
                1 if self.rng.bool() => state.assign(Assignee::ProcessOwner {
                    process: process.clone(),
                }),
                2 => state.change_status(CaseStatus::Pagaende),
                _ => {
                    let note = self.uuid();
                    let text = text(self.phrase(&NOTES));
                    state.add_note(note, text)
                }
            };
            if let Ok(events) = events {
                state = self.emit(&stream, state, events, &team, at);
            }
        }
        if self.rng.u8(..100) < 25 {
            at += Duration::days(self.rng.i64(1..7));
            let item_id = self.uuid();
            let text = self.text("Områdesteamet behöver rådets stöd för att gå vidare.");
            if let Ok(case_events) = state.escalate(item_id, text.clone()) {
                let item = NewItem {
                    from: Forum::AreaTeam(area.clone()),
                    to: Forum::Council,
                    kind: ItemKind::Eskalering,
                    title: state.title.clone().expect("opened"),
                    text,
                    strategy: Some(strategy.clone()),
                    area: Some(area.clone()),
                    case_id: Some(id),
                };
                state = self.emit(&stream, state, case_events, &team, at);
                let item_stream = crate::domain::item::stream(item_id);
                let raised = Item::default().raise(item_id, item).expect("a new item");
                let mut item_state = self.emit(&item_stream, Item::default(), raised, &team, at);
                // Some escalations are still waiting for an answer at the end.
                if self.rng.u8(..100) < 85 {
                    at += Duration::days(self.rng.i64(2..30));
                    let ack = item_state.acknowledge().expect("raised");
                    item_state = self.emit(&item_stream, item_state, ack, &council, at);
                    at += Duration::days(self.rng.i64(0..10));
                    let answer = self.text("Rådet ställer sig bakom förslaget och följer upp.");
                    let answered = item_state.answer(answer.clone()).expect("acknowledged");
                    self.emit(&item_stream, item_state, answered, &council, at);
                    let case_answered = state
                        .escalation_answered(item_id, answer)
                        .expect("escalated");
                    state = self.emit(&stream, state, case_answered, &council, at);
                }
            }
        }
        if self.rng.u8(..100) < 80 {
            at += Duration::days(self.rng.i64(3..40));
            if let Ok(events) = state.close(self.text("Ärendet är löst.")) {
                state = self.emit(&stream, state, events, &team, at);
                if self.rng.u8(..100) < 8 {
                    at += Duration::days(self.rng.i64(5..60));
                    if let Ok(events) = state.reopen(self.text("Frågan kom tillbaka.")) {
                        self.emit(&stream, state, events, &team, at);
                    }
                }
            }
        }
    }

    fn item(&mut self, day: Date) {
        let (from, to, kind) = match self.rng.u8(..4) {
            0 => (Forum::Council, Forum::Committee, ItemKind::Rapport),
            1 => {
                let area = self.pick(&self.areas.clone()).0.clone();
                (Forum::Council, Forum::AreaTeam(area), ItemKind::Information)
            }
            2 => {
                let process = self.pick(&self.strategies.clone()).1.clone();
                (
                    Forum::Council,
                    Forum::ProcessOwner(process),
                    ItemKind::Fraga,
                )
            }
            _ => {
                let process = self.pick(&self.strategies.clone()).1.clone();
                (
                    Forum::ProcessOwner(process),
                    Forum::Council,
                    ItemKind::Rapport,
                )
            }
        };
        let strategy = self
            .strategies
            .iter()
            .find(|(_, process)| Some(process) == from.process().or(to.process()))
            .map(|(strategy, _)| strategy.clone());
        let title = match kind {
            ItemKind::Rapport => "Lägesrapport",
            ItemKind::Information => "Information från rådet",
            ItemKind::Fraga => "Fråga om genomförandet",
            ItemKind::Eskalering => "Eskalering",
        };
        let item = NewItem {
            from: from.clone(),
            to: to.clone(),
            kind,
            title: Title::parse("title", title).expect("valid"),
            text: self.text("Se underlaget från senaste mötet."),
            strategy,
            area: None,
            case_id: None,
        };
        let id = self.uuid();
        let stream = crate::domain::item::stream(id);
        let sender = self.forum_user(&from);
        let receiver = self.forum_user(&to);
        let mut at = self.at(day);
        let raised = Item::default().raise(id, item).expect("an allowed edge");
        let mut state = self.emit(&stream, Item::default(), raised, &sender, at);
        if self.rng.u8(..100) < 80 {
            at += Duration::days(self.rng.i64(1..21));
            let answered = state
                .answer(self.text("Tack, vi tar med oss detta."))
                .expect("open");
            state = self.emit(&stream, state, answered, &receiver, at);
            at += Duration::days(self.rng.i64(0..5));
            let closed = state.close().expect("answered");
            self.emit(&stream, state, closed, &receiver, at);
        }
    }

    fn forum_user(&self, forum: &Forum) -> DemoUser {
        match forum {
            Forum::AreaTeam(area) => self
                .user(Role::Omradesteam, Some(area.as_str()), None)
                .clone(),
            Forum::Council => self.user(Role::Integrationsrad, None, None).clone(),
            Forum::Committee => self.user(Role::Integrationsberedning, None, None).clone(),
            Forum::Coordinator => self.user(Role::Samordnare, None, None).clone(),
            Forum::ProcessOwner(process) => self
                .user(Role::Processagare, None, Some(process.as_str()))
                .clone(),
        }
    }

    /// Every process owner reports on each of their strategies for the tertial just ended.
    fn status_reports(&mut self, day: Date, period: Period) {
        for (strategy, process) in self.strategies.clone() {
            let owner = self
                .user(Role::Processagare, None, Some(process.as_str()))
                .clone();
            let status = match self.rng.u8(..10) {
                0 => StrategyStatus::Avvikelse,
                1..=2 => StrategyStatus::Risk,
                _ => StrategyStatus::EnligtPlan,
            };
            let comment = match status {
                StrategyStatus::EnligtPlan => FreeText::default(),
                StrategyStatus::Risk => self.text("Resurserna räcker inte för hela planen."),
                StrategyStatus::Avvikelse => {
                    self.text("Insatserna har inte kommit igång som planerat.")
                }
            };
            let report_id = self.uuid();
            let stream = crate::domain::strategy::stream(strategy.as_str());
            let state = StrategyReports::default();
            let events = state
                .report(
                    report_id,
                    strategy.clone(),
                    process.clone(),
                    period,
                    status,
                    comment,
                )
                .expect("a valid report");
            let at = self.at(day);
            self.emit(&stream, state, events, &owner, at);
        }
    }

    fn review(&mut self, day: Date, area: &Slug, period: Period) {
        let council = self.user(Role::Integrationsrad, None, None).clone();
        let id = self.uuid();
        let events = Review::default()
            .record(
                id,
                area.clone(),
                period,
                self.text("Rådet har gått igenom tidslinjen. God bredd bland insatserna."),
            )
            .expect("a new review");
        let at = self.at(day);
        self.emit(
            &crate::domain::review::stream(id),
            Review::default(),
            events,
            &council,
            at,
        );
    }

    fn decision(&mut self, day: Date) {
        let (strategy, process) = self.pick(&self.strategies.clone()).clone();
        let owner = self
            .user(Role::Processagare, None, Some(process.as_str()))
            .clone();
        let id = self.uuid();
        let events = Process::default()
            .record_decision(
                id,
                process.clone(),
                Some(strategy),
                Title::parse("title", "Beslut om fortsatt finansiering").expect("valid"),
                self.text("Insatsen fortsätter under nästa år."),
                day,
            )
            .expect("a decision");
        let at = self.at(day);
        self.emit(
            &crate::domain::process::stream(process.as_str()),
            Process::default(),
            events,
            &owner,
            at,
        );
    }

    /// Moves scheduled events up to `until` into the ready list.
    fn release(&mut self, until: OffsetDateTime) {
        while let Some(entry) = self.pending.first_entry() {
            if entry.key().0 > until {
                break;
            }
            self.ready.push(entry.remove());
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct DemoSpec<'a> {
    pub plan: &'a Plan,
    pub users: &'a [DemoUser],
    /// The areas, as (id, name).
    pub areas: &'a [(String, String)],
    /// About how many events to write.
    pub events: u64,
    pub seed: u64,
    /// The history ends on this day.
    pub today: Date,
}

/// The areas Insats holds, as (id, name).
pub async fn areas_of(services: &Services) -> anyhow::Result<Vec<(String, String)>> {
    Ok(services.areas().await.map_err(anyhow::Error::new)?.names())
}

/// Writes about `events` events of demo history ending on `today`, for the plan Insats
/// holds and `areas` (as (id, name)), by the demo [`users`] of those. Calls `progress` with
/// the events written so far.
pub async fn write(
    services: &Services,
    areas: &[(String, String)],
    events: u64,
    seed: u64,
    today: Date,
    progress: impl FnMut(u64),
) -> anyhow::Result<DemoOutcome> {
    let plan = services.plan().await.map_err(anyhow::Error::new)?;
    let users = users(&plan, areas);
    generate(
        services,
        DemoSpec {
            plan: &plan,
            users: &users,
            areas,
            events,
            seed,
            today,
        },
        progress,
    )
    .await
}

/// Writes about `spec.events` events of demo history. Calls `progress` with the events
/// written so far.
pub async fn generate(
    services: &Services,
    spec: DemoSpec<'_>,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<DemoOutcome> {
    let DemoSpec {
        plan,
        users,
        areas,
        events: target,
        seed,
        today,
    } = spec;
    let areas: Vec<(Slug, String)> = areas
        .iter()
        .map(|(id, name)| {
            Ok((
                Slug::parse("area", id).map_err(|e| anyhow::anyhow!(e.message))?,
                name.clone(),
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    let strategies: Vec<(Slug, Slug)> = plan
        .nodes(NodeKind::Strategy)
        .into_iter()
        .filter_map(|node| {
            Some((
                Slug::parse("s", &node.id).ok()?,
                Slug::parse("p", node.text("process")).ok()?,
            ))
        })
        .collect();
    anyhow::ensure!(
        !areas.is_empty() && !strategies.is_empty(),
        "the plan has no areas or strategies yet"
    );
    let mut generator = Generator {
        rng: fastrand::Rng::with_seed(seed),
        plan,
        users,
        areas,
        strategies,
        heads: HashMap::new(),
        pending: BTreeMap::new(),
        sequence: 0,
        ready: Vec::new(),
    };

    // Process owners first.
    for process in plan.nodes(NodeKind::Process) {
        let owner = generator
            .user(Role::Processagare, None, Some(&process.id))
            .clone();
        let slug = Slug::parse("p", &process.id).map_err(|e| anyhow::anyhow!(e.message))?;
        let events = Process::default()
            .assign_owner(
                slug,
                Name::parse("name", &owner.name).map_err(|e| anyhow::anyhow!(e.message))?,
                Some(owner.id),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let coordinator = generator.user(Role::Samordnare, None, None).clone();
        let at = START.midnight().assume_utc();
        generator.emit(
            &crate::domain::process::stream(&process.id),
            Process::default(),
            events,
            &coordinator,
            at,
        );
    }

    // Rates per area and working day, scaled so the whole period yields about `target`.
    let days = (today - START).whole_days().max(1);
    let fixed_per_day =
        (generator.strategies.len() as f64 * 3.0 / 365.0) + 4.0 * 4.0 / 365.0 + 0.2 * 3.2 + 0.05;
    let per_unit = generator.areas.len() as f64 * (1.07 + 0.25 * 7.5);
    // 1.15: what the estimate leaves out (events scheduled past today are not written).
    let scale = ((target as f64 / days as f64 - fixed_per_day) / per_unit * 1.15).max(0.01);
    let (activity_rate, case_rate) = (scale, 0.25 * scale);

    let mut written: u64 = 0;
    let mut day = START;
    while day <= today && written < target {
        let weekday = day.weekday().number_days_from_monday();
        if weekday < 5 {
            for (area, _) in generator.areas.clone() {
                for _ in 0..poisson(&mut generator.rng, activity_rate * 7.0 / 5.0) {
                    generator.activity(day, &area);
                }
                for _ in 0..poisson(&mut generator.rng, case_rate * 7.0 / 5.0) {
                    generator.case(day, &area);
                }
            }
            for _ in 0..poisson(&mut generator.rng, 0.2 * 7.0 / 5.0) {
                generator.item(day);
            }
            if generator.rng.u8(..100) < 7 {
                generator.decision(day);
            }
        }
        // Tertial reports in the first week of January, May and September.
        if matches!((u8::from(day.month()), day.day()), (1 | 5 | 9, 8)) {
            let (start, end) = crate::domain::strategy::last_tertial(day);
            let period = Period { start, end };
            generator.status_reports(day, period);
        }
        // Quarterly reviews of each area's timeline.
        if matches!((u8::from(day.month()), day.day()), (1 | 4 | 7 | 10, 15)) {
            let period = Period {
                start: day - Duration::days(105),
                end: day - Duration::days(15),
            };
            for (area, _) in generator.areas.clone() {
                generator.review(day, &area, period);
            }
        }
        let until = (day + Duration::days(1)).midnight().assume_utc();
        generator.release(until);
        if generator.ready.len() >= BATCH {
            written += flush(services, &mut generator, target - written).await?;
            progress(written);
        }
        day += Duration::days(1);
    }
    // What remains scheduled in the past is written; the future is left out.
    let now = today.midnight().assume_utc() + Duration::days(1);
    generator.release(now);
    while !generator.ready.is_empty() && written < target {
        written += flush(services, &mut generator, target - written).await?;
        progress(written);
    }
    Ok(DemoOutcome {
        events: written,
        days: (day - START).whole_days(),
    })
}

/// Writes up to `limit` ready events (and at most one batch) in one statement.
async fn flush(
    services: &Services,
    generator: &mut Generator<'_>,
    limit: u64,
) -> anyhow::Result<u64> {
    let take = generator.ready.len().min(BATCH).min(limit as usize);
    let mut batch: Vec<Scheduled> = generator.ready.drain(..take).collect();
    // Free text is sealed under its subject's key, as commands do.
    let mut events: Vec<NewEvent> = batch
        .iter()
        .map(|scheduled| scheduled.event.clone())
        .collect();
    services.privacy().seal(&mut events).await?;
    for (scheduled, sealed) in batch.iter_mut().zip(events) {
        scheduled.event = sealed;
    }
    let mut order: Vec<String> = Vec::new();
    let mut by_stream: HashMap<String, Vec<(NewEvent, OffsetDateTime)>> = HashMap::new();
    for scheduled in batch {
        let events = by_stream.entry(scheduled.stream.clone()).or_default();
        if events.is_empty() {
            order.push(scheduled.stream.clone());
        }
        events.push((scheduled.event, scheduled.at));
    }
    let streams: Vec<BulkStream> = order
        .into_iter()
        .map(|stream_id| {
            let (after_version, after_hash) = generator
                .heads
                .get(&stream_id)
                .copied()
                .unwrap_or((0, GENESIS));
            let events = by_stream.remove(&stream_id).unwrap_or_default();
            BulkStream {
                stream_id,
                after_version,
                after_hash,
                events,
            }
        })
        .collect();
    let heads = services.store().append_bulk(&streams).await?;
    for (stream, head) in streams.iter().zip(heads) {
        generator
            .heads
            .insert(stream.stream_id.clone(), (head.version, head.hash));
    }
    Ok(take as u64)
}

fn text(s: &str) -> FreeText {
    FreeText::parse("text", s).expect("demo text is valid")
}

/// A Poisson-distributed count with mean `lambda` (Knuth's method; lambda is small).
fn poisson(rng: &mut fastrand::Rng, lambda: f64) -> u32 {
    let limit = (-lambda).exp();
    let mut product = rng.f64();
    let mut count = 0;
    while product > limit {
        count += 1;
        product *= rng.f64();
    }
    count
}
