//! Server-rendered pages. Same rule as the API: parse → call a core service → render.
//! Every form carries a CSRF token (double-submit: a random `roster_csrf` cookie, SameSite=Strict,
//! that the form's hidden `csrf` field must match).
//!
//! One module per journey, each owning its routes; what they share is in [`frame`].

pub mod accept;
pub mod account;
pub mod api_docs;
pub mod api_keys;
pub mod apps;
pub mod audit;
pub mod bulk;
pub mod confirm;
pub mod errors;
pub mod flash;
pub mod forms;
pub mod frame;
pub mod identity;
pub mod invitations;
pub mod login_email;
pub mod member_actions;
pub mod members;
pub mod notifications;
pub mod oidc;
pub mod operator;
pub mod operator_clients;
pub mod operator_join;
pub mod password;
pub mod profile;
pub mod seats;
pub mod terms;
pub mod two_step;
pub mod webhooks;
pub mod when;

pub use frame::{CSRF_COOKIE, Csrf, CsrfForm, FieldErrors, Nav, NavApp, Page, PageError};

use crate::AppState;
use axum::Router;

/// Every page route.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .merge(frame::routes())
        .merge(api_docs::routes())
        .merge(identity::routes())
        .merge(terms::routes())
        .merge(apps::routes())
        .merge(members::routes())
        .merge(member_actions::routes())
        .merge(account::routes())
        .merge(api_keys::routes())
        .merge(bulk::routes())
        .merge(webhooks::routes())
        .merge(invitations::routes())
        .merge(notifications::routes())
        .merge(seats::routes())
        .merge(profile::routes())
        .merge(accept::routes())
        .merge(password::routes())
        .merge(login_email::routes())
        .merge(audit::routes())
        .merge(two_step::routes())
        .merge(oidc::routes())
        .merge(operator::routes())
}
