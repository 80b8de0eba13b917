//! Cross-site protection for the forms that are sent without a session: the login form
//! and the accessibility report. The page sets a cookie and puts the same token in a
//! hidden field; a post is taken only when both are there, equal, issued by Insats for this
//! form and not older than [`LIFETIME`].
//!
//! The cookie has the `__Host-` prefix (secure, host-only, `Path=/`), so no other site and
//! no sibling domain can plant it; and the token is signed with a key derived from the
//! key-encryption key, so a planted pair of cookie and field that Insats did not issue is
//! refused. Every instance derives the same key, so any of them can check any token.

use axum::http::{HeaderMap, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::auth::cookie;

/// How long a form may be open before it is sent.
pub const LIFETIME: Duration = Duration::from_secs(2 * 60 * 60);

/// The forms protected this way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Login,
    AccessibilityReport,
}

impl Form {
    fn purpose(self) -> &'static str {
        match self {
            Form::Login => "login",
            Form::AccessibilityReport => "accessibility-report",
        }
    }

    /// The cookie carrying the form's token.
    pub fn cookie_name(self, secure: bool) -> &'static str {
        match (self, secure) {
            (Form::Login, true) => "__Host-insats-login",
            (Form::Login, false) => "insats-login",
            (Form::AccessibilityReport, true) => "__Host-insats-report",
            (Form::AccessibilityReport, false) => "insats-report",
        }
    }
}

/// Issues and checks the forms' tokens.
#[derive(Clone)]
pub struct FormTokens {
    key: [u8; 32],
    secure: bool,
}

impl FormTokens {
    pub fn new(keyring: &crate::privacy::Keyring, secure: bool) -> Self {
        Self {
            key: keyring.derive("insats form tokens v1"),
            secure,
        }
    }

    fn mac(&self, form: Form, expires: u64, nonce: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("any key length");
        mac.update(form.purpose().as_bytes());
        mac.update(&expires.to_be_bytes());
        mac.update(nonce);
        mac
    }

    /// A new token for `form`: its expiry, a random nonce and their signature.
    pub fn issue(&self, form: Form) -> String {
        let expires = now_seconds() + LIFETIME.as_secs();
        let nonce = crate::privacy::keys::random::<16>();
        let signature = self.mac(form, expires, &nonce).finalize().into_bytes();
        let mut bytes = Vec::with_capacity(8 + 16 + 32);
        bytes.extend_from_slice(&expires.to_be_bytes());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&signature);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Whether `token` was issued by Insats for `form` and has not expired.
    fn valid(&self, form: Form, token: &str) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        if bytes.len() != 8 + 16 + 32 {
            return false;
        }
        let (expires, rest) = bytes.split_at(8);
        let (nonce, signature) = rest.split_at(16);
        let expires = u64::from_be_bytes(expires.try_into().expect("eight bytes"));
        expires >= now_seconds()
            && self
                .mac(form, expires, nonce)
                .verify_slice(signature)
                .is_ok()
    }

    /// Whether a post of `form` carries the same valid token in its cookie and its field.
    pub fn check(&self, form: Form, headers: &HeaderMap, field: &str) -> bool {
        let cookie = cookie(headers, form.cookie_name(self.secure)).unwrap_or("");
        !cookie.is_empty()
            && constant_time_eq(cookie.as_bytes(), field.as_bytes())
            && self.valid(form, field)
    }

    /// The `Set-Cookie` value carrying `token`.
    pub fn cookie(&self, form: Form, token: &str) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            form.cookie_name(self.secure),
            LIFETIME.as_secs()
        ))
        .expect("a token is a valid header value")
    }
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header::COOKIE;

    fn tokens() -> FormTokens {
        FormTokens::new(&crate::privacy::Keyring::from_bytes([7; 32]), true)
    }

    fn with_cookie(name: &str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_str(&format!("{name}={value}")).unwrap(),
        );
        headers
    }

    #[test]
    fn only_a_token_insats_issued_for_the_form_passes() {
        let tokens = tokens();
        let token = tokens.issue(Form::Login);
        let cookie = with_cookie("__Host-insats-login", &token);
        assert!(tokens.check(Form::Login, &cookie, &token));
        assert!(
            !tokens.check(Form::AccessibilityReport, &cookie, &token),
            "a token is for one form"
        );
        // A pair planted by someone else: equal, but not signed by Insats.
        let planted = URL_SAFE_NO_PAD.encode([1u8; 56]);
        assert!(!tokens.check(
            Form::Login,
            &with_cookie("__Host-insats-login", &planted),
            &planted
        ));
        // The field without the cookie, or under a cookie name without the prefix.
        assert!(!tokens.check(Form::Login, &HeaderMap::new(), &token));
        assert!(!tokens.check(Form::Login, &with_cookie("insats-login", &token), &token));
        // Another key (another installation) did not issue it.
        let other = FormTokens::new(&crate::privacy::Keyring::from_bytes([8; 32]), true);
        assert!(!other.check(Form::Login, &cookie, &token));
        assert!(
            tokens
                .cookie(Form::Login, &token)
                .to_str()
                .unwrap()
                .starts_with("__Host-insats-login=")
        );
    }
}
