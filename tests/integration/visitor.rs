//! Someone using Insats's pages without a browser: cookies kept by hand, no redirect
//! followed by itself, the answer's HTML parsed so tests assert on its structure.

use reqwest::header::{COOKIE, HeaderMap, LOCATION, SET_COOKIE};
use scraper::{Html, Selector};

use crate::helpers::{PASSWORD, TestApp};

pub struct Visitor {
    pub client: reqwest::Client,
    pub address: String,
    cookies: Vec<(String, String)>,
    /// The session's CSRF token, as read from the last signed-in page with a form.
    pub csrf: String,
}

/// One answer: its status, redirect target, headers, the raw `Set-Cookie` lines and the page.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub headers: HeaderMap,
    pub set_cookies: Vec<String>,
    pub body: String,
    pub html: Html,
}

impl Answer {
    /// The whitespace-normalised text of every element matching `selector`.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let selector = Selector::parse(selector).expect("a valid selector");
        self.html
            .select(&selector)
            .map(|element| {
                element
                    .text()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    pub fn text(&self, selector: &str) -> String {
        self.texts(selector).join(" ")
    }

    pub fn count(&self, selector: &str) -> usize {
        self.html
            .select(&Selector::parse(selector).expect("a valid selector"))
            .count()
    }

    /// An attribute of the first element matching `selector`.
    pub fn attr(&self, selector: &str, name: &str) -> Option<String> {
        let selector = Selector::parse(selector).expect("a valid selector");
        self.html
            .select(&selector)
            .next()
            .and_then(|element| element.value().attr(name).map(str::to_owned))
    }

    /// The `efter=` position a redirect after a change carries.
    pub fn after(&self) -> String {
        let location = self.location.as_deref().expect("a redirect");
        location
            .split("efter=")
            .nth(1)
            .and_then(|rest| rest.split('&').next())
            .unwrap_or_else(|| panic!("no position in {location}"))
            .to_owned()
    }
}

impl Visitor {
    pub fn new(app: &TestApp) -> Self {
        Self::at(app, &app.address)
    }

    /// A visitor of another Insats server than the test's own.
    pub fn at(app: &TestApp, address: &str) -> Self {
        Self::at_address(&app.client, address)
    }

    /// A visitor of any Insats server, through `client`.
    pub fn at_address(client: &reqwest::Client, address: &str) -> Self {
        Self {
            client: client.clone(),
            address: address.to_owned(),
            cookies: Vec::new(),
            csrf: String::new(),
        }
    }

    /// Signs in through the login form with the test password, and returns the visitor and
    /// the page their start page sends them to.
    pub async fn signed_in(app: &TestApp, email: &str) -> (Self, String) {
        let mut visitor = Self::new(app);
        let signed_in = visitor.log_in(email, PASSWORD).await;
        assert_eq!(signed_in.status, 303, "signing in as {email}");
        let start = visitor.get("/").await;
        assert_eq!(start.status, 303);
        let landing = start.location.expect("the start page redirects");
        let page = visitor.get(&landing).await;
        visitor.csrf = page.attr("input[name=csrf]", "value").unwrap_or_default();
        (visitor, landing)
    }

    /// Fills in and posts the login form.
    pub async fn log_in(&mut self, email: &str, password: &str) -> Answer {
        let form = self.get("/logga-in").await;
        let token = form
            .attr("input[name=csrf]", "value")
            .expect("the login form's token");
        self.post(
            "/logga-in",
            &[("email", email), ("password", password), ("csrf", &token)],
        )
        .await
    }

    /// The session cookie's value, when signed in.
    pub fn session(&self) -> Option<String> {
        self.cookies
            .iter()
            .find(|(name, _)| name == "__Host-insats")
            .map(|(_, value)| value.clone())
    }

    /// Plants a cookie, as an attacker fixing a session id would.
    pub fn plant_cookie(&mut self, name: &str, value: &str) {
        self.cookies.push((name.to_owned(), value.to_owned()));
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn answer(&mut self, response: reqwest::Response) -> Answer {
        let mut set_cookies = Vec::new();
        for value in response.headers().get_all(SET_COOKIE) {
            let line = value.to_str().unwrap().to_owned();
            let pair = line.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(existing, _)| existing != name);
            if !line.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
            set_cookies.push(line);
        }
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let location = headers
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        Answer {
            status,
            location,
            headers,
            set_cookies,
            html: Html::parse_document(&body),
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let response = self
            .client
            .get(format!("{}{path}", self.address))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.answer(response).await
    }

    /// Posts form fields as they are, without adding the session's token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let response = self
            .client
            .post(format!("{}{path}", self.address))
            .header(COOKIE, self.cookie_header())
            .form(fields)
            .send()
            .await
            .unwrap();
        self.answer(response).await
    }

    /// Posts a form with a file the way a browser does (`multipart/form-data`): the fields,
    /// then the file as `(field, file name, bytes)`.
    pub async fn upload(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> Answer {
        const BOUNDARY: &str = "----insats-test-7d3f9a";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        let (name, file_name, bytes) = file;
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/pdf\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let response = self
            .client
            .post(format!("{}{path}", self.address))
            .header(COOKIE, self.cookie_header())
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        self.answer(response).await
    }

    /// Posts a form the way the page does: with the session's CSRF token.
    pub async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let csrf = self.csrf.clone();
        let mut fields = fields.to_vec();
        fields.push(("csrf", &csrf));
        self.post(path, &fields).await
    }
}
