//! Configuration: defaults < `roster.toml` (or `--config FILE`) < `ROSTER_*` environment.
//! Unknown keys and bad values stop start-up with a message naming them.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use roster_core::Settings;
use roster_core::password::{HashCost, PasswordPreset};
use roster_core::sealed::SecretKey;
use roster_core::service::{OidcSettings, QuestionMode, ThrottleLimits};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `sqlite:./data/roster.db` (default, derived from data_dir) or `postgres://…`.
    pub database_url: Option<String>,
    /// PostgreSQL: connections per node, statement timeout.
    pub database_max_connections: u32,
    pub database_statement_timeout_ms: u64,
    pub listen: SocketAddr,
    /// Public base URL used in links; defaults to `http://<listen>`.
    pub base_url: Option<String>,
    /// Holds the SQLite file and the local mailbox.
    pub data_dir: PathBuf,
    /// Unset → mail goes to the local mailbox `<data_dir>/mailbox`.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub product_name: String,
    pub invitation_ttl_days: i64,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    pub terms_version: String,
    pub password_policy: PasswordPreset,
    pub security_question: QuestionMode,
    pub dkim_selector: Option<String>,
    pub dkim_domain: Option<String>,
    pub dkim_key_file: Option<PathBuf>,
    /// Argon2id memory in KiB (minimum 19456) and iterations (minimum 2).
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub log: String,
    /// `text` (for people) or `json` (one object per line, for machines).
    pub log_format: LogFormat,
    /// Serve `/metrics` only on this address (e.g. `127.0.0.1:9100`), not on `listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names the client.
    /// Empty: the socket's peer is the client.
    pub trusted_proxies: Vec<String>,
    /// Requests per client address and window for login, second factor, forgot password,
    /// reset, accept and setup (`[throttle]` in the file; 0 turns one off).
    pub throttle: ThrottleLimits,
    /// 32 bytes, base64: seals authenticator-app secrets at rest. Unset: the key file
    /// `<data_dir>/secret.key`, created on first run. Several nodes must share one key.
    pub secret_key: Option<String>,
    /// How long temporary mail failures are retried (hours) before a message is failed.
    pub mail_retry_hours: i64,
    /// Optional Reply-To of every message (e.g. `Support <help@example.com>`).
    pub mail_reply_to: Option<String>,
    /// The domain of Message-IDs. Default: the domain of `mail_from` (a local one such as
    /// `localhost` gives `roster.invalid`: never `localhost`).
    pub mail_domain: Option<String>,
    /// How to get help, one sentence, in the Account Information email and seat receipts.
    pub mail_help: String,
    /// A folder of template overrides (files named like the built-in templates; see
    /// `roster mail preview`). A bad one stops start-up naming the file and line.
    pub mail_templates_dir: Option<PathBuf>,
    /// Messages sent at once over the SMTP connection pool.
    pub mail_concurrency: usize,
    /// SMTP connect and command timeout, seconds.
    pub smtp_timeout_secs: u64,
    /// After SIGTERM/SIGINT, how long in-flight requests may take to finish (seconds).
    pub shutdown_timeout_secs: u64,
    /// How long an admin notification waits for more of its kind, to send one summary.
    pub notify_group_seconds: i64,
    /// Webhook endpoints may be on loopback, link-local and private addresses, and plain
    /// http (development only: it lets admins make Roster call internal services).
    pub webhooks_allow_private: bool,
    /// OpenID Connect: how long access tokens live (seconds; they cannot be recalled from an
    /// application that validates them itself, so keep this short).
    pub oidc_access_token_seconds: i64,
    /// OpenID Connect: how long ID tokens live (seconds; at most a day).
    pub oidc_id_token_seconds: i64,
    /// OpenID Connect: how long an unused refresh token stays valid (days).
    pub oidc_refresh_token_days: i64,
    /// OpenID Connect: signing keys get a successor after this many days.
    pub oidc_key_rotation_days: i64,
    /// This node's name among several sharing one PostgreSQL (the mail worker records it on
    /// what it claims and takes its own claims back when it restarts). Default: the host name
    /// and the data folder. Must differ between nodes.
    pub node_id: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        let s = Settings::default();
        Config {
            database_url: None,
            database_max_connections: 16,
            database_statement_timeout_ms: 30_000,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            base_url: None,
            data_dir: PathBuf::from("./data"),
            smtp_url: None,
            mail_from: "Roster <no-reply@roster.localhost>".into(),
            product_name: s.product_name,
            invitation_ttl_days: 7,
            session_idle_minutes: s.session_idle.whole_minutes(),
            session_absolute_hours: s.session_absolute.whole_hours(),
            terms_version: s.terms_version,
            password_policy: PasswordPreset::Seed,
            security_question: QuestionMode::Required,
            dkim_selector: None,
            dkim_domain: None,
            dkim_key_file: None,
            argon2_memory_kib: s.hash_cost.memory_kib,
            argon2_iterations: s.hash_cost.iterations,
            log: "info".into(),
            log_format: LogFormat::Text,
            metrics_listen: None,
            trusted_proxies: Vec::new(),
            throttle: s.throttle,
            secret_key: None,
            mail_retry_hours: 24,
            mail_reply_to: None,
            mail_domain: None,
            mail_help: "Ask an administrator of your app, or contact support.".into(),
            mail_templates_dir: None,
            mail_concurrency: 8,
            smtp_timeout_secs: 30,
            shutdown_timeout_secs: 20,
            notify_group_seconds: 30,
            webhooks_allow_private: false,
            oidc_access_token_seconds: 300,
            oidc_id_token_seconds: 3600,
            oidc_refresh_token_days: 30,
            oidc_key_rotation_days: 30,
            node_id: None,
        }
    }
}

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One line per event for people (colours only on a terminal).
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `message` and the event's
    /// fields; a request's line has `request_id`, `route`, `status`, `duration_ms`, `app_id`,
    /// `actor_id`).
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(String),
    #[error("configuration: {key}: {message}")]
    Invalid { key: &'static str, message: String },
}

impl Config {
    /// Load from defaults, the file (`explicit` or `./roster.toml` if present) and `ROSTER_*`.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match explicit {
            Some(p) => {
                if !p.exists() {
                    return Err(ConfigError::Load(format!(
                        "config file {} does not exist",
                        p.display()
                    )));
                }
                fig = fig.merge(Toml::file_exact(p));
            }
            None => fig = fig.merge(Toml::file("roster.toml")),
        }
        // ROSTER_TEST_* variables belong to the test suite, ROSTER_CONFIG to the CLI.
        fig = fig.merge(Env::prefixed("ROSTER_").filter(|k| {
            let k = k.as_str().to_ascii_lowercase();
            !k.starts_with("test_") && k != "config"
        }));
        let cfg: Config = fig
            .extract()
            .map_err(|e| ConfigError::Load(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key, message: &str| {
            Err(ConfigError::Invalid {
                key,
                message: message.to_string(),
            })
        };
        let url = self.database_url();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return bad(
                "database_url",
                "must start with sqlite:, postgres:// or postgresql://",
            );
        }
        if !(1..=1000).contains(&self.database_max_connections) {
            return bad("database_max_connections", "must be between 1 and 1000");
        }
        if self.database_statement_timeout_ms < 100 {
            return bad("database_statement_timeout_ms", "must be at least 100");
        }
        let base = self.base_url();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return bad("base_url", "must start with http:// or https://");
        }
        if url::Url::parse(&base).is_err() {
            return bad("base_url", "is not a valid URL");
        }
        if !(1..=90).contains(&self.invitation_ttl_days) {
            return bad("invitation_ttl_days", "must be between 1 and 90");
        }
        if self.session_idle_minutes < 5 || self.session_absolute_hours < 1 {
            return bad(
                "session_idle_minutes",
                "idle timeout must be at least 5 minutes and absolute at least 1 hour",
            );
        }
        if self.argon2_memory_kib < 19 * 1024 || self.argon2_iterations < 2 {
            return bad(
                "argon2_memory_kib",
                "Argon2id needs at least 19456 KiB and 2 iterations (OWASP minimum)",
            );
        }
        if let Some(u) = &self.smtp_url
            && !(u.starts_with("smtp://") || u.starts_with("smtps://"))
        {
            return bad("smtp_url", "must start with smtp:// or smtps://");
        }
        if self.dkim_selector.is_some() != self.dkim_key_file.is_some() {
            return bad(
                "dkim_selector",
                "DKIM needs dkim_selector, dkim_domain and dkim_key_file together",
            );
        }
        if self.trusted_proxies().is_err() {
            return bad(
                "trusted_proxies",
                "each entry must be an IP address or a CIDR range such as 10.0.0.0/8",
            );
        }
        if self.secret_key.is_some() {
            self.secret_key()?;
        }
        if !(1..=168).contains(&self.mail_retry_hours) {
            return bad("mail_retry_hours", "must be between 1 and 168");
        }
        if self.throttle.window_seconds < 1 {
            return bad("throttle", "window_seconds must be at least 1");
        }
        if let Some(r) = &self.mail_reply_to
            && !valid_mailbox(r)
        {
            return bad(
                "mail_reply_to",
                "must be an address like Support <help@example.com>",
            );
        }
        if let Some(d) = &self.mail_domain
            && (d.is_empty()
                || !d.contains('.')
                || d.eq_ignore_ascii_case("localhost")
                || !d
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        {
            return bad(
                "mail_domain",
                "must be a domain name such as mail.example.com (not localhost)",
            );
        }
        if !(1..=64).contains(&self.mail_concurrency) {
            return bad("mail_concurrency", "must be between 1 and 64");
        }
        if !(1..=3600).contains(&self.shutdown_timeout_secs) {
            return bad("shutdown_timeout_secs", "must be between 1 and 3600");
        }
        if !(1..=600).contains(&self.smtp_timeout_secs) {
            return bad("smtp_timeout_secs", "must be between 1 and 600");
        }
        if !(0..=3600).contains(&self.notify_group_seconds) {
            return bad("notify_group_seconds", "must be between 0 and 3600");
        }
        if self.metrics_listen == Some(self.listen) {
            return bad(
                "metrics_listen",
                "must differ from listen (leave it unset to serve /metrics on listen)",
            );
        }
        if !valid_mailbox(&self.mail_from) {
            return bad(
                "mail_from",
                "must be an address like Roster <no-reply@example.com>",
            );
        }
        Ok(())
    }

    /// The trusted proxies, parsed (a bare address is a one-address range).
    pub fn trusted_proxies(&self) -> Result<Vec<ipnet::IpNet>, String> {
        self.trusted_proxies
            .iter()
            .map(|s| {
                let s = s.trim();
                s.parse::<ipnet::IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| s.to_string())
            })
            .collect()
    }

    pub fn pg_settings(&self) -> roster_store_postgres::PgSettings {
        roster_store_postgres::PgSettings {
            max_connections: self.database_max_connections,
            statement_timeout: std::time::Duration::from_millis(self.database_statement_timeout_ms),
            ..Default::default()
        }
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", self.data_dir.join("roster.db").display()))
    }

    /// The database URL without its password, for printing.
    pub fn database_url_redacted(&self) -> String {
        let raw = self.database_url();
        match url::Url::parse(&raw) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("***"));
                u.to_string()
            }
            _ => raw,
        }
    }

    /// `base_url`, or `http://<listen>` — with `localhost` for a loopback address, since
    /// passkeys (WebAuthn) refuse IP addresses as the site's name.
    pub fn base_url(&self) -> String {
        self.base_url
            .clone()
            .unwrap_or_else(|| {
                if self.listen.ip().is_loopback() {
                    format!("http://localhost:{}", self.listen.port())
                } else {
                    format!("http://{}", self.listen)
                }
            })
            .trim_end_matches('/')
            .to_string()
    }

    /// `node_id`, or `<host name>:<data folder>`.
    pub fn node_id(&self) -> String {
        if let Some(n) = &self.node_id {
            return n.clone();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "roster".into());
        let dir = std::fs::canonicalize(&self.data_dir).unwrap_or_else(|_| self.data_dir.clone());
        format!("{host}:{}", dir.display())
    }

    pub fn mailbox_dir(&self) -> PathBuf {
        self.data_dir.join("mailbox")
    }

    /// The secret key: `secret_key`, or the key file in the data folder (made on first run,
    /// readable by its owner only).
    pub fn secret_key(&self) -> Result<SecretKey, ConfigError> {
        use base64::Engine;
        let bad = |message: String| ConfigError::Invalid {
            key: "secret_key",
            message,
        };
        let decode = |s: &str| -> Result<SecretKey, ConfigError> {
            let b = base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .map_err(|_| bad("must be 32 bytes in base64 (openssl rand -base64 32)".into()))?;
            let b: [u8; 32] = b
                .try_into()
                .map_err(|_| bad("must be 32 bytes in base64 (openssl rand -base64 32)".into()))?;
            Ok(SecretKey::from_bytes(b))
        };
        if let Some(k) = &self.secret_key {
            return decode(k);
        }
        let path = self.data_dir.join("secret.key");
        match std::fs::read_to_string(&path) {
            Ok(s) => {
                decode(&s).map_err(|_| bad(format!("{} is not 32 bytes in base64", path.display())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut b = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
                let text = base64::engine::general_purpose::STANDARD.encode(b);
                std::fs::create_dir_all(&self.data_dir)
                    .map_err(|e| bad(format!("cannot create {}: {e}", self.data_dir.display())))?;
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                match opts.open(&path) {
                    Ok(mut f) => {
                        std::io::Write::write_all(&mut f, text.as_bytes())
                            .map_err(|e| bad(format!("cannot write {}: {e}", path.display())))?;
                        Ok(SecretKey::from_bytes(b))
                    }
                    // another process made it first: use theirs
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        let s = std::fs::read_to_string(&path)
                            .map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
                        decode(&s)
                    }
                    Err(e) => Err(bad(format!("cannot create {}: {e}", path.display()))),
                }
            }
            Err(e) => Err(bad(format!("cannot read {}: {e}", path.display()))),
        }
    }

    pub fn settings(&self) -> Result<Settings, ConfigError> {
        Ok(Settings {
            product_name: self.product_name.clone(),
            invitation_ttl: time::Duration::days(self.invitation_ttl_days),
            session_idle: time::Duration::minutes(self.session_idle_minutes),
            session_absolute: time::Duration::hours(self.session_absolute_hours),
            terms_version: self.terms_version.clone(),
            password_preset: self.password_policy,
            security_question: self.security_question,
            hash_cost: HashCost {
                memory_kib: self.argon2_memory_kib,
                iterations: self.argon2_iterations,
                lanes: 1,
            },
            throttle: self.throttle.clone(),
            secret_key: self.secret_key()?,
            public_url: self.base_url(),
            notify_group_window: time::Duration::seconds(self.notify_group_seconds),
            webhooks_allow_private: self.webhooks_allow_private,
            oidc: self.oidc_settings()?,
        })
    }

    fn oidc_settings(&self) -> Result<OidcSettings, ConfigError> {
        let check = |key: &'static str, v: i64, lo: i64, hi: i64| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(ConfigError::Invalid {
                    key,
                    message: format!("use {lo} to {hi}"),
                })
            }
        };
        check(
            "oidc_access_token_seconds",
            self.oidc_access_token_seconds,
            10,
            3600,
        )?;
        // a retired key stays published a day: no token may outlive that
        check(
            "oidc_id_token_seconds",
            self.oidc_id_token_seconds,
            60,
            86_400,
        )?;
        check(
            "oidc_refresh_token_days",
            self.oidc_refresh_token_days,
            1,
            365,
        )?;
        check(
            "oidc_key_rotation_days",
            self.oidc_key_rotation_days,
            1,
            365,
        )?;
        Ok(OidcSettings {
            access_token_ttl: time::Duration::seconds(self.oidc_access_token_seconds),
            id_token_ttl: time::Duration::seconds(self.oidc_id_token_seconds),
            refresh_token_ttl: time::Duration::days(self.oidc_refresh_token_days),
            key_rotation: time::Duration::days(self.oidc_key_rotation_days),
        })
    }
}

/// `Name <a@b.c>` or `a@b.c`: something a mail transport can use as From.
fn valid_mailbox(s: &str) -> bool {
    let addr = match (s.rfind('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        _ => s,
    };
    let addr = addr.trim();
    matches!(addr.rsplit_once('@'), Some((l, d)) if !l.is_empty() && !d.is_empty() && !addr.contains(' '))
}
