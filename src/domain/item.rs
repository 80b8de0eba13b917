//! Items between forums: the plan's information flow. An item is raised from one forum to
//! another (an area team to the council, the council to the committee, to an area team or
//! a process owner, a process owner to the council, the coordinator as the committee's
//! föredragande to the committee and back), is of a kind (eskalering, rapport,
//! fråga, information), concerns a strategy and/or an area, and is then acknowledged,
//! answered and closed. Each item is its own stream, `item-<uuid>`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

use super::error::DomainError;
use super::event::Aggregate;
use super::values::{FreeText, Slug, Title};

pub fn stream(id: Uuid) -> String {
    format!("item-{id}")
}

/// A forum of the plan's organisation, written `omradesteam:<area>`, `integrationsrad`,
/// `integrationsberedning`, `processagare:<process>` or `samordnare` (the verksamhetsutvecklare
/// for integration, who the plan names as the committee's föredragande).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Forum {
    AreaTeam(Slug),
    Council,
    Committee,
    ProcessOwner(Slug),
    Coordinator,
}

impl Forum {
    /// The forum's name in the UI.
    pub fn label(&self) -> String {
        match self {
            Forum::AreaTeam(area) => format!("Områdesteam {area}"),
            Forum::Council => "Integrationsrådet".into(),
            Forum::Committee => "Integrationsberedningen".into(),
            Forum::ProcessOwner(process) => format!("Processägare {process}"),
            Forum::Coordinator => "Verksamhetsutvecklaren för integration".into(),
        }
    }

    /// What kind of forum it is, without saying which one: for a refusal, which has no
    /// names to look up and must not show an id ("områdesteam", "processägare",
    /// "Integrationsrådet").
    pub fn kind_name(&self) -> &'static str {
        match self {
            Forum::AreaTeam(_) => "områdesteam",
            Forum::Council => "Integrationsrådet",
            Forum::Committee => "Integrationsberedningen",
            Forum::ProcessOwner(_) => "processägare",
            Forum::Coordinator => "verksamhetsutvecklaren för integration",
        }
    }

    /// Whether the plan's organisation sends items from `self` to `to`.
    pub fn may_send_to(&self, to: &Forum) -> bool {
        matches!(
            (self, to),
            (Forum::AreaTeam(_), Forum::Council)
                | (Forum::Council, Forum::Committee)
                | (Forum::Council, Forum::AreaTeam(_))
                | (Forum::Council, Forum::ProcessOwner(_))
                | (Forum::ProcessOwner(_), Forum::Council)
                | (Forum::Coordinator, Forum::Committee)
                | (Forum::Committee, Forum::Coordinator)
        )
    }

    pub fn area(&self) -> Option<&Slug> {
        match self {
            Forum::AreaTeam(area) => Some(area),
            _ => None,
        }
    }

    pub fn process(&self) -> Option<&Slug> {
        match self {
            Forum::ProcessOwner(process) => Some(process),
            _ => None,
        }
    }
}

/// A forum's name for people: areas by their names and process owners by their process's
/// title, where the log itself holds ids (`omradesteam:braas`, `processagare:aktiv-fritid`).
pub fn forum_name(
    forum: &Forum,
    plan: &crate::domain::plan::Plan,
    areas: &[(String, String)],
) -> String {
    match forum {
        Forum::AreaTeam(area) => {
            let name = areas
                .iter()
                .find(|(id, _)| id == area.as_str())
                .map(|(_, name)| name.as_str())
                .unwrap_or(area.as_str());
            format!("Områdesteam {name}")
        }
        Forum::ProcessOwner(process) => {
            format!("Processägare: {}", plan.process_title(process.as_str()))
        }
        forum => forum.label(),
    }
}

impl fmt::Display for Forum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Forum::AreaTeam(area) => write!(f, "omradesteam:{area}"),
            Forum::Council => f.write_str("integrationsrad"),
            Forum::Committee => f.write_str("integrationsberedning"),
            Forum::ProcessOwner(process) => write!(f, "processagare:{process}"),
            Forum::Coordinator => f.write_str("samordnare"),
        }
    }
}

impl FromStr for Forum {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let slug = |rest: &str| Slug::parse("forum", rest).map_err(|error| error.message);
        match s.split_once(':') {
            None if s == "integrationsrad" => Ok(Forum::Council),
            None if s == "integrationsberedning" => Ok(Forum::Committee),
            None if s == "samordnare" => Ok(Forum::Coordinator),
            Some(("omradesteam", area)) => Ok(Forum::AreaTeam(slug(area)?)),
            Some(("processagare", process)) => Ok(Forum::ProcessOwner(slug(process)?)),
            _ => Err(
                "Forumet ska vara integrationsrad, integrationsberedning, samordnare, omradesteam:<område> eller processagare:<process>."
                    .into(),
            ),
        }
    }
}

impl Serialize for Forum {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Forum {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Eskalering,
    Rapport,
    Fraga,
    Information,
}

impl ItemKind {
    pub const ALL: [ItemKind; 4] = [
        ItemKind::Eskalering,
        ItemKind::Rapport,
        ItemKind::Fraga,
        ItemKind::Information,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ItemKind::Eskalering => "Eskalering",
            ItemKind::Rapport => "Rapport",
            ItemKind::Fraga => "Fråga",
            ItemKind::Information => "Information",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Raised,
    Acknowledged,
    Answered,
    Closed,
}

/// An item to raise, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewItem {
    pub from: Forum,
    pub to: Forum,
    pub kind: ItemKind,
    pub title: Title,
    pub text: FreeText,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Slug>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area: Option<Slug>,
    /// The case this item escalates, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ItemEvent {
    ItemRaised {
        item_id: Uuid,
        #[serde(flatten)]
        item: NewItem,
    },
    ItemAcknowledged {
        item_id: Uuid,
    },
    ItemAnswered {
        item_id: Uuid,
        answer: FreeText,
    },
    ItemClosed {
        item_id: Uuid,
    },
}

/// An item as its events leave it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Item {
    pub id: Option<Uuid>,
    pub item: Option<NewItem>,
    pub status: Option<ItemStatus>,
    pub version: i64,
}

impl Item {
    pub fn raise(&self, id: Uuid, mut item: NewItem) -> Result<Vec<ItemEvent>, DomainError> {
        if self.id.is_some() {
            return Err(DomainError::conflict("Skrivelsen finns redan."));
        }
        if !item.from.may_send_to(&item.to) {
            return Err(DomainError::invalid(
                "to",
                format!(
                    "{} skickar inte till {} enligt planens organisation.",
                    sentence_start(item.from.kind_name()),
                    item.to.kind_name()
                ),
            ));
        }
        // An item from or to an area team concerns that area, and no other.
        let team_area = item.from.area().or(item.to.area()).cloned();
        match (&item.area, team_area) {
            (None, team_area) => item.area = team_area,
            (Some(area), Some(team_area)) if *area != team_area => {
                return Err(DomainError::invalid(
                    "area",
                    "En skrivelse till eller från ett områdesteam gäller teamets eget område.",
                ));
            }
            _ => {}
        }
        Ok(vec![ItemEvent::ItemRaised { item_id: id, item }])
    }

    pub fn acknowledge(&self) -> Result<Vec<ItemEvent>, DomainError> {
        let item_id = self.existing()?;
        match self.status {
            Some(ItemStatus::Raised) => Ok(vec![ItemEvent::ItemAcknowledged { item_id }]),
            Some(ItemStatus::Acknowledged) => {
                Err(DomainError::conflict("Mottagandet är redan bekräftat."))
            }
            _ => Err(DomainError::conflict(
                "Skrivelsen är redan besvarad eller stängd.",
            )),
        }
    }

    pub fn answer(&self, answer: FreeText) -> Result<Vec<ItemEvent>, DomainError> {
        let item_id = self.existing()?;
        match self.status {
            Some(ItemStatus::Raised | ItemStatus::Acknowledged) => {}
            Some(ItemStatus::Answered) => {
                return Err(DomainError::conflict("Skrivelsen är redan besvarad."));
            }
            _ => return Err(DomainError::conflict("Skrivelsen är stängd.")),
        }
        if answer.is_empty() {
            return Err(DomainError::invalid("answer", "Skriv ett svar."));
        }
        Ok(vec![ItemEvent::ItemAnswered { item_id, answer }])
    }

    pub fn close(&self) -> Result<Vec<ItemEvent>, DomainError> {
        let item_id = self.existing()?;
        if self.status == Some(ItemStatus::Closed) {
            return Err(DomainError::conflict("Skrivelsen är redan stängd."));
        }
        Ok(vec![ItemEvent::ItemClosed { item_id }])
    }

    fn existing(&self) -> Result<Uuid, DomainError> {
        self.id
            .ok_or_else(|| DomainError::not_found("Skrivelsen finns inte."))
    }
}

impl Aggregate for Item {
    type Event = ItemEvent;

    fn apply(mut self, event: &ItemEvent) -> Self {
        self.version += 1;
        match event {
            ItemEvent::ItemRaised { item_id, item } => {
                self.id = Some(*item_id);
                self.item = Some(item.clone());
                self.status = Some(ItemStatus::Raised);
            }
            ItemEvent::ItemAcknowledged { .. } => self.status = Some(ItemStatus::Acknowledged),
            ItemEvent::ItemAnswered { .. } => self.status = Some(ItemStatus::Answered),
            ItemEvent::ItemClosed { .. } => self.status = Some(ItemStatus::Closed),
        }
        self
    }

    fn tags(&self, _event: &ItemEvent) -> Vec<String> {
        let mut tags = Vec::new();
        if let Some(id) = self.id {
            tags.push(format!("item:{id}"));
        }
        if let Some(item) = &self.item {
            if let Some(area) = &item.area {
                tags.push(format!("area:{area}"));
            }
            if let Some(strategy) = &item.strategy {
                tags.push(format!("strategy:{strategy}"));
            }
            if let Some(process) = item.from.process().or(item.to.process()) {
                tags.push(format!("process:{process}"));
            }
            if let Some(case_id) = item.case_id {
                tags.push(format!("case:{case_id}"));
            }
        }
        tags
    }
}

/// `text` with its first letter capitalised, to begin a sentence.
fn sentence_start(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::fold;

    fn forum(s: &str) -> Forum {
        s.parse().unwrap()
    }

    fn new_item(from: &str, to: &str) -> NewItem {
        NewItem {
            from: forum(from),
            to: forum(to),
            kind: ItemKind::Fraga,
            title: Title::parse("title", "Lokaler för språkcafé").unwrap(),
            text: FreeText::parse("text", "Kan rådet hjälpa till?").unwrap(),
            strategy: None,
            area: None,
            case_id: None,
        }
    }

    #[test]
    fn forums_are_written_as_in_the_api() {
        for text in [
            "omradesteam:araby",
            "integrationsrad",
            "integrationsberedning",
            "processagare:aktiv-fritid",
            "samordnare",
        ] {
            assert_eq!(forum(text).to_string(), text);
        }
        assert!("radet".parse::<Forum>().is_err());
        assert!("omradesteam:Araby".parse::<Forum>().is_err());
    }

    #[test]
    fn only_the_plans_edges_are_allowed() {
        let allowed = [
            ("omradesteam:araby", "integrationsrad"),
            ("integrationsrad", "integrationsberedning"),
            ("integrationsrad", "omradesteam:braas"),
            ("integrationsrad", "processagare:aktiv-fritid"),
            ("processagare:aktiv-fritid", "integrationsrad"),
            ("samordnare", "integrationsberedning"),
            ("integrationsberedning", "samordnare"),
        ];
        for (from, to) in allowed {
            assert!(
                Item::default()
                    .raise(Uuid::now_v7(), new_item(from, to))
                    .is_ok(),
                "{from} → {to}"
            );
        }
        for (from, to) in [
            ("omradesteam:araby", "integrationsberedning"),
            ("integrationsberedning", "integrationsrad"),
            ("omradesteam:araby", "omradesteam:braas"),
            ("processagare:aktiv-fritid", "omradesteam:braas"),
            ("samordnare", "integrationsrad"),
            ("omradesteam:araby", "samordnare"),
        ] {
            assert!(
                matches!(
                    Item::default().raise(Uuid::now_v7(), new_item(from, to)),
                    Err(DomainError::Invalid(_))
                ),
                "{from} → {to}"
            );
        }
    }

    /// A refusal has no names to look up: it says what kind of forum, never the id the
    /// log holds ("omradesteam:braas", "processagare:aktiv-fritid").
    #[test]
    fn refusals_name_forums_by_kind_never_by_id() {
        let refused = |item: NewItem| match Item::default().raise(Uuid::now_v7(), item) {
            Err(DomainError::Invalid(errors)) => errors[0].message.clone(),
            other => panic!("not refused: {other:?}"),
        };
        assert_eq!(
            refused(new_item("processagare:aktiv-fritid", "omradesteam:braas")),
            "Processägare skickar inte till områdesteam enligt planens organisation."
        );
        assert_eq!(
            refused(new_item("omradesteam:araby", "integrationsberedning")),
            "Områdesteam skickar inte till Integrationsberedningen enligt planens organisation."
        );
        let mut elsewhere = new_item("omradesteam:araby", "integrationsrad");
        elsewhere.area = Some(Slug::parse("area", "teleborg").unwrap());
        let message = refused(elsewhere);
        for id in ["araby", "teleborg", "omradesteam:"] {
            assert!(!message.contains(id), "{message}");
        }
    }

    #[test]
    fn an_item_to_or_from_an_area_team_concerns_that_teams_area_only() {
        let mut item = new_item("omradesteam:araby", "integrationsrad");
        item.area = Some(Slug::parse("area", "teleborg").unwrap());
        assert!(matches!(
            Item::default().raise(Uuid::now_v7(), item),
            Err(DomainError::Invalid(errors)) if errors[0].field == "area"
        ));
        let mut item = new_item("integrationsrad", "omradesteam:braas");
        item.area = Some(Slug::parse("area", "araby").unwrap());
        assert!(Item::default().raise(Uuid::now_v7(), item).is_err());
        let mut item = new_item("integrationsrad", "integrationsberedning");
        item.area = Some(Slug::parse("area", "araby").unwrap());
        assert!(Item::default().raise(Uuid::now_v7(), item).is_ok());
    }

    #[test]
    fn given_a_raised_item_it_is_acknowledged_answered_and_closed_once_each() {
        let id = Uuid::now_v7();
        let raised = fold::<Item>(
            &Item::default()
                .raise(id, new_item("omradesteam:araby", "integrationsrad"))
                .unwrap(),
        );
        assert_eq!(
            raised
                .item
                .as_ref()
                .unwrap()
                .area
                .as_ref()
                .unwrap()
                .as_str(),
            "araby"
        );
        assert_eq!(
            raised.tags(&ItemEvent::ItemAcknowledged { item_id: id }),
            [format!("item:{id}"), "area:araby".into()]
        );
        let acknowledged = raised
            .acknowledge()
            .unwrap()
            .iter()
            .fold(raised, Item::apply);
        assert!(acknowledged.acknowledge().is_err());
        assert!(matches!(
            acknowledged.answer(FreeText::default()),
            Err(DomainError::Invalid(_))
        ));
        let answered = acknowledged
            .answer(FreeText::parse("a", "Ja").unwrap())
            .unwrap()
            .iter()
            .fold(acknowledged, Item::apply);
        assert!(matches!(
            answered.answer(FreeText::parse("a", "Igen").unwrap()),
            Err(DomainError::Conflict(_))
        ));
        let closed = answered.close().unwrap().iter().fold(answered, Item::apply);
        assert!(closed.close().is_err());
        assert!(closed.acknowledge().is_err());
        assert!(matches!(
            Item::default().close(),
            Err(DomainError::NotFound(_))
        ));
    }
}
