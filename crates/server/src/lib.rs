//! The `roster` binary's library half: configuration and wiring (store, services, mail, web).

pub mod access_log;
pub mod config;
pub mod logging;
pub mod memory;
pub mod metrics;

use config::Config;
use roster_core::mailer::Mailer;
use roster_core::store::Store;
use roster_core::{Error, Services, StoreError};
use roster_mail::transport::DkimSettings;
use roster_mail::{LocalMailbox, OutboxWorker, Renderer, RetryPolicy, SmtpConfig, SmtpMailer};
use std::sync::Arc;

pub use roster_store_postgres::PgSettings;

/// Open the store named by the URL scheme (`sqlite:` or `postgres://`) and apply migrations.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open_store_with(url, &PgSettings::default()).await
}

pub async fn open_store_with(url: &str, pg: &PgSettings) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(roster_store_sqlite::SqliteStore::connect(url).await?)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Arc::new(roster_store_postgres::PgStore::connect(url, pg).await?)
    } else {
        return Err(StoreError::Unavailable(format!(
            "unsupported database URL scheme in {url:?}"
        )));
    };
    store.migrate().await?;
    Ok(store)
}

/// The mail renderer: names and addresses from the configuration, the built-in templates with
/// the operator's overrides, every one of them checked by rendering it with sample data.
pub fn renderer(cfg: &Config) -> Result<Renderer, roster_mail::TemplateError> {
    let mut r = Renderer::new(&cfg.product_name, cfg.base_url(), &cfg.mail_from)?;
    r.reply_to = cfg.mail_reply_to.clone();
    r.help = cfg.mail_help.clone();
    if let Some(d) = &cfg.mail_domain {
        r.message_domain = d.to_ascii_lowercase();
    }
    let templates = roster_mail::Templates::load(cfg.mail_templates_dir.as_deref())?;
    r.with_templates(templates)
}

/// The configured transport: SMTP when `smtp_url` is set, the local mailbox otherwise.
pub fn mailer(cfg: &Config) -> Result<Arc<dyn Mailer>, Error> {
    match &cfg.smtp_url {
        None => Ok(Arc::new(LocalMailbox::new(cfg.mailbox_dir()))),
        Some(url) => {
            let dkim = match (&cfg.dkim_selector, &cfg.dkim_domain, &cfg.dkim_key_file) {
                (Some(sel), Some(dom), Some(file)) => {
                    let key = std::fs::read_to_string(file).map_err(|e| {
                        Error::Internal(format!("cannot read DKIM key {}: {e}", file.display()))
                    })?;
                    Some(DkimSettings {
                        selector: sel.clone(),
                        domain: dom.clone(),
                        ed25519: !key.contains("BEGIN"),
                        private_key: key.trim().to_string(),
                    })
                }
                _ => None,
            };
            let m = SmtpMailer::new(&SmtpConfig {
                url: url.clone(),
                dkim,
                timeout: std::time::Duration::from_secs(cfg.smtp_timeout_secs),
                pool_size: u32::try_from(cfg.mail_concurrency).unwrap_or(8),
            })
            .map_err(|e| Error::Internal(e.message))?;
            Ok(Arc::new(m))
        }
    }
}

pub struct Wired {
    pub services: Arc<Services>,
    pub worker: OutboxWorker,
}

/// Everything but the listener.
pub async fn wire(cfg: &Config) -> Result<Wired, Error> {
    let store = open_store_with(&cfg.database_url(), &cfg.pg_settings()).await?;
    let settings = cfg.settings().map_err(|e| Error::Internal(e.to_string()))?;
    let services = Arc::new(Services::new(store.clone(), settings)?);
    let policy = RetryPolicy {
        give_up_after: time::Duration::hours(cfg.mail_retry_hours),
        concurrency: cfg.mail_concurrency,
        ..RetryPolicy::default()
    };
    let renderer = renderer(cfg).map_err(|e| Error::Internal(e.to_string()))?;
    let worker = OutboxWorker::new(store, mailer(cfg)?, renderer, policy).with_owner(cfg.node_id());
    Ok(Wired { services, worker })
}

/// The SQLite database file named by a `sqlite:` URL (`None` for PostgreSQL).
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let raw = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let raw = raw.split('?').next().unwrap_or(raw);
    (!raw.is_empty()).then(|| std::path::PathBuf::from(raw))
}

/// Held while `roster serve` runs on a SQLite file: a second server on the same data would run
/// a second mail worker and fight over the single writer, so it refuses to start.
#[derive(Debug)]
pub struct ServeLock {
    _file: std::fs::File,
    pub path: std::path::PathBuf,
}

/// Take the exclusive lock `<database file>.lock` (released by the OS when the process ends,
/// however it ends). PostgreSQL needs none: several nodes are the point of it.
pub fn lock_sqlite(db_url: &str) -> Result<Option<ServeLock>, String> {
    use std::io::{Read, Seek, Write};
    let Some(db) = sqlite_file(db_url) else {
        return Ok(None);
    };
    let mut name = db.clone().into_os_string();
    name.push(".lock");
    let path = std::path::PathBuf::from(name);
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            let who = if pid.is_empty() {
                String::new()
            } else {
                format!(" (pid {pid})")
            };
            return Err(format!(
                "another roster is already serving {}{who}; stop it first. \
                 The lock file is {}. To run several servers, use PostgreSQL (database_url = \"postgres://…\").",
                db.display(),
                path.display()
            ));
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(format!("cannot lock {}: {e}", path.display()));
        }
    }
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = write!(file, "{}", std::process::id());
    let _ = file.flush();
    Ok(Some(ServeLock { _file: file, path }))
}
