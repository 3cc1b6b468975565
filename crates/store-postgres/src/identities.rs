//! IDs (identities). SQL and row mapping, PostgreSQL.

use crate::Handle;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{IdentityQueries, StoreResult};
use roster_core::types::*;
use sqlx::postgres::{PgConnection, PgRow};
use std::ops::DerefMut;
use time::OffsetDateTime;

/// The same columns of a table alias (`"i."`), named as `identity_row` reads them.
macro_rules! identity_cols_of {
    ($t:literal) => {
        concat!(
            $t,
            "id, ",
            $t,
            "email, ",
            $t,
            "first_name, ",
            $t,
            "last_name, ",
            $t,
            "password_hash, ",
            $t,
            "security_question, ",
            $t,
            "security_answer_hash, ",
            $t,
            "terms_version, ",
            $t,
            "terms_accepted_at, ",
            $t,
            "created_at, ",
            $t,
            "failed_count, ",
            $t,
            "window_start, ",
            $t,
            "lock_level, ",
            $t,
            "locked_until, ",
            $t,
            "in_flight, ",
            $t,
            "in_flight_at"
        )
    };
}
pub(crate) use identity_cols_of;

/// The columns `identity_row` reads, of the table itself.
macro_rules! identity_cols {
    () => {
        identity_cols_of!("")
    };
}

#[async_trait]
impl<C> IdentityQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn insert_identity(&mut self, i: &Identity) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO identities (",
            identity_cols!(),
            ", email_norm) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        ))
        .bind(i.id.0)
        .bind(i.email.as_str())
        .bind(&i.first_name)
        .bind(&i.last_name)
        .bind(&i.password_hash)
        .bind(i.security_question.map(|q| q.code()))
        .bind(&i.security_answer_hash)
        .bind(&i.terms_version)
        .bind(i.terms_accepted_at)
        .bind(i.created_at)
        .bind(i.lockout.failed_count)
        .bind(i.lockout.window_start)
        .bind(i.lockout.level)
        .bind(i.lockout.locked_until)
        .bind(i.lockout.in_flight)
        .bind(i.lockout.in_flight_at)
        .bind(i.email.normalized())
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_identity(&mut self, id: IdentityId) -> StoreResult<Option<Identity>> {
        sqlx::query(concat!(
            "SELECT ",
            identity_cols!(),
            " FROM identities WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| identity_row(&r))
        .transpose()
    }

    async fn find_identity_by_email(&mut self, email_norm: &str) -> StoreResult<Option<Identity>> {
        sqlx::query(concat!(
            "SELECT ",
            identity_cols!(),
            " FROM identities WHERE email_norm = $1"
        ))
        .bind(email_norm)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| identity_row(&r))
        .transpose()
    }

    async fn lock_identity_by_email(&mut self, email_norm: &str) -> StoreResult<Option<Identity>> {
        // Row lock: parallel login attempts of one ID count one after another.
        sqlx::query(concat!(
            "SELECT ",
            identity_cols!(),
            " FROM identities WHERE email_norm = $1 FOR UPDATE"
        ))
        .bind(email_norm)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| identity_row(&r))
        .transpose()
    }

    async fn update_lockout(&mut self, id: IdentityId, l: &Lockout) -> StoreResult<()> {
        sqlx::query(
            "UPDATE identities SET failed_count = $2, window_start = $3, lock_level = $4, \
             locked_until = $5, in_flight = $6, in_flight_at = $7 WHERE id = $1",
        )
        .bind(id.0)
        .bind(l.failed_count)
        .bind(l.window_start)
        .bind(l.level)
        .bind(l.locked_until)
        .bind(l.in_flight)
        .bind(l.in_flight_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn set_password(
        &mut self,
        id: IdentityId,
        new_hash: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO password_history (identity_id, password_hash, replaced_at) \
             SELECT id, password_hash, $2 FROM identities WHERE id = $1",
        )
        .bind(id.0)
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        sqlx::query(
            "UPDATE identities SET password_hash = $2, password_changed_at = $3 WHERE id = $1",
        )
        .bind(id.0)
        .bind(new_hash)
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn password_history(&mut self, id: IdentityId, limit: u32) -> StoreResult<Vec<String>> {
        sqlx::query_scalar(
            "SELECT password_hash FROM password_history WHERE identity_id = $1 \
             ORDER BY replaced_at DESC, ctid DESC LIMIT $2",
        )
        .bind(id.0)
        .bind(i64::from(limit))
        .fetch_all(self.c())
        .await
        .map_err(map_err)
    }

    async fn set_identity_email(&mut self, id: IdentityId, email: &Email) -> StoreResult<()> {
        sqlx::query("UPDATE identities SET email = $2, email_norm = $3 WHERE id = $1")
            .bind(id.0)
            .bind(email.as_str())
            .bind(email.normalized())
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn accept_terms(
        &mut self,
        id: IdentityId,
        version: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO terms_acceptances (identity_id, version, accepted_at) VALUES ($1, $2, $3) \
             ON CONFLICT (identity_id, version) DO NOTHING",
        )
        .bind(id.0)
        .bind(version)
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        sqlx::query(
            "UPDATE identities SET terms_version = $2, terms_accepted_at = $3 WHERE id = $1",
        )
        .bind(id.0)
        .bind(version)
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn terms_acceptances(
        &mut self,
        id: IdentityId,
    ) -> StoreResult<Vec<(String, OffsetDateTime)>> {
        let rows = sqlx::query(
            "SELECT version, accepted_at FROM terms_acceptances WHERE identity_id = $1 \
             ORDER BY accepted_at DESC",
        )
        .bind(id.0)
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| Ok((get(r, "version")?, time(r, "accepted_at")?)))
            .collect()
    }
}

pub(crate) fn identity_row(r: &PgRow) -> Result<Identity, StoreError> {
    let q: Option<String> = get(r, "security_question")?;
    Ok(Identity {
        id: IdentityId(get(r, "id")?),
        email: email(r, "email")?,
        first_name: get(r, "first_name")?,
        last_name: get(r, "last_name")?,
        password_hash: get(r, "password_hash")?,
        security_question: q
            .map(|q| SecurityQuestion::parse(&q).map_err(|_| bad("question", &q)))
            .transpose()?,
        security_answer_hash: get(r, "security_answer_hash")?,
        terms_version: get(r, "terms_version")?,
        terms_accepted_at: opt_time(r, "terms_accepted_at")?,
        created_at: time(r, "created_at")?,
        lockout: Lockout {
            failed_count: get(r, "failed_count")?,
            window_start: opt_time(r, "window_start")?,
            level: get(r, "lock_level")?,
            locked_until: opt_time(r, "locked_until")?,
            in_flight: get(r, "in_flight")?,
            in_flight_at: opt_time(r, "in_flight_at")?,
        },
    })
}
