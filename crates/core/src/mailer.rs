//! The outgoing-mail port. Transports (SMTP, local mailbox, test capture) implement it.

use async_trait::async_trait;
use time::OffsetDateTime;

/// A fully rendered email, ready for a transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// RFC 5322 Message-ID including angle brackets; stable across retries.
    pub message_id: String,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub date: OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MailError(pub String);

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError>;
}
