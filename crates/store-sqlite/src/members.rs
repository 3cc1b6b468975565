//! Members of an app. SQL and row mapping, SQLite.

use crate::apps::app_at;
use crate::member_list::{self, SearchPlan};
use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{MemberQueries, StoreResult};
use roster_core::types::*;
use rusqlite::Row;

macro_rules! member_cols {
    () => {
        "id, app_id, identity_id, email, first_name, last_name, kind, admin, status, holds_seat, \
         created_at, last_login_at"
    };
}

#[async_trait]
impl<C: HasConn> MemberQueries for Handle<C> {
    async fn insert_member(&mut self, m: &Member) -> StoreResult<()> {
        self.exec(
            concat!(
                "INSERT INTO members (",
                member_cols!(),
                ", email_norm) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
            ),
            rusqlite::params![
                m.id.0,
                m.app_id.as_str(),
                m.identity_id.map(|i| i.0),
                m.email.as_str(),
                &m.first_name,
                &m.last_name,
                m.kind.as_str(),
                m.admin,
                m.status.as_str(),
                m.holds_seat,
                ms(m.created_at),
                m.last_login_at.map(ms),
                m.email.normalized()
            ],
        )?;
        Ok(())
    }

    async fn update_member(&mut self, m: &Member) -> StoreResult<()> {
        self.exec(
            "UPDATE members SET identity_id = ?3, email = ?4, email_norm = ?5, first_name = ?6, \
             last_name = ?7, kind = ?8, admin = ?9, status = ?10, holds_seat = ?11, \
             last_login_at = ?12 WHERE app_id = ?1 AND id = ?2",
            rusqlite::params![
                m.app_id.as_str(),
                m.id.0,
                m.identity_id.map(|i| i.0),
                m.email.as_str(),
                m.email.normalized(),
                &m.first_name,
                &m.last_name,
                m.kind.as_str(),
                m.admin,
                m.status.as_str(),
                m.holds_seat,
                m.last_login_at.map(ms)
            ],
        )?;
        Ok(())
    }

    async fn get_member(&mut self, app_id: &AppId, id: MemberId) -> StoreResult<Option<Member>> {
        self.one(
            concat!(
                "SELECT ",
                member_cols!(),
                " FROM members WHERE app_id = ?1 AND id = ?2"
            ),
            rusqlite::params![app_id.as_str(), id.0],
            member_row,
        )
    }

    async fn find_member_by_email(
        &mut self,
        app_id: &AppId,
        email_norm: &str,
    ) -> StoreResult<Option<Member>> {
        self.one(
            concat!(
                "SELECT ",
                member_cols!(),
                " FROM members WHERE app_id = ?1 AND email_norm = ?2"
            ),
            rusqlite::params![app_id.as_str(), email_norm],
            member_row,
        )
    }

    async fn find_member_by_identity(
        &mut self,
        app_id: &AppId,
        identity: IdentityId,
    ) -> StoreResult<Option<Member>> {
        self.one(
            concat!(
                "SELECT ",
                member_cols!(),
                " FROM members WHERE app_id = ?1 AND identity_id = ?2"
            ),
            rusqlite::params![app_id.as_str(), identity.0],
            member_row,
        )
    }

    async fn member_access(
        &mut self,
        app_id: &AppId,
        identity: IdentityId,
    ) -> StoreResult<Option<MemberAccess>> {
        self.one(
            concat!(
                "SELECT ",
                member_cols!(),
                ", (SELECT a.suspended_at IS NOT NULL FROM apps a WHERE a.app_id = ?1), \
                 (SELECT a.require_second_factor FROM apps a WHERE a.app_id = ?1) \
                 FROM members WHERE app_id = ?1 AND identity_id = ?2"
            ),
            rusqlite::params![app_id.as_str(), identity.0],
            |r| {
                Ok(MemberAccess {
                    member: member_row(r)?,
                    app_suspended: get::<Option<i64>>(r, 12)?.is_some_and(|v| v != 0),
                    app_requires_second_factor: get::<Option<i64>>(r, 13)?.is_some_and(|v| v != 0),
                })
            },
        )
    }

    async fn count_active_admins(&mut self, app_id: &AppId) -> StoreResult<i64> {
        self.scalar(
            "SELECT COUNT(*) FROM members WHERE app_id = ?1 AND status = 'active' AND admin = 1",
            rusqlite::params![app_id.as_str()],
        )
    }

    async fn list_active_admins(&mut self, app_id: &AppId) -> StoreResult<Vec<Member>> {
        self.all(
            concat!(
                "SELECT ",
                member_cols!(),
                " FROM members WHERE app_id = ?1 AND status = 'active' AND admin = 1 ORDER BY email_norm"
            ),
            rusqlite::params![app_id.as_str()],
            member_row,
        )
    }

    async fn list_members(&mut self, app_id: &AppId, q: &MemberQuery) -> StoreResult<Vec<Member>> {
        let plan = self.search_plan(app_id, q)?;
        let (sql, params) = member_list::statement(app_id.as_str(), q, &plan)?;
        self.all(sql, rusqlite::params_from_iter(params), member_row)
    }

    async fn explain_list_members(
        &mut self,
        app_id: &AppId,
        q: &MemberQuery,
    ) -> StoreResult<String> {
        let plan = self.search_plan(app_id, q)?;
        let (sql, params) = member_list::statement(app_id.as_str(), q, &plan)?;
        let mut out = String::new();
        if let SearchPlan::Substring { fts, .. } = &plan {
            // the matches are found first: that statement's plan too, with its FTS query
            let query = [rusqlite::types::Value::Text(fts.clone())];
            out.push_str("matches:\n");
            out.push_str(&self.query_plan(member_list::MATCHES, &query)?);
            out.push_str("\npage:\n");
        }
        out.push_str(&self.query_plan(sql, &params)?);
        Ok(out)
    }

    async fn list_memberships(&mut self, identity: IdentityId) -> StoreResult<Vec<(App, Member)>> {
        self.all(
            "SELECT a.app_id, a.name, a.seats_purchased, a.seats_complimentary, a.seats_held, \
             a.created_at, m.id, m.app_id, m.identity_id, m.email, m.first_name, m.last_name, \
             m.kind, m.admin, m.status, m.holds_seat, m.created_at, m.last_login_at \
             FROM members m JOIN apps a ON a.app_id = m.app_id \
             WHERE m.identity_id = ?1 AND m.status = 'active' ORDER BY a.name, a.app_id",
            rusqlite::params![identity.0],
            |r| Ok((app_at(r, 0)?, member_at(r, 6)?)),
        )
    }

    async fn recount_seats_held(&mut self, app_id: &AppId) -> StoreResult<i64> {
        self.scalar(
            "SELECT COUNT(*) FROM members WHERE app_id = ?1 AND holds_seat = 1",
            rusqlite::params![app_id.as_str()],
        )
    }
}

impl<C: HasConn> Handle<C> {
    /// `EXPLAIN QUERY PLAN` of a statement, one line per step (children indented).
    fn query_plan(&mut self, sql: &str, params: &[rusqlite::types::Value]) -> StoreResult<String> {
        let lines = self.all(
            &format!("EXPLAIN QUERY PLAN {sql}"),
            rusqlite::params_from_iter(params),
            |r| {
                let parent: i64 = get(r, 1)?;
                let detail: String = get(r, 3)?;
                Ok((parent, detail))
            },
        )?;
        Ok(lines
            .into_iter()
            .map(|(parent, d)| format!("{}{d}", if parent == 0 { "" } else { "  " }))
            .collect::<Vec<_>>()
            .join("\n"))
    }

    /// How the query's search runs: the matches counted (or, for 3+ characters, found) first,
    /// each count stopping at the threshold (`MemberQuery::BROAD_MATCHES`).
    fn search_plan(&mut self, app_id: &AppId, q: &MemberQuery) -> StoreResult<SearchPlan> {
        use member_list::{COUNT_MATCHES, COUNT_PREFIX, MATCHES};
        let broad = MemberQuery::BROAD_MATCHES;
        let Some((term, long)) = q.search_shape() else {
            return Ok(SearchPlan::None);
        };
        if !long {
            let n = match q.prefix_range() {
                Some((from, to)) => {
                    self.scalar(COUNT_PREFIX, rusqlite::params![app_id.as_str(), from, to])?
                }
                None => 0,
            };
            return Ok(SearchPlan::Prefix { broad: n >= broad });
        }
        // a long term: its rarer trigrams drive (none at all means no match); a term of up to
        // `PHRASE_TRIGRAMS` trigrams is matched as one phrase (fewer lists to read than probes)
        let probed = member_list::probe_trigrams(term);
        let mut rare = Vec::new();
        if probed.len() > member_list::PHRASE_TRIGRAMS {
            for phrase in &probed {
                let n = self.scalar(COUNT_MATCHES, [phrase])?;
                if n == 0 {
                    return Ok(SearchPlan::Substring {
                        fts: phrase.clone(),
                        seqs: Vec::new(),
                    });
                }
                if n < broad {
                    rare.push(phrase.clone());
                }
            }
        }
        let query = if rare.is_empty() {
            member_list::fts_phrase(term)
        } else {
            member_list::all_of(&rare)
        };
        let seqs = self.all(MATCHES, [&query], |r| get::<i64>(r, 0))?;
        Ok(if seqs.len() as i64 >= broad {
            SearchPlan::BroadSubstring
        } else {
            SearchPlan::Substring { fts: query, seqs }
        })
    }
}

pub(crate) fn member_row(r: &Row<'_>) -> Result<Member, StoreError> {
    member_at(r, 0)
}

pub(crate) fn member_at(r: &Row<'_>, b: usize) -> Result<Member, StoreError> {
    let st: String = get(r, b + 8)?;
    Ok(Member {
        id: MemberId(uuid(r, b)?),
        app_id: app_id(r, b + 1)?,
        identity_id: opt_uuid(r, b + 2)?.map(IdentityId),
        email: email(r, b + 3)?,
        first_name: get(r, b + 4)?,
        last_name: get(r, b + 5)?,
        kind: kind(r, b + 6)?,
        admin: get(r, b + 7)?,
        status: MemberStatus::parse(&st).ok_or_else(|| bad("status", &st))?,
        holds_seat: get(r, b + 9)?,
        created_at: time(r, b + 10)?,
        last_login_at: opt_time(r, b + 11)?,
    })
}
