//! Transports: SMTP (lettre, optional DKIM) and a local mailbox of `.eml` files.

use async_trait::async_trait;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::{MultiPart, header};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use roster_core::mailer::{MailError, Mailer, OutgoingEmail};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// `Auto-Submitted: auto-generated` (RFC 3834): mail from a system, which vacation responders
/// and ticket systems must not answer.
#[derive(Clone)]
struct AutoSubmitted;

impl header::Header for AutoSubmitted {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), "auto-generated".to_string())
    }
}

/// `List-Unsubscribe: <URL>` (RFC 2369) of a notification an admin can turn off.
#[derive(Clone)]
struct ListUnsubscribe(String);

impl header::Header for ListUnsubscribe {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_string()))
    }

    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): the receiving mail system
/// may unsubscribe with one POST, no page visit.
#[derive(Clone)]
struct ListUnsubscribePost;

impl header::Header for ListUnsubscribePost {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }

    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_string())
    }
}

/// Build the RFC 5322 message: multipart/alternative text + HTML, with Message-ID, Date and
/// `Auto-Submitted`.
pub fn build_message(e: &OutgoingEmail) -> Result<Message, MailError> {
    let from = e
        .from
        .parse()
        .map_err(|err| MailError::temporary(format!("bad From address {:?}: {err}", e.from)))?;
    let to =
        e.to.parse()
            .map_err(|err| MailError::temporary(format!("bad To address {:?}: {err}", e.to)))?;
    let date: SystemTime = e.date.into();
    let mut b = Message::builder()
        .from(from)
        .to(to)
        .subject(e.subject.clone())
        .message_id(Some(e.message_id.clone()))
        .date(date)
        .header(header::MIME_VERSION_1_0)
        .header(AutoSubmitted);
    if let Some(r) = &e.reply_to {
        let r = r
            .parse()
            .map_err(|err| MailError::temporary(format!("bad Reply-To address {r:?}: {err}")))?;
        b = b.reply_to(r);
    }
    if let Some(u) = &e.list_unsubscribe {
        b = b
            .header(ListUnsubscribe(u.clone()))
            .header(ListUnsubscribePost);
    }
    b.multipart(MultiPart::alternative_plain_html(
        e.text.clone(),
        e.html.clone(),
    ))
    .map_err(|err| MailError::temporary(format!("cannot build message: {err}")))
}

/// Writes each message as `<dir>/<unix-ms>-<message-id>.eml`, readable by a person or any
/// mail client. The default transport of a fresh install.
#[derive(Debug, Clone)]
pub struct LocalMailbox {
    dir: PathBuf,
}

impl LocalMailbox {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LocalMailbox { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The `.eml` files, oldest first.
    pub fn list(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut v = Vec::new();
        match std::fs::read_dir(&self.dir) {
            Ok(rd) => {
                for entry in rd {
                    let p = entry?.path();
                    if p.extension().is_some_and(|x| x == "eml") {
                        v.push(p);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        v.sort();
        Ok(v)
    }

    /// Find a message by (a unique prefix of) its file name or Message-ID.
    pub fn find(&self, key: &str) -> std::io::Result<Option<PathBuf>> {
        let key = key.trim_matches(|c| c == '<' || c == '>');
        Ok(self.list()?.into_iter().find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(key) || n.contains(key))
        }))
    }
}

fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[async_trait]
impl Mailer for LocalMailbox {
    async fn send(&self, e: &OutgoingEmail) -> Result<(), MailError> {
        let msg = build_message(e)?;
        let id = e.message_id.trim_matches(|c| c == '<' || c == '>');
        let id = id.split('@').next().unwrap_or(id);
        let name = format!(
            "{}-{}.eml",
            e.date.unix_timestamp_nanos() / 1_000_000,
            file_safe(id)
        );
        tokio::fs::create_dir_all(&self.dir).await.map_err(|err| {
            MailError::temporary(format!("mailbox {}: {err}", self.dir.display()))
        })?;
        let tmp = self.dir.join(format!(".{name}.tmp"));
        tokio::fs::write(&tmp, msg.formatted())
            .await
            .map_err(|err| MailError::temporary(format!("mailbox write: {err}")))?;
        tokio::fs::rename(&tmp, self.dir.join(&name))
            .await
            .map_err(|err| MailError::temporary(format!("mailbox rename: {err}")))?;
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtps://host:465` (implicit TLS),
    /// or `smtp://host:25` (plain, for a local relay).
    pub url: String,
    pub dkim: Option<DkimSettings>,
    /// Connect and command timeout.
    pub timeout: std::time::Duration,
    /// Connections kept open and reused (the worker sends this many messages at once).
    pub pool_size: u32,
}

#[derive(Debug, Clone)]
pub struct DkimSettings {
    pub selector: String,
    pub domain: String,
    /// RSA key as PKCS#1 PEM, or an Ed25519 key as base64 of its 32 secret bytes.
    pub private_key: String,
    pub ed25519: bool,
}

pub struct SmtpMailer {
    transport: Transport,
    dkim: Option<DkimConfig>,
}

enum Transport {
    /// STARTTLS or implicit TLS: lettre's pooled transport.
    Lettre(AsyncSmtpTransport<Tokio1Executor>),
    /// Plain SMTP to a relay: our own pool with TCP_NODELAY (see `smtp_direct`).
    Direct(crate::smtp_direct::DirectPool),
}

impl SmtpMailer {
    /// Build the transport (call inside the Tokio runtime: the connection pool lives there).
    pub fn new(cfg: &SmtpConfig) -> Result<Self, MailError> {
        // Check everything that can be wrong before the pool exists.
        let dkim = match &cfg.dkim {
            None => None,
            Some(d) => {
                let alg = if d.ed25519 {
                    DkimSigningAlgorithm::Ed25519
                } else {
                    DkimSigningAlgorithm::Rsa
                };
                let key = DkimSigningKey::new(&d.private_key, alg)
                    .map_err(|e| MailError::temporary(format!("bad DKIM key: {e}")))?;
                // relaxed/relaxed: survives the re-folding relays do (lettre's default
                // simple header canonicalization does not verify once its own signature
                // header is folded); List-Unsubscribe(-Post) must be signed (RFC 8058)
                let headers = [
                    "From",
                    "To",
                    "Subject",
                    "Date",
                    "Message-ID",
                    "Reply-To",
                    "MIME-Version",
                    "Auto-Submitted",
                    "List-Unsubscribe",
                    "List-Unsubscribe-Post",
                ]
                .into_iter()
                .map(header::HeaderName::new_from_ascii_str)
                .collect();
                Some(DkimConfig::new(
                    d.selector.clone(),
                    d.domain.clone(),
                    key,
                    headers,
                    DkimCanonicalization {
                        header: DkimCanonicalizationType::Relaxed,
                        body: DkimCanonicalizationType::Relaxed,
                    },
                ))
            }
        };
        // smtp://host:25 plain (a local relay), smtp://host:587?tls=required STARTTLS that
        // must succeed, smtps://host:465 implicit TLS; user:password@ authenticates
        let transport = match crate::smtp_direct::plain_target(&cfg.url) {
            Some(target) => Transport::Direct(crate::smtp_direct::DirectPool::new(
                target,
                cfg.timeout,
                cfg.pool_size as usize,
            )),
            None => Transport::Lettre(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(&cfg.url)
                    .map_err(|e| MailError::temporary(format!("bad SMTP URL: {e}")))?
                    .timeout(Some(cfg.timeout))
                    .pool_config(
                        lettre::transport::smtp::PoolConfig::new()
                            .max_size(cfg.pool_size.max(1))
                            .idle_timeout(std::time::Duration::from_secs(60)),
                    )
                    .build(),
            ),
        };
        Ok(SmtpMailer { transport, dkim })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, e: &OutgoingEmail) -> Result<(), MailError> {
        let mut msg = build_message(e)?;
        if let Some(d) = &self.dkim {
            msg.sign(d);
        }
        match &self.transport {
            Transport::Direct(pool) => pool.send(msg.envelope(), &msg.formatted()).await,
            Transport::Lettre(t) => t
                .send(msg)
                .await
                .map(|_| ())
                .map_err(crate::smtp_direct::smtp_error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn email() -> OutgoingEmail {
        OutgoingEmail {
            message_id: "<0190-abc@roster.example>".into(),
            from: "Roster <no-reply@roster.example>".into(),
            reply_to: Some("Support <help@roster.example>".into()),
            to: "rohit@example.com".into(),
            subject: "Hello".into(),
            text: "plain body".into(),
            html: "<p>html body</p>".into(),
            date: OffsetDateTime::UNIX_EPOCH,
            list_unsubscribe: Some("https://roster.example/unsubscribe/t0k".into()),
        }
    }

    #[test]
    fn messages_are_multipart_with_message_id_and_date() {
        let raw = String::from_utf8(build_message(&email()).unwrap().formatted()).unwrap();
        assert!(raw.contains("Message-ID: <0190-abc@roster.example>"));
        assert!(raw.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000"));
        assert!(raw.contains("Auto-Submitted: auto-generated"), "{raw}");
        assert!(
            raw.contains("Reply-To: Support <help@roster.example>"),
            "{raw}"
        );
        assert!(raw.contains("List-Unsubscribe: <https://roster.example/unsubscribe/t0k>"));
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        // a UTF-8 subject is encoded (RFC 2047), never sent as raw 8-bit
        let mut e = email();
        e.subject = "Jürgen invited you to Café Ünï".into();
        let raw = String::from_utf8(build_message(&e).unwrap().formatted()).unwrap();
        let subject = raw.lines().find(|l| l.starts_with("Subject:")).unwrap();
        assert!(subject.contains("=?utf-8?"), "{subject}");
        assert!(subject.is_ascii(), "{subject}");
        // and so is a UTF-8 display name (a product name such as "Équipe")
        let mut e = email();
        e.from = "Équipe Rostér <no-reply@roster.example>".into();
        let raw = String::from_utf8(build_message(&e).unwrap().formatted()).unwrap();
        let from = raw.lines().find(|l| l.starts_with("From:")).unwrap();
        assert!(from.is_ascii() && from.contains("=?utf-8?"), "{from}");
        assert!(from.ends_with("<no-reply@roster.example>"), "{from}");
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("plain body"));
        assert!(raw.contains("<p>html body</p>"));
    }

    #[tokio::test]
    async fn the_local_mailbox_writes_readable_files() {
        let dir = tempfile_dir();
        let mb = LocalMailbox::new(&dir);
        mb.send(&email()).await.unwrap();
        let files = mb.list().unwrap();
        assert_eq!(files.len(), 1);
        let raw = std::fs::read_to_string(&files[0]).unwrap();
        assert!(raw.contains("Subject: Hello"));
        assert!(mb.find("0190-abc").unwrap().is_some());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn bad_addresses_are_errors_not_panics() {
        let mut e = email();
        e.to = "not an address".into();
        assert!(build_message(&e).is_err());
    }

    fn tempfile_dir() -> PathBuf {
        std::env::temp_dir().join(format!("roster-mailbox-{}", uuid::Uuid::new_v4()))
    }
}
