//! Published versions of the terms of use.

use super::StoreResult;
use crate::model::*;
use async_trait::async_trait;

#[async_trait]
pub trait TermsQueries: Send {
    /// `StoreError::Unique` if that version exists.
    async fn insert_terms(&mut self, t: &TermsVersion) -> StoreResult<()>;
    /// The most recently published version.
    async fn current_terms(&mut self) -> StoreResult<Option<TermsVersion>>;
}
