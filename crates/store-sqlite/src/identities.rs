//! IDs (identities). SQL and row mapping, SQLite.

use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{IdentityQueries, StoreResult};
use roster_core::types::*;
use rusqlite::Row;
use time::OffsetDateTime;

macro_rules! identity_cols {
    () => {
        "id, email, first_name, last_name, password_hash, security_question, security_answer_hash, \
         terms_version, terms_accepted_at, created_at, failed_count, window_start, lock_level, locked_until, \
         in_flight, in_flight_at"
    };
}

#[async_trait]
impl<C: HasConn> IdentityQueries for Handle<C> {
    async fn insert_identity(&mut self, i: &Identity) -> StoreResult<()> {
        self.exec(concat!(
            "INSERT INTO identities (",
            identity_cols!(),
            ", email_norm) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
        ), rusqlite::params![i.id.0, i.email.as_str(), &i.first_name, &i.last_name, &i.password_hash, i.security_question.map(|q| q.code()), &i.security_answer_hash, &i.terms_version, i.terms_accepted_at.map(ms), ms(i.created_at), i.lockout.failed_count, i.lockout.window_start.map(ms), i.lockout.level, i.lockout.locked_until.map(ms), i.lockout.in_flight, i.lockout.in_flight_at.map(ms), i.email.normalized()])?;
        Ok(())
    }

    async fn get_identity(&mut self, id: IdentityId) -> StoreResult<Option<Identity>> {
        self.one(
            concat!(
                "SELECT ",
                identity_cols!(),
                " FROM identities WHERE id = ?1"
            ),
            rusqlite::params![id.0],
            identity_row,
        )
    }

    async fn find_identity_by_email(&mut self, email_norm: &str) -> StoreResult<Option<Identity>> {
        self.one(
            concat!(
                "SELECT ",
                identity_cols!(),
                " FROM identities WHERE email_norm = ?1"
            ),
            rusqlite::params![email_norm],
            identity_row,
        )
    }

    async fn lock_identity_by_email(&mut self, email_norm: &str) -> StoreResult<Option<Identity>> {
        self.find_identity_by_email(email_norm).await
    }

    async fn update_lockout(&mut self, id: IdentityId, l: &Lockout) -> StoreResult<()> {
        self.exec(
            "UPDATE identities SET failed_count = ?2, window_start = ?3, lock_level = ?4, \
             locked_until = ?5, in_flight = ?6, in_flight_at = ?7 WHERE id = ?1",
            rusqlite::params![
                id.0,
                l.failed_count,
                l.window_start.map(ms),
                l.level,
                l.locked_until.map(ms),
                l.in_flight,
                l.in_flight_at.map(ms)
            ],
        )?;
        Ok(())
    }

    async fn set_password(
        &mut self,
        id: IdentityId,
        new_hash: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO password_history (identity_id, password_hash, replaced_at) \
             SELECT id, password_hash, ?2 FROM identities WHERE id = ?1",
            rusqlite::params![id.0, ms(at)],
        )?;
        self.exec(
            "UPDATE identities SET password_hash = ?2, password_changed_at = ?3 WHERE id = ?1",
            rusqlite::params![id.0, new_hash, ms(at)],
        )?;
        Ok(())
    }

    async fn password_history(&mut self, id: IdentityId, limit: u32) -> StoreResult<Vec<String>> {
        self.all(
            "SELECT password_hash FROM password_history WHERE identity_id = ?1 \
             ORDER BY replaced_at DESC, rowid DESC LIMIT ?2",
            rusqlite::params![id.0, i64::from(limit)],
            |r| get(r, 0),
        )
    }

    async fn set_identity_email(&mut self, id: IdentityId, email: &Email) -> StoreResult<()> {
        self.exec(
            "UPDATE identities SET email = ?2, email_norm = ?3 WHERE id = ?1",
            rusqlite::params![id.0, email.as_str(), email.normalized()],
        )?;
        Ok(())
    }

    async fn accept_terms(
        &mut self,
        id: IdentityId,
        version: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO terms_acceptances (identity_id, version, accepted_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (identity_id, version) DO NOTHING",
            rusqlite::params![id.0, version, ms(at)],
        )?;
        self.exec(
            "UPDATE identities SET terms_version = ?2, terms_accepted_at = ?3 WHERE id = ?1",
            rusqlite::params![id.0, version, ms(at)],
        )?;
        Ok(())
    }

    async fn terms_acceptances(
        &mut self,
        id: IdentityId,
    ) -> StoreResult<Vec<(String, OffsetDateTime)>> {
        self.all(
            "SELECT version, accepted_at FROM terms_acceptances WHERE identity_id = ?1 \
             ORDER BY accepted_at DESC",
            rusqlite::params![id.0],
            |r| Ok((get(r, 0)?, time(r, 1)?)),
        )
    }
}

pub(crate) fn identity_row(r: &Row<'_>) -> Result<Identity, StoreError> {
    identity_at(r, 0)
}

pub(crate) fn identity_at(r: &Row<'_>, b: usize) -> Result<Identity, StoreError> {
    let q: Option<String> = get(r, b + 5)?;
    Ok(Identity {
        id: IdentityId(uuid(r, b)?),
        email: email(r, b + 1)?,
        first_name: get(r, b + 2)?,
        last_name: get(r, b + 3)?,
        password_hash: get(r, b + 4)?,
        security_question: q
            .map(|q| SecurityQuestion::parse(&q).map_err(|_| bad("question", &q)))
            .transpose()?,
        security_answer_hash: get(r, b + 6)?,
        terms_version: get(r, b + 7)?,
        terms_accepted_at: opt_time(r, b + 8)?,
        created_at: time(r, b + 9)?,
        lockout: Lockout {
            failed_count: get(r, b + 10)?,
            window_start: opt_time(r, b + 11)?,
            level: get(r, b + 12)?,
            locked_until: opt_time(r, b + 13)?,
            in_flight: get(r, b + 14)?,
            in_flight_at: opt_time(r, b + 15)?,
        },
    })
}
