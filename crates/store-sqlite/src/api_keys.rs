//! API keys, their addresses, and Idempotency-Key answers. SQL, SQLite.

use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::model::*;
use roster_core::store::{ApiKeyQueries, StoreResult};
use roster_core::types::*;
use rusqlite::Row;
use time::OffsetDateTime;

macro_rules! key_columns {
    () => {
        "id, app_id, kind, member_id, name, prefix, key_hash, scopes, created_by, created_at, \
         expires_at, revoked_at, last_used_at, last_used_addr"
    };
}

fn key_row(r: &Row<'_>) -> StoreResult<ApiKey> {
    let kind: String = get(r, 2)?;
    Ok(ApiKey {
        id: uuid(r, 0)?,
        app_id: app_id(r, 1)?,
        kind: ApiKeyKind::parse(&kind).ok_or_else(|| bad("api key kind", &kind))?,
        member_id: opt_uuid(r, 3)?.map(MemberId),
        name: get(r, 4)?,
        prefix: get(r, 5)?,
        key_hash: get(r, 6)?,
        scopes: ApiScope::split(&get::<String>(r, 7)?),
        created_by: opt_uuid(r, 8)?.map(IdentityId),
        created_at: time(r, 9)?,
        expires_at: opt_time(r, 10)?,
        revoked_at: opt_time(r, 11)?,
        last_used_at: opt_time(r, 12)?,
        last_used_addr: get(r, 13)?,
    })
}

#[async_trait]
impl<C: HasConn> ApiKeyQueries for Handle<C> {
    async fn insert_api_key(&mut self, k: &ApiKey) -> StoreResult<()> {
        self.exec(
            concat!(
                "INSERT INTO api_keys (",
                key_columns!(),
                ") \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
            ),
            rusqlite::params![
                k.id,
                k.app_id.as_str(),
                k.kind.as_str(),
                k.member_id.map(|m| m.0),
                &k.name,
                &k.prefix,
                &k.key_hash,
                ApiScope::join(&k.scopes),
                k.created_by.map(|i| i.0),
                ms(k.created_at),
                k.expires_at.map(ms),
                k.revoked_at.map(ms),
                k.last_used_at.map(ms),
                &k.last_used_addr,
            ],
        )?;
        Ok(())
    }

    async fn find_api_key_by_hash(&mut self, key_hash: &[u8]) -> StoreResult<Option<ApiKey>> {
        self.one(
            concat!(
                "SELECT ",
                key_columns!(),
                " FROM api_keys WHERE key_hash = ?1"
            ),
            rusqlite::params![key_hash],
            key_row,
        )
    }

    async fn get_api_key(&mut self, app: &AppId, id: uuid::Uuid) -> StoreResult<Option<ApiKey>> {
        self.one(
            concat!(
                "SELECT ",
                key_columns!(),
                " FROM api_keys WHERE app_id = ?1 AND id = ?2"
            ),
            rusqlite::params![app.as_str(), id],
            key_row,
        )
    }

    async fn list_api_keys(
        &mut self,
        app: &AppId,
        kind: ApiKeyKind,
        member: Option<MemberId>,
        before: Option<(OffsetDateTime, uuid::Uuid)>,
        limit: u32,
    ) -> StoreResult<Vec<ApiKey>> {
        let (at, id) = match before {
            Some((at, id)) => (Some(ms(at)), Some(id)),
            None => (None, None),
        };
        self.all(
            concat!(
                "SELECT ",
                key_columns!(),
                " FROM api_keys \
                 WHERE app_id = ?1 AND kind = ?2 AND (?3 IS NULL OR member_id = ?3) \
                   AND (?4 IS NULL OR (created_at, id) < (?4, ?5)) \
                 ORDER BY created_at DESC, id DESC LIMIT ?6"
            ),
            rusqlite::params![
                app.as_str(),
                kind.as_str(),
                member.map(|m| m.0),
                at,
                id,
                limit
            ],
            key_row,
        )
    }

    async fn revoke_api_key(
        &mut self,
        app: &AppId,
        id: uuid::Uuid,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let n = self.exec(
            "UPDATE api_keys SET revoked_at = ?3 \
             WHERE app_id = ?1 AND id = ?2 AND revoked_at IS NULL",
            rusqlite::params![app.as_str(), id, ms(at)],
        )?;
        Ok(n == 1)
    }

    async fn revoke_member_api_keys(
        &mut self,
        app: &AppId,
        member: MemberId,
        at: OffsetDateTime,
    ) -> StoreResult<u64> {
        let n = self.exec(
            "UPDATE api_keys SET revoked_at = ?3 \
             WHERE app_id = ?1 AND member_id = ?2 AND revoked_at IS NULL",
            rusqlite::params![app.as_str(), member.0, ms(at)],
        )?;
        Ok(n as u64)
    }

    async fn record_api_key_use(
        &mut self,
        id: uuid::Uuid,
        addr: &str,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let new = self.exec(
            "INSERT INTO api_key_addresses (key_id, addr, first_seen) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key_id, addr) DO NOTHING",
            rusqlite::params![id, addr, ms(at)],
        )? == 1;
        self.exec(
            "UPDATE api_keys SET last_used_at = ?2, last_used_addr = ?3 WHERE id = ?1",
            rusqlite::params![id, ms(at), addr],
        )?;
        Ok(new)
    }

    async fn begin_idempotent(
        &mut self,
        scope: &[u8],
        key: &str,
        fingerprint: &[u8],
        now: OffsetDateTime,
        expired_before: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> StoreResult<IdempotencyStart> {
        // forget an expired answer, or a running row whose node died
        self.exec(
            "DELETE FROM idempotency_keys WHERE scope = ?1 AND key = ?2 \
             AND (created_at < ?3 OR (status IS NULL AND created_at < ?4))",
            rusqlite::params![scope, key, ms(expired_before), ms(stale_before)],
        )?;
        let inserted = self.exec(
            "INSERT INTO idempotency_keys (scope, key, fingerprint, created_at) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (scope, key) DO NOTHING",
            rusqlite::params![scope, key, fingerprint, ms(now)],
        )? == 1;
        if inserted {
            return Ok(IdempotencyStart::Fresh);
        }
        let row = self.one(
            "SELECT fingerprint, status, content_type, headers, body FROM idempotency_keys \
             WHERE scope = ?1 AND key = ?2",
            rusqlite::params![scope, key],
            |r| {
                let fingerprint: Vec<u8> = get(r, 0)?;
                Ok(match get::<Option<i64>>(r, 1)? {
                    None => IdempotencyStart::InProgress { fingerprint },
                    Some(status) => IdempotencyStart::Done(StoredAnswer {
                        fingerprint,
                        status: u16::try_from(status).map_err(|_| bad("status", "?"))?,
                        content_type: get(r, 2)?,
                        headers: get(r, 3)?,
                        body: get::<Option<Vec<u8>>>(r, 4)?.unwrap_or_default(),
                    }),
                })
            },
        )?;
        // deleted between the two statements cannot happen: writers are serialised
        Ok(row.unwrap_or(IdempotencyStart::InProgress {
            fingerprint: fingerprint.to_vec(),
        }))
    }

    async fn finish_idempotent(
        &mut self,
        scope: &[u8],
        key: &str,
        answer: &StoredAnswer,
    ) -> StoreResult<()> {
        self.exec(
            "UPDATE idempotency_keys SET status = ?3, content_type = ?4, headers = ?5, body = ?6 \
             WHERE scope = ?1 AND key = ?2",
            rusqlite::params![
                scope,
                key,
                i64::from(answer.status),
                &answer.content_type,
                &answer.headers,
                &answer.body
            ],
        )?;
        Ok(())
    }

    async fn abandon_idempotent(&mut self, scope: &[u8], key: &str) -> StoreResult<()> {
        self.exec(
            "DELETE FROM idempotency_keys WHERE scope = ?1 AND key = ?2 AND status IS NULL",
            rusqlite::params![scope, key],
        )?;
        Ok(())
    }

    async fn prune_idempotent(&mut self, before: OffsetDateTime) -> StoreResult<u64> {
        let n = self.exec(
            "DELETE FROM idempotency_keys WHERE created_at < ?1",
            rusqlite::params![ms(before)],
        )?;
        Ok(n as u64)
    }
}
