//! Roster's core: domain types, rules and the services that run each journey.
//! No HTTP, no SQL driver: storage and mail are ports ([`store::Store`], [`mailer::Mailer`]).

pub mod error;
pub mod lockout;
pub mod mailer;
pub mod model;
pub mod ops;
pub mod password;
pub mod renorm;
pub mod scim_filter;
pub mod sealed;
pub mod service;
pub mod store;
pub mod token;
pub mod totp;
pub mod types;

pub use error::{Error, FieldError, Result, StoreError};
pub use service::{Ctx, Principal, Services, Settings};
