//! The outgoing-mail port. Transports (SMTP, local mailbox, test capture) implement it.

use async_trait::async_trait;
use time::OffsetDateTime;

/// A fully rendered email, ready for a transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// RFC 5322 Message-ID including angle brackets; stable across retries.
    pub message_id: String,
    pub from: String,
    pub reply_to: Option<String>,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub date: OffsetDateTime,
    /// The one-click unsubscribe URL (RFC 8058) of a notification an admin can turn off.
    pub list_unsubscribe: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct MailError {
    pub message: String,
    /// The receiving server refused for good (an SMTP 5xx): trying again will not help.
    pub permanent: bool,
}

impl MailError {
    /// A failure worth retrying (network, 4xx, a local problem).
    pub fn temporary(message: impl Into<String>) -> Self {
        MailError {
            message: message.into(),
            permanent: false,
        }
    }

    /// A refusal that retrying will not change (5xx).
    pub fn permanent(message: impl Into<String>) -> Self {
        MailError {
            message: message.into(),
            permanent: true,
        }
    }
}

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError>;
}
