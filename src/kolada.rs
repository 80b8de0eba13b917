//! Kolada, the Swedish municipalities' open database of key figures (RKA), read through its
//! public REST API, version 3 (`https://api.kolada.se/v3`): the figures of the plan's
//! Kolada-sourced key indicators for the municipality and its comparison units.
//!
//! A request names the KPIs, the units and the years:
//! `GET {base}/data/kpi/{kpis}/municipality/{units}/year/{years}`. The answer is a page
//! `{"values": [{"kpi", "municipality", "period", "values": [{"gender", "count", "status",
//! "value", "isdeleted"}]}], "count", "next_url", "previous_url"}`; a long answer continues at
//! `next_url`. `GET {base}/kpi/{kpis}` tells which KPIs exist. The same JSON, saved to a file,
//! is what `insats indicators import` reads on a machine without internet access.
//!
//! The client retries what may pass (a time-out, a refused connection, a 5xx or 429) with a
//! doubling pause, and gives up on what will not (a 4xx, an answer that is not Kolada's JSON).
//! Nothing is appended until every page has been read: a failed fetch leaves the log as it was.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::domain::indicator::{Gender, Observation};

/// Kolada's public API.
pub const DEFAULT_URL: &str = "https://api.kolada.se/v3";

/// How the client talks to Kolada.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The API's base, without a trailing slash.
    pub base_url: String,
    /// How long one request may take.
    pub timeout: Duration,
    /// How many times a request is tried before the fetch fails.
    pub attempts: u32,
    /// The pause before the second try; it doubles for each try after.
    pub backoff: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_URL.into(),
            timeout: Duration::from_secs(30),
            attempts: 4,
            backoff: Duration::from_millis(500),
        }
    }
}

/// Why a fetch failed. Each says what to do, in the words an operator reads in a terminal.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("Kolada could not be reached at {url} after {attempts} tries: {cause}")]
    Unreachable {
        url: String,
        attempts: u32,
        cause: String,
    },
    #[error("Kolada answered {status} to {url}")]
    Refused { url: String, status: u16 },
    #[error("Kolada's answer from {url} is not the JSON Kolada sends: {cause}")]
    Malformed { url: String, cause: String },
    #[error("Kolada knows no KPI {0}: check the kpi of the key indicator in the plan file")]
    UnknownKpi(String),
    #[error("{0}")]
    File(String),
}

/// One page of Kolada's answer.
#[derive(Debug, Deserialize)]
pub struct Page {
    pub values: Vec<Row>,
    #[serde(default)]
    pub next_url: Option<String>,
}

/// The figures of one KPI, unit and year.
#[derive(Debug, Deserialize)]
pub struct Row {
    pub kpi: String,
    pub municipality: String,
    pub period: i32,
    pub values: Vec<Cell>,
}

/// One figure (for everyone, women or men); `value` is null where Kolada has none.
#[derive(Debug, Deserialize)]
pub struct Cell {
    pub gender: String,
    pub value: Option<f64>,
    #[serde(default)]
    pub isdeleted: bool,
}

/// The KPIs Kolada knows (`GET /kpi/{ids}`): their ids and titles.
#[derive(Debug, Deserialize)]
struct KpiPage {
    values: Vec<Kpi>,
}

#[derive(Debug, Deserialize)]
struct Kpi {
    id: String,
}

/// The figures read, by KPI.
pub type Figures = BTreeMap<String, Vec<Observation>>;

/// Adds a page's figures to `figures`: only those with a value, not marked deleted, for
/// everyone, women or men.
pub fn collect(figures: &mut Figures, page: Page) {
    for row in page.values {
        for cell in row.values {
            let (Some(value), Some(gender)) = (cell.value, Gender::from_code(&cell.gender)) else {
                continue;
            };
            if cell.isdeleted || !value.is_finite() {
                continue;
            }
            figures
                .entry(row.kpi.clone())
                .or_default()
                .push(Observation {
                    unit: row.municipality.clone(),
                    year: row.period,
                    gender,
                    value,
                });
        }
    }
}

/// Reads a saved Kolada answer: one page, or a JSON array of pages.
pub fn read_saved(text: &str) -> Result<Figures, FetchError> {
    let malformed = |error: serde_json::Error| {
        FetchError::File(format!(
            "The file is not a saved Kolada answer (version 3): {error}"
        ))
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(malformed)?;
    let pages: Vec<Page> = match value {
        serde_json::Value::Array(_) => serde_json::from_value(value).map_err(malformed)?,
        _ => vec![serde_json::from_value(value).map_err(malformed)?],
    };
    let mut figures = Figures::new();
    for page in pages {
        collect(&mut figures, page);
    }
    Ok(figures)
}

/// A Kolada client.
pub struct Kolada {
    client: reqwest::Client,
    settings: Settings,
}

impl Kolada {
    pub fn new(settings: Settings) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .user_agent(concat!("Insats/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| FetchError::Unreachable {
                url: settings.base_url.clone(),
                attempts: 0,
                cause: error.to_string(),
            })?;
        Ok(Self { client, settings })
    }

    /// Every figure of `kpis` for `units` in `years`, all pages of it. `on_page` is told the
    /// number of each page read (for a progress bar).
    pub async fn fetch(
        &self,
        kpis: &[String],
        units: &[String],
        years: std::ops::RangeInclusive<i32>,
        mut on_page: impl FnMut(usize),
    ) -> Result<Figures, FetchError> {
        let mut figures = Figures::new();
        if kpis.is_empty() {
            return Ok(figures);
        }
        self.check_kpis(kpis).await?;
        let years: Vec<String> = years.map(|year| year.to_string()).collect();
        let mut url = Some(format!(
            "{}/data/kpi/{}/municipality/{}/year/{}",
            self.settings.base_url,
            kpis.join(","),
            units.join(","),
            years.join(",")
        ));
        let mut pages = 0;
        while let Some(next) = url {
            let page: Page = self.get(&next).await?;
            pages += 1;
            on_page(pages);
            url = page.next_url.clone().filter(|u| !u.is_empty());
            collect(&mut figures, page);
        }
        Ok(figures)
    }

    /// Fails with [`FetchError::UnknownKpi`] when Kolada does not know one of `kpis`.
    async fn check_kpis(&self, kpis: &[String]) -> Result<(), FetchError> {
        let url = format!("{}/kpi/{}", self.settings.base_url, kpis.join(","));
        let known: KpiPage = self.get(&url).await?;
        for kpi in kpis {
            if !known.values.iter().any(|k| &k.id == kpi) {
                return Err(FetchError::UnknownKpi(kpi.clone()));
            }
        }
        Ok(())
    }

    /// GET `url` as JSON, tried up to `attempts` times while the failure may pass.
    async fn get<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, FetchError> {
        let mut pause = self.settings.backoff;
        let mut attempt = 1;
        loop {
            let failure = match self.client.get(url).send().await {
                Ok(response) if response.status().is_success() => {
                    let body = response
                        .bytes()
                        .await
                        .map_err(|error| FetchError::Malformed {
                            url: url.to_owned(),
                            cause: error.to_string(),
                        })?;
                    return serde_json::from_slice(&body).map_err(|error| FetchError::Malformed {
                        url: url.to_owned(),
                        cause: error.to_string(),
                    });
                }
                Ok(response) => {
                    let status = response.status();
                    if !(status.is_server_error() || status.as_u16() == 429) {
                        return Err(FetchError::Refused {
                            url: url.to_owned(),
                            status: status.as_u16(),
                        });
                    }
                    format!("{status}")
                }
                Err(error) if error.is_timeout() => "no answer in time".to_owned(),
                Err(error) => error.to_string(),
            };
            if attempt >= self.settings.attempts {
                return Err(FetchError::Unreachable {
                    url: url.to_owned(),
                    attempts: attempt,
                    cause: failure,
                });
            }
            tracing::warn!(url, attempt, %failure, "Kolada did not answer; trying again");
            tokio::time::sleep(pause).await;
            pause *= 2;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_answer_gives_the_figures_with_a_value() {
        let figures = read_saved(
            r#"{"values":[{"kpi":"U15461","municipality":"0780","period":2024,"values":[
                {"gender":"T","count":1,"status":"","value":1.5,"isdeleted":false},
                {"gender":"K","count":1,"status":"","value":null,"isdeleted":false},
                {"gender":"M","count":1,"status":"","value":2.0,"isdeleted":true}]}],
               "count":1,"next_url":null,"previous_url":null}"#,
        )
        .unwrap();
        assert_eq!(figures["U15461"].len(), 1);
        assert_eq!(figures["U15461"][0].value, 1.5);
        assert!(read_saved("{\"values\": 3}").is_err());
    }
}
