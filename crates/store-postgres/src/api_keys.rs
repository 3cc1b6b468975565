//! API keys, their addresses, and Idempotency-Key answers. SQL, PostgreSQL.

use crate::Handle;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::model::*;
use roster_core::store::{ApiKeyQueries, StoreResult};
use roster_core::types::*;
use sqlx::postgres::{PgConnection, PgRow};
use std::ops::DerefMut;
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! key_columns {
    () => {
        "id, app_id, kind, member_id, name, prefix, key_hash, scopes, created_by, created_at, \
         expires_at, revoked_at, last_used_at, last_used_addr"
    };
}

fn key_row(r: &PgRow) -> StoreResult<ApiKey> {
    let kind: String = get(r, "kind")?;
    Ok(ApiKey {
        id: get(r, "id")?,
        app_id: app_id(r, "app_id")?,
        kind: ApiKeyKind::parse(&kind).ok_or_else(|| bad("api key kind", &kind))?,
        member_id: get::<Option<Uuid>>(r, "member_id")?.map(MemberId),
        name: get(r, "name")?,
        prefix: get(r, "prefix")?,
        key_hash: get(r, "key_hash")?,
        scopes: ApiScope::split(&get::<String>(r, "scopes")?),
        created_by: get::<Option<Uuid>>(r, "created_by")?.map(IdentityId),
        created_at: time(r, "created_at")?,
        expires_at: opt_time(r, "expires_at")?,
        revoked_at: opt_time(r, "revoked_at")?,
        last_used_at: opt_time(r, "last_used_at")?,
        last_used_addr: get(r, "last_used_addr")?,
    })
}

#[async_trait]
impl<C> ApiKeyQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn insert_api_key(&mut self, k: &ApiKey) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO api_keys (",
            key_columns!(),
            ") \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(k.id)
        .bind(k.app_id.as_str())
        .bind(k.kind.as_str())
        .bind(k.member_id.map(|m| m.0))
        .bind(&k.name)
        .bind(&k.prefix)
        .bind(&k.key_hash)
        .bind(ApiScope::join(&k.scopes))
        .bind(k.created_by.map(|i| i.0))
        .bind(k.created_at)
        .bind(k.expires_at)
        .bind(k.revoked_at)
        .bind(k.last_used_at)
        .bind(&k.last_used_addr)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn find_api_key_by_hash(&mut self, key_hash: &[u8]) -> StoreResult<Option<ApiKey>> {
        sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys WHERE key_hash = $1"
        ))
        .bind(key_hash)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .as_ref()
        .map(key_row)
        .transpose()
    }

    async fn get_api_key(&mut self, app: &AppId, id: Uuid) -> StoreResult<Option<ApiKey>> {
        sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys WHERE app_id = $1 AND id = $2"
        ))
        .bind(app.as_str())
        .bind(id)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .as_ref()
        .map(key_row)
        .transpose()
    }

    async fn list_api_keys(
        &mut self,
        app: &AppId,
        kind: ApiKeyKind,
        member: Option<MemberId>,
        before: Option<(OffsetDateTime, Uuid)>,
        limit: u32,
    ) -> StoreResult<Vec<ApiKey>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys \
             WHERE app_id = $1 AND kind = $2 AND ($3::uuid IS NULL OR member_id = $3) \
               AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5)) \
             ORDER BY created_at DESC, id DESC LIMIT $6"
        ))
        .bind(app.as_str())
        .bind(kind.as_str())
        .bind(member.map(|m| m.0))
        .bind(before.map(|b| b.0))
        .bind(before.map(|b| b.1))
        .bind(i64::from(limit))
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(key_row).collect()
    }

    async fn revoke_api_key(
        &mut self,
        app: &AppId,
        id: Uuid,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE api_keys SET revoked_at = $3 \
             WHERE app_id = $1 AND id = $2 AND revoked_at IS NULL",
        )
        .bind(app.as_str())
        .bind(id)
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn revoke_member_api_keys(
        &mut self,
        app: &AppId,
        member: MemberId,
        at: OffsetDateTime,
    ) -> StoreResult<u64> {
        let r = sqlx::query(
            "UPDATE api_keys SET revoked_at = $3 \
             WHERE app_id = $1 AND member_id = $2 AND revoked_at IS NULL",
        )
        .bind(app.as_str())
        .bind(member.0)
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected())
    }

    async fn record_api_key_use(
        &mut self,
        id: Uuid,
        addr: &str,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let new = sqlx::query(
            "INSERT INTO api_key_addresses (key_id, addr, first_seen) VALUES ($1, $2, $3) \
             ON CONFLICT (key_id, addr) DO NOTHING",
        )
        .bind(id)
        .bind(addr)
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?
        .rows_affected()
            == 1;
        sqlx::query("UPDATE api_keys SET last_used_at = $2, last_used_addr = $3 WHERE id = $1")
            .bind(id)
            .bind(at)
            .bind(addr)
            .execute(self.c())
            .await
            .map_err(map_err)?;
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
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 \
             AND (created_at < $3 OR (status IS NULL AND created_at < $4))",
        )
        .bind(scope)
        .bind(key)
        .bind(expired_before)
        .bind(stale_before)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        // a concurrent insert of the same key waits here until the first one commits
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (scope, key, fingerprint, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (scope, key) DO NOTHING",
        )
        .bind(scope)
        .bind(key)
        .bind(fingerprint)
        .bind(now)
        .execute(self.c())
        .await
        .map_err(map_err)?
        .rows_affected()
            == 1;
        if inserted {
            return Ok(IdempotencyStart::Fresh);
        }
        let row = sqlx::query(
            "SELECT fingerprint, status, content_type, headers, body FROM idempotency_keys \
             WHERE scope = $1 AND key = $2",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?;
        let Some(r) = row else {
            // the first request failed and was forgotten in between: try again later
            return Ok(IdempotencyStart::InProgress {
                fingerprint: fingerprint.to_vec(),
            });
        };
        let fp: Vec<u8> = get(&r, "fingerprint")?;
        Ok(match get::<Option<i32>>(&r, "status")? {
            None => IdempotencyStart::InProgress { fingerprint: fp },
            Some(status) => IdempotencyStart::Done(StoredAnswer {
                fingerprint: fp,
                status: u16::try_from(status).map_err(|_| bad("status", &status.to_string()))?,
                content_type: get(&r, "content_type")?,
                headers: get(&r, "headers")?,
                body: get::<Option<Vec<u8>>>(&r, "body")?.unwrap_or_default(),
            }),
        })
    }

    async fn finish_idempotent(
        &mut self,
        scope: &[u8],
        key: &str,
        answer: &StoredAnswer,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $3, content_type = $4, headers = $5, body = $6 \
             WHERE scope = $1 AND key = $2",
        )
        .bind(scope)
        .bind(key)
        .bind(i32::from(answer.status))
        .bind(&answer.content_type)
        .bind(&answer.headers)
        .bind(&answer.body)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn abandon_idempotent(&mut self, scope: &[u8], key: &str) -> StoreResult<()> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status IS NULL",
        )
        .bind(scope)
        .bind(key)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn prune_idempotent(&mut self, before: OffsetDateTime) -> StoreResult<u64> {
        let r = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(r.rows_affected())
    }
}
