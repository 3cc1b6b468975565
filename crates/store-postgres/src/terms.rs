//! Published terms versions. SQL, PostgreSQL.

use crate::Handle;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::model::TermsVersion;
use roster_core::store::{StoreResult, TermsQueries};
use sqlx::postgres::PgConnection;
use std::ops::DerefMut;

#[async_trait]
impl<C> TermsQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn insert_terms(&mut self, t: &TermsVersion) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO terms_versions (version, body_html, published_at) VALUES ($1, $2, $3)",
        )
        .bind(&t.version)
        .bind(&t.body_html)
        .bind(t.published_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn current_terms(&mut self) -> StoreResult<Option<TermsVersion>> {
        sqlx::query(
            "SELECT version, body_html, published_at FROM terms_versions \
             ORDER BY published_at DESC, version DESC LIMIT 1",
        )
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| {
            Ok(TermsVersion {
                version: get(&r, "version")?,
                body_html: get(&r, "body_html")?,
                published_at: time(&r, "published_at")?,
            })
        })
        .transpose()
    }
}
