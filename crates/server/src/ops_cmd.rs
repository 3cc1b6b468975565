//! `roster restore FILE [--force]` (put a SQLite backup in place) and `roster doctor` (check
//! what a running Roster needs, one `ok` / `warn` / `FAIL` line each).

use crate::CliError;
use roster::config::{Config, ConfigError};
use roster_core::store::{MigrationState, Store};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Where the PostgreSQL way is written down.
const PG_DOCS: &str = "docs/deploy.md, section \"Backup and restore\"";

/// `roster restore FILE`: SQLite only. Checks the backup (integrity, a Roster database, no
/// migration newer than this binary's), takes the serve lock (no server may run), refuses a
/// database that holds data unless `force`, then puts a copy of the backup in its place.
pub(crate) async fn restore(file: &Path, force: bool, cfg: &Config) -> Result<(), CliError> {
    let url = cfg.database_url();
    let Some(target) = roster::sqlite_file(&url) else {
        return Err(CliError::new(format!(
            "restore puts SQLite backups in place; this configuration uses PostgreSQL ({}). \
             Restore PostgreSQL with pg_restore from a pg_dump archive: see {PG_DOCS}.",
            cfg.database_url_redacted()
        )));
    };
    let (src, dest) = (file.to_path_buf(), target.clone());
    if let (Ok(a), Ok(b)) = (std::fs::canonicalize(&src), std::fs::canonicalize(&dest))
        && a == b
    {
        return Err(CliError::new(format!(
            "{} is the database itself; restore from a backup file",
            file.display()
        )));
    }
    let check = blocking(move || roster_store_sqlite::check_backup(&src)).await?;
    if !check.problems.is_empty() {
        let shown: Vec<&str> = check.problems.iter().take(5).map(String::as_str).collect();
        return Err(CliError::new(format!(
            "{} failed SQLite's integrity check; nothing was changed:\n  {}",
            file.display(),
            shown.join("\n  ")
        )));
    }
    if !check.is_roster {
        return Err(CliError::new(format!(
            "{} is an SQLite database but not a Roster backup (it has no migration record); \
             nothing was changed",
            file.display()
        )));
    }
    if !check.migrations.unknown.is_empty() {
        return Err(CliError::new(format!(
            "{} was made by a newer Roster (migration(s) {:?} are unknown to this binary); \
             restore it with that release or a later one. Nothing was changed.",
            file.display(),
            check.migrations.unknown
        )));
    }
    // no server may use the database while it is replaced
    let _lock = roster::lock_sqlite(&url).map_err(|e| {
        CliError::new(format!(
            "{e}\nStop the server before restoring; nothing was changed."
        ))
    })?;
    let probe = target.clone();
    if blocking(move || roster_store_sqlite::holds_data(&probe)).await? && !force {
        return Err(CliError::new(format!(
            "{} already holds data; restoring would replace it. Move it away first, or run \
             `roster restore {} --force` to replace it.",
            target.display(),
            file.display()
        )));
    }
    let (src, dest2) = (file.to_path_buf(), dest.clone());
    blocking(move || roster_store_sqlite::restore_backup(&src, &dest2)).await?;
    println!("restored {} into {}", file.display(), dest.display());
    let m = &check.migrations;
    if m.pending.is_empty() {
        println!("migrations: {} applied, current", m.applied);
    } else {
        println!(
            "migrations: {} applied; {} newer ones are applied at the next start (or run `roster migrate`)",
            m.applied,
            m.pending.len()
        );
    }
    if cfg.secret_key.is_none() && !cfg.data_dir.join("secret.key").exists() {
        println!(
            "note: authenticator-app secrets in the backup are sealed with the secret key of the \
             server that made it. Put its secret.key in {} (or set secret_key) before starting.",
            cfg.data_dir.display()
        );
    }
    Ok(())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, roster_core::StoreError> + Send + 'static,
) -> Result<T, CliError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(CliError::new(match e {
            roster_core::StoreError::Other(m) | roster_core::StoreError::Unavailable(m) => m,
            e => e.to_string(),
        })),
        Err(e) => Err(CliError::new(format!("restore: {e}"))),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Ok,
    Warn,
    Fail,
}

#[derive(Default)]
struct Report {
    failed: usize,
}

impl Report {
    fn line(&mut self, v: Verdict, what: &str, detail: impl AsRef<str>) {
        let tag = match v {
            Verdict::Ok => "ok",
            Verdict::Warn => "warn",
            Verdict::Fail => {
                self.failed += 1;
                "FAIL"
            }
        };
        println!("{tag:<4}  {what}: {}", detail.as_ref());
    }
}

/// `roster doctor` when the configuration itself does not load: that one line, exit 1.
pub(crate) fn config_failed(e: &ConfigError) -> ExitCode {
    println!("FAIL  configuration: {e}");
    ExitCode::from(1)
}

/// `roster doctor`: configuration, database and migrations, mail transport, DKIM key, base
/// URL. Exit 1 when a check failed; warnings do not fail.
pub(crate) async fn doctor(cfg: &Config) -> Result<(), CliError> {
    let mut r = Report::default();
    check_config(&mut r, cfg);
    check_database(&mut r, cfg).await;
    check_mail(&mut r, cfg).await;
    check_dkim(&mut r, cfg);
    check_base_url(&mut r, cfg).await;
    if r.failed > 0 {
        return Err(CliError::new(format!("{} check(s) failed", r.failed)));
    }
    Ok(())
}

fn check_config(r: &mut Report, cfg: &Config) {
    let key_file = cfg.data_dir.join("secret.key");
    if cfg.secret_key.is_none() && !key_file.exists() {
        r.line(
            Verdict::Ok,
            "configuration",
            format!("loaded; listen {}, base URL {}", cfg.listen, cfg.base_url()),
        );
        r.line(
            Verdict::Warn,
            "secret key",
            format!(
                "{} does not exist yet (made at the first start; several nodes need the same one)",
                key_file.display()
            ),
        );
        return;
    }
    match cfg.settings() {
        Ok(_) => r.line(
            Verdict::Ok,
            "configuration",
            format!(
                "loaded; listen {}, base URL {}, secret key readable",
                cfg.listen,
                cfg.base_url()
            ),
        ),
        Err(e) => r.line(Verdict::Fail, "configuration", e.to_string()),
    }
}

fn describe(m: &MigrationState) -> (Verdict, String) {
    let total = m.applied + m.pending.len();
    let mut s = format!("{} of {total} migrations applied", m.applied);
    let mut v = Verdict::Ok;
    if !m.pending.is_empty() {
        v = Verdict::Warn;
        s.push_str(&format!(
            "; pending: {} (applied at the next start, or run `roster migrate`)",
            m.pending_names()
        ));
    }
    if !m.unknown.is_empty() {
        v = Verdict::Warn;
        s.push_str(&format!(
            "; {} applied by a newer release ({:?})",
            m.unknown.len(),
            m.unknown
        ));
    }
    (v, s)
}

async fn check_database(r: &mut Report, cfg: &Config) {
    let url = cfg.database_url();
    let shown = cfg.database_url_redacted();
    if let Some(file) = roster::sqlite_file(&url)
        && !file.exists()
    {
        r.line(
            Verdict::Warn,
            "database",
            format!("{shown}: the file does not exist yet (made at the first start)"),
        );
        return;
    }
    let opened: Result<Arc<dyn Store>, roster_core::StoreError> = if url.starts_with("sqlite:") {
        roster_store_sqlite::SqliteStore::connect(&url)
            .await
            .map(|s| Arc::new(s) as Arc<dyn Store>)
    } else {
        roster_store_postgres::PgStore::connect(&url, &cfg.pg_settings())
            .await
            .map(|s| Arc::new(s) as Arc<dyn Store>)
    };
    let state = match opened {
        Ok(store) => match store.read().await {
            Ok(mut q) => q.migration_state().await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match state {
        Ok(m) => {
            let (v, s) = describe(&m);
            r.line(v, "database", format!("{shown} answers; {s}"));
        }
        Err(e) => r.line(Verdict::Fail, "database", format!("{shown}: {e}")),
    }
}

/// `host:port` of an SMTP URL and how it is secured, without credentials.
fn smtp_target(raw: &str) -> (String, &'static str) {
    let Ok(u) = url::Url::parse(raw) else {
        return ("(unreadable URL)".into(), "");
    };
    let host = u.host_str().unwrap_or("?");
    let tls = u
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.to_string());
    let (port, mode) = match (u.scheme(), tls.as_deref()) {
        ("smtps", _) => (465, "implicit TLS"),
        (_, Some("required")) => (587, "STARTTLS"),
        (_, Some("opportunistic")) => (587, "STARTTLS when offered"),
        _ => (25, "plain"),
    };
    (format!("{host}:{}", u.port().unwrap_or(port)), mode)
}

async fn check_mail(r: &mut Report, cfg: &Config) {
    let Some(url) = &cfg.smtp_url else {
        let dir = cfg.mailbox_dir();
        let probe = dir.join(format!(".doctor-{}", std::process::id()));
        let res = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&probe, b"doctor"))
            .and_then(|()| std::fs::remove_file(&probe));
        match res {
            Ok(()) => r.line(
                Verdict::Ok,
                "mail",
                format!("local mailbox {} is writable", dir.display()),
            ),
            Err(e) => r.line(
                Verdict::Fail,
                "mail",
                format!("local mailbox {}: {e}", dir.display()),
            ),
        }
        return;
    };
    use lettre::{AsyncSmtpTransport, Tokio1Executor};
    let (target, mode) = smtp_target(url);
    let timeout = Duration::from_secs(cfg.smtp_timeout_secs.min(30));
    let transport = match AsyncSmtpTransport::<Tokio1Executor>::from_url(url) {
        Ok(b) => b.timeout(Some(timeout)).build::<Tokio1Executor>(),
        Err(e) => {
            r.line(Verdict::Fail, "mail", format!("SMTP URL: {e}"));
            return;
        }
    };
    // connect, EHLO, STARTTLS and log in as configured, then NOOP
    match tokio::time::timeout(timeout * 2, transport.test_connection()).await {
        Ok(Ok(true)) => r.line(
            Verdict::Ok,
            "mail",
            format!("SMTP {target} ({mode}) answered EHLO and NOOP"),
        ),
        Ok(Ok(false)) => r.line(
            Verdict::Fail,
            "mail",
            format!("SMTP {target} ({mode}) did not answer NOOP"),
        ),
        Ok(Err(e)) => r.line(
            Verdict::Fail,
            "mail",
            format!("SMTP {target} ({mode}): {e}"),
        ),
        Err(_) => r.line(
            Verdict::Fail,
            "mail",
            format!(
                "SMTP {target} ({mode}): no answer within {} s",
                (timeout * 2).as_secs()
            ),
        ),
    }
}

fn check_dkim(r: &mut Report, cfg: &Config) {
    let (Some(selector), Some(domain), Some(file)) =
        (&cfg.dkim_selector, &cfg.dkim_domain, &cfg.dkim_key_file)
    else {
        if cfg.smtp_url.is_some() {
            r.line(
                Verdict::Warn,
                "DKIM",
                "not configured: mail goes out unsigned",
            );
        } else {
            r.line(Verdict::Ok, "DKIM", "not needed for the local mailbox");
        }
        return;
    };
    let key = match std::fs::read_to_string(file) {
        Ok(k) => k,
        Err(e) => {
            r.line(
                Verdict::Fail,
                "DKIM",
                format!("cannot read {}: {e}", file.display()),
            );
            return;
        }
    };
    use lettre::message::dkim::{DkimSigningAlgorithm, DkimSigningKey};
    // as the transport reads it: PEM is RSA, anything else base64 of an Ed25519 secret
    let (alg, name) = if key.contains("BEGIN") {
        (DkimSigningAlgorithm::Rsa, "RSA")
    } else {
        (DkimSigningAlgorithm::Ed25519, "Ed25519")
    };
    match DkimSigningKey::new(key.trim(), alg) {
        Ok(_) => r.line(
            Verdict::Ok,
            "DKIM",
            format!(
                "{name} key {} readable; publish its public key at {selector}._domainkey.{domain}",
                file.display()
            ),
        ),
        Err(e) => r.line(
            Verdict::Fail,
            "DKIM",
            format!("{} is not a usable {name} key: {e}", file.display()),
        ),
    }
}

fn http_client() -> Result<reqwest::Client, String> {
    roster_webhooks::install_crypto_provider();
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(3))
        .user_agent("roster-doctor")
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

async fn check_base_url(r: &mut Report, cfg: &Config) {
    let url = format!("{}/healthz", cfg.base_url());
    let answer = match http_client() {
        Ok(c) => match c.get(&url).send().await {
            Ok(res) if res.status().is_success() => Ok(()),
            Ok(res) => Err(format!("answered {}", res.status().as_u16())),
            Err(e) => Err(e.to_string()),
        },
        Err(e) => Err(e),
    };
    let why = match answer {
        Ok(()) => {
            r.line(Verdict::Ok, "base URL", format!("{url} answers"));
            return;
        }
        Err(why) => why,
    };
    // is a server listening here at all? If `listen` can be bound, none is.
    let running = match std::net::TcpListener::bind(cfg.listen) {
        Ok(_) => false,
        Err(e) => e.kind() == std::io::ErrorKind::AddrInUse,
    };
    if running {
        r.line(
            Verdict::Fail,
            "base URL",
            format!(
                "{url}: {why} (something listens on {}: check base_url, DNS and the proxy)",
                cfg.listen
            ),
        );
    } else {
        r.line(
            Verdict::Warn,
            "base URL",
            format!(
                "{url}: {why} (no server listens on {} here: start it and run again)",
                cfg.listen
            ),
        );
    }
}
