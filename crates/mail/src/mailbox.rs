//! Reading the local mailbox as a person would: headers decoded, the text part as text, the links.

use mail_parser::MessageParser;

/// One message of the local mailbox, decoded (no quoted-printable, no MIME boundaries).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodedMail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub date: String,
    pub message_id: String,
    /// The plain-text part.
    pub text: String,
    pub html: String,
    /// Every `http(s)://` link of the text part, in order.
    pub links: Vec<String>,
}

fn addresses(a: Option<&mail_parser::Address<'_>>) -> String {
    let Some(a) = a else {
        return String::new();
    };
    a.iter()
        .map(|x| match (x.name(), x.address()) {
            (Some(n), Some(e)) => format!("{n} <{e}>"),
            (None, Some(e)) => e.to_string(),
            (Some(n), None) => n.to_string(),
            (None, None) => String::new(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decode a raw RFC 5322 message. `None` when it is not a message at all.
pub fn decode(raw: &[u8]) -> Option<DecodedMail> {
    let m = MessageParser::default().parse(raw)?;
    let text = m.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
    let html = m.body_html(0).map(|t| t.into_owned()).unwrap_or_default();
    let links = text
        .split(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(|w| w.trim_end_matches(['.', ',', ')', ';']).to_string())
        .collect();
    Some(DecodedMail {
        from: addresses(m.from()),
        to: addresses(m.to()),
        subject: m.subject().unwrap_or_default().to_string(),
        date: m.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
        message_id: m.message_id().unwrap_or_default().to_string(),
        text,
        html,
        links,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::build_message;
    use roster_core::mailer::OutgoingEmail;

    #[test]
    fn a_built_message_decodes_to_what_was_written() {
        let e = OutgoingEmail {
            from: "Roster <no-reply@roster.test>".into(),
            to: "idn@xn--bcher-kva.example".into(),
            subject: "Ada Admin invited you to Acme — join now".into(),
            message_id: "<abc@roster.test>".into(),
            date: time::OffsetDateTime::UNIX_EPOCH,
            text: format!(
                "Hello Jürgen,\n\nAccept: http://127.0.0.1:8080/invite/{}\n\n{}\n",
                "t".repeat(60),
                "a long line that quoted-printable would fold = with an equals sign ".repeat(3)
            ),
            html: "<p>Hello J&uuml;rgen</p>".into(),
            reply_to: None,
            list_unsubscribe: None,
        };
        let raw = build_message(&e).map(|m| m.formatted()).unwrap_or_default();
        let d = decode(&raw).unwrap_or_default();
        assert_eq!(d.subject, e.subject);
        assert_eq!(d.to, "idn@xn--bcher-kva.example");
        assert_eq!(d.from, "Roster <no-reply@roster.test>");
        assert_eq!(d.text.replace("\r\n", "\n"), e.text);
        assert_eq!(
            d.links,
            vec![format!("http://127.0.0.1:8080/invite/{}", "t".repeat(60))]
        );
        assert!(d.html.contains("Hello"));
    }
}
