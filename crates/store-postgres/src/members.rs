//! Members of an app. SQL and row mapping, PostgreSQL.

use crate::Handle;
use crate::apps::prefixed_app_row;
use crate::member_list;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{MemberQueries, StoreResult};
use roster_core::types::*;
use sqlx::postgres::{PgConnection, PgRow};
use std::ops::DerefMut;
use uuid::Uuid;

macro_rules! member_cols {
    () => {
        "id, app_id, identity_id, email, first_name, last_name, kind, admin, status, holds_seat, \
         created_at, last_login_at"
    };
}

#[async_trait]
impl<C> MemberQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn insert_member(&mut self, m: &Member) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO members (",
            member_cols!(),
            ", email_norm) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(m.id.0)
        .bind(m.app_id.as_str())
        .bind(m.identity_id.map(|i| i.0))
        .bind(m.email.as_str())
        .bind(&m.first_name)
        .bind(&m.last_name)
        .bind(m.kind.as_str())
        .bind(m.admin)
        .bind(m.status.as_str())
        .bind(m.holds_seat)
        .bind(m.created_at)
        .bind(m.last_login_at)
        .bind(m.email.normalized())
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn update_member(&mut self, m: &Member) -> StoreResult<()> {
        sqlx::query(
            "UPDATE members SET identity_id = $3, email = $4, email_norm = $5, first_name = $6, \
             last_name = $7, kind = $8, admin = $9, status = $10, holds_seat = $11, \
             last_login_at = $12 WHERE app_id = $1 AND id = $2",
        )
        .bind(m.app_id.as_str())
        .bind(m.id.0)
        .bind(m.identity_id.map(|i| i.0))
        .bind(m.email.as_str())
        .bind(m.email.normalized())
        .bind(&m.first_name)
        .bind(&m.last_name)
        .bind(m.kind.as_str())
        .bind(m.admin)
        .bind(m.status.as_str())
        .bind(m.holds_seat)
        .bind(m.last_login_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_member(&mut self, app_id: &AppId, id: MemberId) -> StoreResult<Option<Member>> {
        sqlx::query(concat!(
            "SELECT ",
            member_cols!(),
            " FROM members WHERE app_id = $1 AND id = $2"
        ))
        .bind(app_id.as_str())
        .bind(id.0)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| member_row(&r))
        .transpose()
    }

    async fn find_member_by_email(
        &mut self,
        app_id: &AppId,
        email_norm: &str,
    ) -> StoreResult<Option<Member>> {
        sqlx::query(concat!(
            "SELECT ",
            member_cols!(),
            " FROM members WHERE app_id = $1 AND email_norm = $2"
        ))
        .bind(app_id.as_str())
        .bind(email_norm)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| member_row(&r))
        .transpose()
    }

    async fn find_member_by_identity(
        &mut self,
        app_id: &AppId,
        identity: IdentityId,
    ) -> StoreResult<Option<Member>> {
        sqlx::query(concat!(
            "SELECT ",
            member_cols!(),
            " FROM members WHERE app_id = $1 AND identity_id = $2"
        ))
        .bind(app_id.as_str())
        .bind(identity.0)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| member_row(&r))
        .transpose()
    }

    async fn member_access(
        &mut self,
        app_id: &AppId,
        identity: IdentityId,
    ) -> StoreResult<Option<MemberAccess>> {
        sqlx::query(concat!(
            "SELECT ",
            member_cols!(),
            ", (SELECT a.suspended_at IS NOT NULL FROM apps a WHERE a.app_id = $1) \
             AS app_suspended, \
             (SELECT a.require_second_factor FROM apps a WHERE a.app_id = $1) \
             AS app_requires_second_factor \
             FROM members WHERE app_id = $1 AND identity_id = $2"
        ))
        .bind(app_id.as_str())
        .bind(identity.0)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| {
            Ok(MemberAccess {
                member: member_row(&r)?,
                app_suspended: get::<Option<bool>>(&r, "app_suspended")?.unwrap_or(false),
                app_requires_second_factor: get::<Option<bool>>(&r, "app_requires_second_factor")?
                    .unwrap_or(false),
            })
        })
        .transpose()
    }

    async fn count_active_admins(&mut self, app_id: &AppId) -> StoreResult<i64> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM members WHERE app_id = $1 AND status = 'active' AND admin",
        )
        .bind(app_id.as_str())
        .fetch_one(self.c())
        .await
        .map_err(map_err)
    }

    async fn list_active_admins(&mut self, app_id: &AppId) -> StoreResult<Vec<Member>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            member_cols!(),
            " FROM members WHERE app_id = $1 AND status = 'active' AND admin ORDER BY email_norm"
        ))
        .bind(app_id.as_str())
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(member_row).collect()
    }

    async fn list_members(&mut self, app_id: &AppId, q: &MemberQuery) -> StoreResult<Vec<Member>> {
        let broad = self.broad_search(app_id, q).await?;
        let (sql, args) = member_list::statement(q, broad)?;
        let mut query = sqlx::query(sql)
            .bind(app_id.as_str())
            .bind(i64::from(q.limit));
        if let Some(a) = &q.after {
            query = query.bind(a.as_str());
        }
        for arg in args {
            query = query.bind(arg);
        }
        let rows = query.fetch_all(self.c()).await.map_err(map_err)?;
        rows.iter().map(member_row).collect()
    }

    async fn explain_list_members(
        &mut self,
        app_id: &AppId,
        q: &MemberQuery,
    ) -> StoreResult<String> {
        let broad = self.broad_search(app_id, q).await?;
        let (sql, args) = member_list::statement(q, broad)?;
        let explain = format!("EXPLAIN {sql}");
        let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(explain))
            .bind(app_id.as_str())
            .bind(i64::from(q.limit));
        if let Some(a) = &q.after {
            query = query.bind(a.as_str());
        }
        for arg in args {
            query = query.bind(arg);
        }
        let lines = query.fetch_all(self.c()).await.map_err(map_err)?;
        Ok(lines.join("\n"))
    }

    async fn list_memberships(&mut self, identity: IdentityId) -> StoreResult<Vec<(App, Member)>> {
        let rows = sqlx::query(
            "SELECT a.app_id AS a_app_id, a.name AS a_name, a.seats_purchased AS a_seats_purchased, \
             a.seats_complimentary AS a_seats_complimentary, a.seats_held AS a_seats_held, \
             a.created_at AS a_created_at, m.* FROM members m JOIN apps a ON a.app_id = m.app_id \
             WHERE m.identity_id = $1 AND m.status = 'active' ORDER BY a.name, a.app_id",
        )
        .bind(identity.0)
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| Ok((prefixed_app_row(r)?, member_row(r)?)))
            .collect()
    }

    async fn recount_seats_held(&mut self, app_id: &AppId) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE app_id = $1 AND holds_seat")
            .bind(app_id.as_str())
            .fetch_one(self.c())
            .await
            .map_err(map_err)
    }
}

impl<C: DerefMut<Target = PgConnection> + Send> Handle<C> {
    /// Whether a short search matches so many members of the app that reading the filter's
    /// index in order is cheaper than sorting the matches (3+ characters: the planner decides).
    async fn broad_search(&mut self, app_id: &AppId, q: &MemberQuery) -> StoreResult<bool> {
        let Some((from, to)) = q.prefix_range() else {
            return Ok(false);
        };
        let n: i64 = sqlx::query_scalar(member_list::COUNT_PREFIX)
            .bind(app_id.as_str())
            .bind(from)
            .bind(to)
            .fetch_one(self.c())
            .await
            .map_err(map_err)?;
        Ok(n >= MemberQuery::BROAD_MATCHES)
    }
}

pub(crate) fn member_row(r: &PgRow) -> Result<Member, StoreError> {
    let st: String = get(r, "status")?;
    Ok(Member {
        id: MemberId(get(r, "id")?),
        app_id: app_id(r, "app_id")?,
        identity_id: get::<Option<Uuid>>(r, "identity_id")?.map(IdentityId),
        email: email(r, "email")?,
        first_name: get(r, "first_name")?,
        last_name: get(r, "last_name")?,
        kind: kind(r)?,
        admin: get(r, "admin")?,
        status: MemberStatus::parse(&st).ok_or_else(|| bad("status", &st))?,
        holds_seat: get(r, "holds_seat")?,
        created_at: time(r, "created_at")?,
        last_login_at: opt_time(r, "last_login_at")?,
    })
}
