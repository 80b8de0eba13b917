//! Who acts in Insats: a signed-in person with one role, and for area teams and process
//! owners the areas or processes they work in.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

use super::values::Slug;

/// The roles of the plan's organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Områdesteam: logs activities and cases in its own areas.
    Omradesteam,
    /// Processägare: reports on its own processes' strategies, answers items.
    Processagare,
    /// Integrationsråd: reviews timelines, gives feedback, answers escalations.
    Integrationsrad,
    /// Integrationsberedning: the elected committee; reads everything.
    Integrationsberedning,
    /// Verksamhetsutvecklare integration: administers and can do what the others do.
    Samordnare,
    /// Revisor: reads and replays everything, writes nothing.
    Revisor,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Omradesteam,
        Role::Processagare,
        Role::Integrationsrad,
        Role::Integrationsberedning,
        Role::Samordnare,
        Role::Revisor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Omradesteam => "omradesteam",
            Role::Processagare => "processagare",
            Role::Integrationsrad => "integrationsrad",
            Role::Integrationsberedning => "integrationsberedning",
            Role::Samordnare => "samordnare",
            Role::Revisor => "revisor",
        }
    }

    /// The role's name in the UI.
    pub fn label(self) -> &'static str {
        match self {
            Role::Omradesteam => "Områdesteam",
            Role::Processagare => "Processägare",
            Role::Integrationsrad => "Integrationsråd",
            Role::Integrationsberedning => "Integrationsberedning",
            Role::Samordnare => "Verksamhetsutvecklare integration",
            Role::Revisor => "Revisor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown role {s:?}; one of: {}",
                    Role::ALL.map(Role::as_str).join(", ")
                )
            })
    }
}

/// The person behind a command, as the session or token says; never the request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: Uuid,
    pub name: String,
    pub role: Role,
    /// The areas an area team member works in.
    #[serde(default)]
    pub areas: Vec<Slug>,
    /// The processes a process owner owns.
    #[serde(default)]
    pub processes: Vec<Slug>,
}

impl Actor {
    /// Insats itself, for what it does on its own (importing the bundled plan).
    pub fn system() -> Self {
        Self {
            user_id: Uuid::nil(),
            name: "Insats".into(),
            role: Role::Samordnare,
            areas: Vec::new(),
            processes: Vec::new(),
        }
    }
}
