//! The storage port. Each backend (SQLite, PostgreSQL) implements it; callers never know which.
//!
//! The queries are grouped by aggregate, one trait each ([`AppQueries`], [`IdentityQueries`],
//! [`MemberQueries`], [`InvitationQueries`], [`SessionQueries`], [`ProfileQueries`],
//! [`SecretQueries`], [`SetupTokenQueries`], [`AuditQueries`], [`OutboxQueries`],
//! [`IdentityTokenQueries`], [`ThrottleQueries`], [`TermsQueries`], [`SecondFactorQueries`],
//! [`PasskeyQueries`], [`NotificationQueries`], [`ApiKeyQueries`], [`BulkJobQueries`],
//! [`WebhookQueries`], [`ScimQueries`], [`OidcQueries`], [`OperatorQueries`]); [`Queries`] combines them
//! and is what callers hold.
//!
//! Write operations run inside a transaction from [`Store::begin`]. The first call of every
//! transaction that changes an app is [`AppQueries::lock_app`], which serialises writers of that
//! app (a row lock on PostgreSQL; `BEGIN IMMEDIATE` on SQLite already serialises all writers),
//! so seat checks done in core cannot race.

mod api_keys;
mod apps;
mod audit;
mod bulk_jobs;
mod identities;
mod identity_tokens;
mod invitations;
mod members;
mod notifications;
mod oidc;
mod operators;
mod ops;
mod outbox;
mod passkeys;
mod profiles;
mod scim;
mod second_factors;
mod secrets;
mod sessions;
mod setup_tokens;
mod terms;
mod throttle;
mod webhooks;

pub use api_keys::ApiKeyQueries;
pub use apps::AppQueries;
pub use audit::AuditQueries;
pub use bulk_jobs::BulkJobQueries;
pub use identities::IdentityQueries;
pub use identity_tokens::IdentityTokenQueries;
pub use invitations::InvitationQueries;
pub use members::MemberQueries;
pub use notifications::NotificationQueries;
pub use oidc::OidcQueries;
pub use operators::OperatorQueries;
pub use ops::{MigrationState, OpsFigures, OpsQueries, PoolFigures};
pub use outbox::OutboxQueries;
pub use passkeys::PasskeyQueries;
pub use profiles::ProfileQueries;
pub use scim::ScimQueries;
pub use second_factors::SecondFactorQueries;
pub use secrets::SecretQueries;
pub use sessions::SessionQueries;
pub use setup_tokens::SetupTokenQueries;
pub use terms::TermsQueries;
pub use throttle::ThrottleQueries;
pub use webhooks::WebhookQueries;

use crate::error::StoreError;
use async_trait::async_trait;

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// "sqlite" or "postgres".
    fn backend(&self) -> &'static str;
    /// Apply pending migrations, then, once, the data migration `email_norm_v2`
    /// ([`Store::renormalize_emails`]; recorded in `roster_meta`).
    async fn migrate(&self) -> StoreResult<()>;
    /// Recompute every stored `email_norm` (identities, members) from the stored address with
    /// [`crate::types::Email::parse`]. Rows that would collide with another row of their scope,
    /// or whose address no longer parses, are left as they are: logged (warn), and recorded in
    /// `email_norm_conflicts` in place of the previous run's records.
    async fn renormalize_emails(&self) -> StoreResult<crate::renorm::RenormReport>;
    /// The rows the last renormalisation left as they were, one line each (`roster migrate`).
    async fn email_norm_conflicts(&self) -> StoreResult<Vec<String>>;
    /// A write transaction. Dropped without `commit` → rolled back. After any error the
    /// transaction is unusable on some backends (PostgreSQL aborts it): drop it.
    async fn begin(&self) -> StoreResult<Box<dyn Tx>>;
    /// A read-only handle (no transaction) for queries.
    async fn read(&self) -> StoreResult<Box<dyn Queries>>;
    /// The connection pool right now (`/metrics`).
    fn pool_figures(&self) -> PoolFigures {
        PoolFigures::default()
    }
    /// Shut down cleanly (after the last request): wait briefly for work in hand, then close
    /// every connection. Later calls of `begin`/`read` fail with `Unavailable`.
    async fn close(&self) {}
}

#[async_trait]
pub trait Tx: Queries {
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

/// Every query of the port: implemented for anything that implements all the aggregate traits.
pub trait Queries:
    AppQueries
    + IdentityQueries
    + MemberQueries
    + InvitationQueries
    + SessionQueries
    + ProfileQueries
    + SecretQueries
    + SetupTokenQueries
    + AuditQueries
    + OutboxQueries
    + IdentityTokenQueries
    + ThrottleQueries
    + TermsQueries
    + SecondFactorQueries
    + PasskeyQueries
    + NotificationQueries
    + ApiKeyQueries
    + BulkJobQueries
    + WebhookQueries
    + ScimQueries
    + OidcQueries
    + OperatorQueries
    + OpsQueries
    + Send
{
}

impl<T> Queries for T where
    T: AppQueries
        + IdentityQueries
        + MemberQueries
        + InvitationQueries
        + SessionQueries
        + ProfileQueries
        + SecretQueries
        + SetupTokenQueries
        + AuditQueries
        + OutboxQueries
        + IdentityTokenQueries
        + ThrottleQueries
        + TermsQueries
        + SecondFactorQueries
        + PasskeyQueries
        + NotificationQueries
        + ApiKeyQueries
        + BulkJobQueries
        + WebhookQueries
        + ScimQueries
        + OidcQueries
        + OperatorQueries
        + OpsQueries
        + Send
        + ?Sized
{
}
