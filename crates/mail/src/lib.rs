//! Roster email: templates (text + HTML, rendered at send time), the outbox worker, and the
//! transports (SMTP via lettre with optional DKIM, and a local mailbox of `.eml` files).

pub mod mailbox;
pub mod render;
pub mod samples;
mod smtp_direct;
pub mod templates;
pub mod transport;
pub mod worker;

pub use render::{Renderer, message_domain_of};
pub use templates::{TemplateError, Templates};
pub use transport::{LocalMailbox, SmtpConfig, SmtpMailer};
pub use worker::{OutboxWorker, RetryPolicy, Stopper};
