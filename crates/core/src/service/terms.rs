//! Journey: terms — versioned terms of use. An operator publishes a version (Markdown or HTML,
//! sanitised); every ID agrees to the current version at its next login before going on; each
//! agreement (version and time) is kept.

use super::{Actor, Ctx, Principal, Services};
use crate::error::StoreError;
use crate::error::{Error, Result};
use crate::model::*;

/// How long a node trusts its cached current version (a version published on another node, or
/// from the command line, applies everywhere within this time).
const TERMS_CACHE: std::time::Duration = std::time::Duration::from_secs(30);

/// The terms as a page shows them.
#[derive(Debug, Clone)]
pub struct TermsView {
    pub version: String,
    /// Sanitised HTML; `None` for the built-in terms (no version was ever published).
    pub body_html: Option<String>,
    pub published_at: Option<time::OffsetDateTime>,
}

/// Markdown (or HTML) → HTML with nothing that runs: no script, style, event handler, form or
/// frame; links get `rel="noopener noreferrer"`.
pub fn render_terms(source: &str, markdown: bool) -> String {
    let html = if markdown {
        let mut out = String::new();
        let parser =
            pulldown_cmark::Parser::new_ext(source, pulldown_cmark::Options::ENABLE_TABLES);
        pulldown_cmark::html::push_html(&mut out, parser);
        out
    } else {
        source.to_string()
    };
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer"))
        .clean(&html)
        .to_string()
}

impl Services {
    /// The current terms version: the most recently published one, or the built-in
    /// `settings.terms_version` while none was published.
    pub async fn current_terms_version(&self) -> Result<String> {
        if let Ok(cache) = self.terms_cache.lock()
            && let Some((v, at)) = cache.as_ref()
            && at.elapsed() < TERMS_CACHE
        {
            return Ok(v.clone());
        }
        let v = self.current_terms().await?.version;
        if let Ok(mut cache) = self.terms_cache.lock() {
            *cache = Some((v.clone(), std::time::Instant::now()));
        }
        Ok(v)
    }

    pub async fn current_terms(&self) -> Result<TermsView> {
        Ok(match self.read().await?.current_terms().await? {
            Some(t) => TermsView {
                version: t.version,
                body_html: Some(t.body_html),
                published_at: Some(t.published_at),
            },
            None => TermsView {
                version: self.settings.terms_version.clone(),
                body_html: None,
                published_at: None,
            },
        })
    }

    /// Operator: publish a new version (`version` defaults to the date). It becomes current at
    /// once; every ID agrees to it at its next login.
    pub async fn publish_terms(
        &self,
        ctx: &Ctx,
        version: Option<&str>,
        source: &str,
        markdown: bool,
    ) -> Result<TermsVersion> {
        let version = match version.map(str::trim) {
            Some(v) if !v.is_empty() => v.to_string(),
            _ => ctx.now.date().to_string(),
        };
        if version.chars().count() > 64 || version.chars().any(char::is_control) {
            return Err(Error::invalid(
                "version",
                "At most 64 characters, no control characters.",
            ));
        }
        let body_html = render_terms(source, markdown);
        if body_html.trim().is_empty() {
            return Err(Error::invalid("file", "The terms are empty."));
        }
        let t = TermsVersion {
            version,
            body_html,
            published_at: ctx.now,
        };
        let mut tx = self.begin().await?;
        tx.insert_terms(&t).await.map_err(|e| match e {
            StoreError::Unique => Error::invalid("version", "This version was already published."),
            e => e.into(),
        })?;
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Operator,
            "terms.published",
            Some(t.version.clone()),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        if let Ok(mut cache) = self.terms_cache.lock() {
            *cache = None;
        }
        Ok(t)
    }

    /// The caller agrees to `version`, which must be the current one.
    pub async fn accept_terms(&self, ctx: &Ctx, p: &Principal, version: &str) -> Result<()> {
        let current = self.current_terms_version().await?;
        if version.trim() != current {
            return Err(Error::invalid(
                "version",
                format!("The current version is {current}."),
            ));
        }
        let mut tx = self.begin().await?;
        tx.accept_terms(p.identity_id, &current, ctx.now).await?;
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Id(p),
            "terms.accepted",
            Some(current.clone()),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every terms version the caller agreed to and when, newest first.
    pub async fn my_terms_acceptances(
        &self,
        p: &Principal,
    ) -> Result<Vec<(String, time::OffsetDateTime)>> {
        Ok(self.read().await?.terms_acceptances(p.identity_id).await?)
    }
}
