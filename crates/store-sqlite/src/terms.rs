//! Published terms versions. SQL, SQLite.

use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::model::TermsVersion;
use roster_core::store::{StoreResult, TermsQueries};

#[async_trait]
impl<C: HasConn> TermsQueries for Handle<C> {
    async fn insert_terms(&mut self, t: &TermsVersion) -> StoreResult<()> {
        self.exec(
            "INSERT INTO terms_versions (version, body_html, published_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![&t.version, &t.body_html, ms(t.published_at)],
        )?;
        Ok(())
    }

    async fn current_terms(&mut self) -> StoreResult<Option<TermsVersion>> {
        self.one(
            "SELECT version, body_html, published_at FROM terms_versions \
             ORDER BY published_at DESC, version DESC LIMIT 1",
            [],
            |r| {
                Ok(TermsVersion {
                    version: get(r, 0)?,
                    body_html: get(r, 1)?,
                    published_at: time(r, 2)?,
                })
            },
        )
    }
}
