//! Validated values: a value of these types is known to be acceptable ("parse, don't
//! validate"). Each parser names the field it reads and explains a refusal in Swedish.

use serde::{Deserialize, Serialize};
use time::Date;

use super::error::FieldError;

/// The plan was adopted in 2018; nothing in Insats happened before that.
pub const EARLIEST_DATE: Date = time::macros::date!(2018 - 01 - 01);
/// How far ahead a date may lie (an activity can be planned, a period can end later).
pub const MAX_DAYS_AHEAD: i64 = 366;

const TITLE_MAX: usize = 200;
const TEXT_MAX: usize = 10_000;
const NAME_MAX: usize = 200;
pub const PARTICIPANTS_MAX: u32 = 100_000;

/// Text is refused if it holds control characters other than line breaks and tabs
/// (PostgreSQL cannot store NUL in JSON, and the others are never meant).
fn has_forbidden_characters(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

fn checked(field: &str, text: &str, what: &str, max: usize) -> Result<String, FieldError> {
    let trimmed = text.trim();
    if has_forbidden_characters(trimmed) {
        return Err(FieldError::new(
            field,
            format!("{what} innehåller tecken som inte är tillåtna."),
        ));
    }
    let length = trimmed.chars().count();
    if length > max {
        return Err(FieldError::new(
            field,
            format!("{what} får vara högst {max} tecken (nu {length})."),
        ));
    }
    Ok(trimmed.to_owned())
}

/// A short, required heading: 1–200 characters, trimmed, on one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Title(String);

impl Title {
    pub fn parse(field: &str, text: &str) -> Result<Self, FieldError> {
        let text = checked(field, text, "Rubriken", TITLE_MAX)?;
        if text.is_empty() {
            return Err(FieldError::new(field, "Skriv en rubrik."));
        }
        if text.contains(['\n', '\r']) {
            return Err(FieldError::new(field, "Rubriken ska stå på en rad."));
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text, possibly empty: up to 10 000 characters, line breaks allowed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FreeText(String);

impl FreeText {
    pub fn parse(field: &str, text: &str) -> Result<Self, FieldError> {
        checked(field, text, "Texten", TEXT_MAX).map(Self)
    }

    /// Like [`FreeText::parse`], but empty text is refused with `missing`.
    pub fn required(field: &str, text: &str, missing: &str) -> Result<Self, FieldError> {
        let parsed = Self::parse(field, text)?;
        if parsed.0.is_empty() {
            return Err(FieldError::new(field, missing));
        }
        Ok(parsed)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A reference to a decision as the municipality cites it ("KS 2026-03-01 § 12"): one line,
/// 1–200 characters. Not free text: it names a decision, never a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Citation(String);

impl Citation {
    pub fn parse(field: &str, text: &str, missing: &str) -> Result<Self, FieldError> {
        let text = checked(field, text, "Hänvisningen", TITLE_MAX)?;
        if text.is_empty() {
            return Err(FieldError::new(field, missing));
        }
        if text.contains(['\n', '\r']) {
            return Err(FieldError::new(field, "Hänvisningen ska stå på en rad."));
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's or an organisation's name: 1–200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub fn parse(field: &str, text: &str) -> Result<Self, FieldError> {
        let text = checked(field, text, "Namnet", NAME_MAX)?;
        if text.is_empty() {
            return Err(FieldError::new(field, "Skriv ett namn."));
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A slug id of the plan or of an area: lowercase letters a–z, digits and single hyphens.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    pub fn parse(field: &str, text: &str) -> Result<Self, FieldError> {
        let valid = !text.is_empty()
            && text.len() <= 60
            && text.split('-').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(FieldError::new(
                field,
                "Id:t får bara innehålla små bokstäver a–z, siffror och enstaka bindestreck (högst 60 tecken).",
            ))
        }
    }

    /// A slug made from a Swedish name: "Västra Mark" becomes "vastra-mark".
    pub fn from_name(name: &str) -> Option<Self> {
        let mut slug = String::new();
        for c in name.to_lowercase().chars() {
            let mapped = match c {
                'å' | 'ä' | 'à' | 'á' => 'a',
                'ö' | 'ø' | 'ó' => 'o',
                'é' | 'è' => 'e',
                'ü' => 'u',
                c if c.is_ascii_alphanumeric() => c,
                _ => '-',
            };
            if mapped == '-' && (slug.is_empty() || slug.ends_with('-')) {
                continue;
            }
            slug.push(mapped);
        }
        let slug = slug.trim_end_matches('-');
        Self::parse("id", &slug.chars().take(60).collect::<String>()).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A date on which something happened or is planned: from 2018 up to a year ahead.
pub fn parse_date(field: &str, text: &str, today: Date) -> Result<Date, FieldError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = Date::parse(text.trim(), &format).map_err(|_| {
        FieldError::new(
            field,
            "Skriv datumet som ÅÅÅÅ-MM-DD, till exempel 2026-05-04.",
        )
    })?;
    check_date_range(field, date, today)
}

pub fn check_date_range(field: &str, date: Date, today: Date) -> Result<Date, FieldError> {
    if date < EARLIEST_DATE {
        return Err(FieldError::new(
            field,
            "Datumet kan inte ligga före 2018, då planen antogs.",
        ));
    }
    if (date - today).whole_days() > MAX_DAYS_AHEAD {
        return Err(FieldError::new(
            field,
            "Datumet kan inte ligga mer än ett år framåt.",
        ));
    }
    Ok(date)
}

/// A period from one date to another, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub start: Date,
    pub end: Date,
}

impl Period {
    pub fn parse(start: &str, end: &str, today: Date) -> Result<Self, Vec<FieldError>> {
        let start = parse_date("period_start", start, today);
        let end = parse_date("period_end", end, today);
        match (start, end) {
            (Ok(start), Ok(end)) if end < start => Err(vec![FieldError::new(
                "period_end",
                "Periodens slut kan inte ligga före dess början.",
            )]),
            (Ok(start), Ok(end)) => Ok(Self { start, end }),
            (start, end) => Err([start.err(), end.err()].into_iter().flatten().collect()),
        }
    }

    pub fn contains(&self, date: Date) -> bool {
        self.start <= date && date <= self.end
    }
}

/// How many took part: a count, never names.
pub fn parse_participants(field: &str, count: i64) -> Result<u32, FieldError> {
    u32::try_from(count)
        .ok()
        .filter(|count| *count <= PARTICIPANTS_MAX)
        .ok_or_else(|| {
            FieldError::new(
                field,
                format!("Antalet deltagare ska vara ett heltal från 0 till {PARTICIPANTS_MAX}."),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 27);

    #[test]
    fn titles_are_trimmed_required_and_bounded() {
        assert_eq!(
            Title::parse("title", "  Språkcafé ").unwrap().as_str(),
            "Språkcafé"
        );
        assert_eq!(
            Title::parse("title", "   ").unwrap_err().message,
            "Skriv en rubrik."
        );
        assert!(Title::parse("title", &"å".repeat(201)).is_err());
        assert!(Title::parse("title", &"å".repeat(200)).is_ok());
        assert!(Title::parse("title", "två\nrader").is_err());
        assert!(Title::parse("title", "noll\u{0}byte").is_err());
    }

    #[test]
    fn free_text_keeps_line_breaks_and_refuses_control_characters() {
        assert_eq!(
            FreeText::parse("description", "rad 1\nrad 2")
                .unwrap()
                .as_str(),
            "rad 1\nrad 2"
        );
        assert!(FreeText::parse("description", "\u{7}").is_err());
        assert!(FreeText::parse("description", &"a".repeat(10_001)).is_err());
        assert!(FreeText::required("text", " ", "Skriv en anteckning.").is_err());
    }

    #[test]
    fn dates_must_lie_between_2018_and_a_year_ahead() {
        assert_eq!(
            parse_date("date", "2026-05-04", TODAY).unwrap(),
            date!(2026 - 05 - 04)
        );
        assert!(parse_date("date", "2017-12-31", TODAY).is_err());
        assert!(parse_date("date", "2027-11-28", TODAY).is_ok());
        assert!(parse_date("date", "2027-11-29", TODAY).is_err());
        assert!(parse_date("date", "04/05/2026", TODAY).is_err());
        assert!(parse_date("date", "99999-01-01", TODAY).is_err());
    }

    #[test]
    fn periods_end_after_they_start() {
        assert!(Period::parse("2026-01-01", "2026-04-30", TODAY).is_ok());
        let errors = Period::parse("2026-05-01", "2026-04-30", TODAY).unwrap_err();
        assert_eq!(errors[0].field, "period_end");
        assert_eq!(Period::parse("x", "y", TODAY).unwrap_err().len(), 2);
    }

    #[test]
    fn participants_are_counts() {
        assert_eq!(parse_participants("participants", 12).unwrap(), 12);
        assert!(parse_participants("participants", -1).is_err());
        assert!(parse_participants("participants", 100_001).is_err());
    }

    #[test]
    fn slugs_from_swedish_names() {
        assert_eq!(
            Slug::from_name("Västra Mark").unwrap().as_str(),
            "vastra-mark"
        );
        assert_eq!(Slug::from_name("Braås").unwrap().as_str(), "braas");
        assert_eq!(
            Slug::from_name("Öster – Söder").unwrap().as_str(),
            "oster-soder"
        );
        assert!(Slug::parse("id", "Araby").is_err());
        assert!(Slug::parse("id", "a--b").is_err());
        assert!(Slug::from_name("!!!").is_none());
    }
}

/// Dates in events and in the API are written `YYYY-MM-DD`.
pub mod iso_date {
    time::serde::format_description!(pub format, Date, "[year]-[month]-[day]");
    pub use format::{deserialize, serialize};

    /// The same for an optional date.
    pub mod option {
        pub use super::format::option::{deserialize, serialize};
    }
}
