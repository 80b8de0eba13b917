//! A reminder mail's words: Swedish, as plain text and HTML, with links into Insats and no
//! free text from cases, items or activities.

use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{MultiPart, SinglePart};
use maud::html;

use super::{Link, Mailer};
use crate::accounts::User;
use crate::queries::todo::Todo;

/// A mail's subject and bodies.
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The mail that tells `user` about `todos`: as soon as they were due, or as the day's
/// digest.
pub fn compose(
    user: &User,
    todos: &[Todo],
    public_url: &str,
    link: Link,
    digest: bool,
) -> Composed {
    let subject = match (todos, digest) {
        ([todo], false) => format!("Att göra i Insats: {}", todo.what.to_lowercase()),
        (todos, false) => format!("Att göra i Insats: {} saker", todos.len()),
        ([_], true) => "Att göra i Insats i dag: 1 ny sak".to_owned(),
        (todos, true) => format!("Att göra i Insats i dag: {} nya saker", todos.len()),
    };
    let list = format!("{public_url}/att-gora");
    let how_often = if digest {
        "en gång om dagen"
    } else {
        "så snart något blir aktuellt"
    };
    let mut text = format!("Hej {}!\n\nDet här väntar på dig i Insats:\n\n", user.name);
    for todo in todos {
        text.push_str(&format!(
            "- {}: {}\n  {public_url}{}\n\n",
            todo.what,
            todo.about,
            link(&todo.due)
        ));
    }
    text.push_str(&format!(
        "Hela listan över det du har att göra: {list}\n\n\
         Du får de här mejlen {how_often}. Du kan ändra det, eller stänga av dem, på samma sida.\n\n\
         Mejlet är skickat av Insats, uppföljningen av Växjö kommunkoncerns integrationsplan.\n"
    ));
    let html = html! {
        (maud::DOCTYPE)
        html lang="sv" {
            head { meta charset="utf-8"; title { (subject) } }
            body {
                p { "Hej " (user.name) "!" }
                p { "Det här väntar på dig i Insats:" }
                ul {
                    @for todo in todos {
                        li {
                            strong { (todo.what) } ": " (todo.about) " "
                            a href={ (public_url) (link(&todo.due)) } { "Öppna i Insats" }
                        }
                    }
                }
                p { a href=(list) { "Hela listan över det du har att göra" } }
                p { "Du får de här mejlen " (how_often) ". Du kan ändra det, eller stänga av dem, på samma sida." }
                p { small { "Mejlet är skickat av Insats, uppföljningen av Växjö kommunkoncerns integrationsplan." } }
            }
        }
    }
    .into_string();
    Composed {
        subject,
        text,
        html,
    }
}

/// The mail as the SMTP server gets it, with the Message-ID chosen when it was decided.
pub fn build(
    mailer: &Mailer,
    message_id: &str,
    recipient: &str,
    subject: &str,
    text: String,
    html: String,
) -> anyhow::Result<Message> {
    Ok(Message::builder()
        .message_id(Some(message_id.to_owned()))
        .from(mailer.from.clone())
        .to(recipient.parse()?)
        .subject(subject)
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(text),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html),
                ),
        )?)
}
