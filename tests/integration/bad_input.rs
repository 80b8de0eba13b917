//! Hostile input to every API endpoint and every form: random and huge strings, wrong types,
//! unknown ids, invalid UTF-8, dates far away, duplicated fields. The answer is always a 4xx
//! with a message (or a success, when the random input happens to be valid), never a 5xx.
//!
//! The API's operations are taken from its own OpenAPI document, so a new endpoint is
//! covered without touching this file. The generator is a seeded xorshift: a failure names
//! the request, and the same seed gives the same requests again.

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, COOKIE};
use serde_json::{Map, Value, json};

use crate::helpers::TestApp;
use crate::visitor::Visitor;

struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A string a careless or hostile client might send.
    fn text(&mut self) -> String {
        match self.below(14) {
            0 => String::new(),
            1 => "   ".into(),
            2 => "x".repeat(10_001),
            3 => "\u{0}\u{7}\u{1b}[31m".into(),
            4 => "'; DROP TABLE events; --".into(),
            5 => "<script>alert(1)</script>".into(),
            6 => "=HYPERLINK(\"http://x\")".into(),
            7 => "😀".repeat(300),
            8 => self
                .pick(&[
                    "2026-02-30",
                    "0001-01-01",
                    "9999-12-31",
                    "-2026-01-01",
                    "2026-13-01",
                ])
                .to_string(),
            9 => self
                .pick(&["araby", "finns-inte", "ARABY", "../../etc/passwd", "a b"])
                .to_string(),
            10 => uuid::Uuid::new_v4().to_string(),
            11 => self
                .pick(&["-1", "0", "1e309", "18446744073709551616", "NaN"])
                .to_string(),
            12 => (0..self.below(40))
                .map(|_| char::from_u32(self.below(0x2FFF) as u32 + 1).unwrap_or('?'))
                .collect(),
            _ => "Språkcafé".into(),
        }
    }

    /// A JSON value of any type.
    fn value(&mut self) -> Value {
        match self.below(12) {
            0 => Value::Null,
            1 => json!(true),
            2 => json!(-1),
            3 => json!(i64::MAX),
            4 => json!(1e300),
            5 => json!([]),
            6 => json!({}),
            7 => json!([self.text(), self.text()]),
            8 => json!({"id": self.text()}),
            _ => Value::String(self.text()),
        }
    }
}

fn refused_clearly(status: u16, body: &[u8], what: &str) {
    assert!(
        status < 500,
        "{what}: {status} {}",
        String::from_utf8_lossy(body)
    );
    if (400..500).contains(&status)
        && status != 405
        && let Ok(value) = serde_json::from_slice::<Value>(body)
    {
        let message = value["errors"][0]["message"].as_str().unwrap_or("");
        assert!(
            !message.is_empty(),
            "{what}: {status} without a message: {value}"
        );
    }
}

/// The properties of an operation's JSON body, from the OpenAPI document.
fn body_fields(doc: &Value, operation: &Value) -> Vec<String> {
    let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
    let schema = match schema["$ref"].as_str() {
        Some(reference) => &doc["components"]["schemas"][reference.rsplit('/').next().unwrap()],
        None => schema,
    };
    schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_api_endpoint_answers_hostile_input_with_a_4xx() {
    let app = TestApp::spawn().await;
    let doc: Value = app
        .client
        .get(format!("{}/api/openapi.json", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut random = Random(0x5eed_1234_abcd_0001);
    let mut requests = 0;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let fields = body_fields(&doc, operation);
            let queries: Vec<String> = operation["parameters"]
                .as_array()
                .map(|p| {
                    p.iter()
                        .filter(|p| p["in"] == "query")
                        .map(|p| p["name"].as_str().unwrap().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            for round in 0..24 {
                // Path parameters: unknown, malformed, or real.
                let mut address = String::new();
                for part in path.split('/').skip(1) {
                    address.push('/');
                    if part.starts_with('{') {
                        let oversized = method == Method::POST && round % 6 == 3;
                        let id = match if oversized { 9 } else { random.below(5) } {
                            9 if part == "{area}" => "araby".to_owned(),
                            9 => uuid::Uuid::new_v4().to_string(),
                            0 => "araby".to_owned(),
                            1 => "%FF%FE".to_owned(),
                            2 => "x".repeat(3_000),
                            _ => urlencoding(&random.text()),
                        };
                        address.push_str(&id);
                    } else {
                        address.push_str(part);
                    }
                }
                let mut query = Vec::new();
                for name in &queries {
                    if random.below(2) == 0 {
                        query.push(format!("{name}={}", urlencoding(&random.text())));
                    }
                }
                if !query.is_empty() {
                    address = format!("{address}?{}", query.join("&"));
                }
                let mut request = app
                    .client
                    .request(method.clone(), format!("{}{address}", app.address))
                    .bearer_auth(&app.token);
                let what;
                if method == Method::POST {
                    let (body, content_type): (Vec<u8>, &str) = match round % 6 {
                        0 => (vec![0xff, 0xfe, b'{', 0x80], "application/json"),
                        1 => (
                            b"{\"title\": \"a\", \"title\": \"b\", \"date\": \"2026-01-01\"}"
                                .to_vec(),
                            "application/json",
                        ),
                        2 => (b"title=a".to_vec(), "application/x-www-form-urlencoded"),
                        3 => (
                            format!("{{\"text\": \"{}\"}}", "x".repeat(300 * 1024)).into_bytes(),
                            "application/json",
                        ),
                        _ => {
                            let mut object = Map::new();
                            for field in &fields {
                                if random.below(4) != 0 {
                                    object.insert(field.clone(), random.value());
                                }
                            }
                            (serde_json::to_vec(&object).unwrap(), "application/json")
                        }
                    };
                    what = format!(
                        "{method} {address} {}",
                        String::from_utf8_lossy(&body[..body.len().min(300)])
                    );
                    request = request.header(CONTENT_TYPE, content_type).body(body);
                    let response = request.send().await.unwrap();
                    let status = response.status().as_u16();
                    if round % 6 == 3 {
                        assert_eq!(status, 413, "{what}");
                    }
                    refused_clearly(status, &response.bytes().await.unwrap(), &what);
                } else {
                    what = format!("{method} {address}");
                    let response = request.send().await.unwrap();
                    let status = response.status().as_u16();
                    refused_clearly(status, &response.bytes().await.unwrap(), &what);
                }
                requests += 1;
            }
        }
    }
    assert!(
        requests > 500,
        "the document lists the API's operations: {requests}"
    );
    // Whatever was refused, the log still verifies.
    assert!(app.store.verify_all(|_| {}).await.unwrap().is_verified());
}

fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn every_form_and_page_answers_hostile_input_without_a_server_error() {
    let app = TestApp::spawn().await;
    let (coordinator, _) = app.user("samordnare", &[], &[]).await;
    let (mut visitor, _) = Visitor::signed_in(&app, &coordinator.email).await;
    let case = uuid::Uuid::new_v4();
    let forms = [
        "/omraden/araby/insatser".to_owned(),
        "/omraden/araby/arenden".to_owned(),
        "/omraden/araby/granskning".to_owned(),
        format!("/arenden/{case}/anteckning"),
        format!("/arenden/{case}/finns-inte"),
        "/forum/nytt".to_owned(),
        format!("/forum/{case}/svara"),
        "/processagare/strategier/matchningsmetodik/status".to_owned(),
        "/processagare/processer/aktiv-fritid/beslut".to_owned(),
        "/admin/anvandare".to_owned(),
        "/admin/anvandare/stang-av".to_owned(),
        "/admin/omraden".to_owned(),
        "/admin/radera".to_owned(),
        "/tillganglighet".to_owned(),
        "/planen/nyckeltal/sfi-hogsta-kurs/varden".to_owned(),
    ];
    let names = [
        "date",
        "datum",
        "title",
        "rubrik",
        "description",
        "beskrivning",
        "strategies",
        "strategi",
        "partners",
        "participants",
        "deltagare",
        "text",
        "period_start",
        "period_end",
        "status",
        "comment",
        "from",
        "to",
        "kind",
        "email",
        "name",
        "role",
        "areas",
        "id",
        "decision",
        "reason",
        "problem",
        "page",
        "feedback",
        "year",
        "value",
        "unit",
        "gender",
        "reference",
    ];
    let mut random = Random(0xf0f0_5eed_0000_0002);
    for path in &forms {
        for round in 0..16 {
            let mut fields: Vec<(String, String)> = (0..random.below(10))
                .map(|_| (random.pick(&names).to_string(), random.text()))
                .collect();
            if round % 4 == 0 {
                // The same field twice.
                fields.push(("title".into(), "ett".into()));
                fields.push(("title".into(), "två".into()));
            }
            let pairs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let answer = if round % 8 == 7 {
                // Invalid UTF-8 in a form body.
                let response = app
                    .client
                    .post(format!("{}{path}", app.address))
                    .header(COOKIE, visitor.cookie_header())
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(vec![
                        b't', b'=', 0xff, 0xfe, b'&', b'c', b's', b'r', b'f', b'=',
                    ])
                    .send()
                    .await
                    .unwrap();
                response.status().as_u16()
            } else {
                visitor.submit(path, &pairs).await.status
            };
            assert!(answer < 500, "POST {path} {fields:?}: {answer}");
        }
    }
    let pages = [
        "/omraden/araby?fran={}&till={}&strategi={}&process={}&slag={}&efter={}",
        "/omraden/araby/export.csv?fran={}&strategi={}",
        "/omraden/{}",
        "/arenden/{}",
        "/forum/{}",
        "/planen/strategier/{}",
        "/planen/nyckeltal/{}",
        "/omraden/{}/granskning",
        "/sok?q={}",
        "/insatser/{}",
        "/omraden/{}/uppfoljning",
        "/rad/oppna?typ={}&fran={}&omrade={}&alder={}&sida={}",
        "/planen/nyckeltal/sfi-hogsta-kurs?efter={}",
        "/rad/informationsflode?fran={}&till={}&oppna={}",
        "/granskning/strategier/matchningsmetodik?per={}&jamfor={}",
        "/granskning/strategier/{}",
        "/admin?klart={}",
    ];
    for template in pages {
        for _ in 0..12 {
            let mut address = String::new();
            for (i, part) in template.split("{}").enumerate() {
                if i > 0 {
                    address.push_str(&urlencoding(&random.text()));
                }
                address.push_str(part);
            }
            let status = visitor.get(&address).await.status;
            assert!(status < 500, "GET {address}: {status}");
        }
    }
}
