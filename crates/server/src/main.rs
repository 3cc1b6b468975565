//! `roster`: runs the server and does operator tasks.

mod id_terms;
mod mail_cmd;
mod oidc_cmd;
mod operator_cmd;
mod ops_cmd;

use clap::{Parser, Subcommand};
use id_terms::{IdCmd, TermsCmd};
use mail_cmd::{MailCmd, OutboxCmd};
use oidc_cmd::{ClientCmd, KeysCmd};
use operator_cmd::OperatorCmd;
use roster::config::Config;
use roster_core::model::{SeatEntryKind, SeatRequestStatus};
use roster_core::service::CreateApp;
use roster_core::types::{AppId, SeatRequestId};
use roster_core::{Ctx, Error};
use std::path::PathBuf;
use std::process::ExitCode;
use time::OffsetDateTime;

#[derive(Parser)]
#[command(
    name = "roster",
    version,
    about = "Roster: user administration, invitations, seats and IDs"
)]
struct Cli {
    /// Configuration file (default: ./roster.toml if present). ROSTER_* variables override it.
    #[arg(long, global = true, env = "ROSTER_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the web server and the mail worker.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Apps (tenants).
    App {
        #[command(subcommand)]
        cmd: AppCmd,
    },
    /// Seats of an app.
    Seats {
        #[command(subcommand)]
        cmd: SeatsCmd,
    },
    /// The local mailbox (where mail goes when no SMTP server is configured).
    Mail {
        #[command(subcommand)]
        cmd: MailCmd,
    },
    /// The outbox of queued and sent messages.
    Outbox {
        #[command(subcommand)]
        cmd: OutboxCmd,
    },
    /// Copy the SQLite database to FILE while the server runs.
    Backup { file: PathBuf },
    /// Put a backup made by `roster backup` in place of the SQLite database (the server must
    /// be stopped). Refuses a database that holds data unless --force.
    Restore {
        file: PathBuf,
        /// Replace a database that holds data.
        #[arg(long)]
        force: bool,
    },
    /// Check the configuration, database, mail transport, DKIM key and base URL: one line each.
    Doctor,
    /// IDs (people).
    Id {
        #[command(subcommand)]
        cmd: IdCmd,
    },
    /// Versioned terms of use.
    Terms {
        #[command(subcommand)]
        cmd: TermsCmd,
    },
    /// Roster's operators (support): who may open the console at /operator.
    Operator {
        #[command(subcommand)]
        cmd: OperatorCmd,
    },
    /// OpenID Connect clients ("Sign in with your Roster ID").
    Client {
        #[command(subcommand)]
        cmd: ClientCmd,
    },
    /// OpenID Connect signing keys.
    Keys {
        #[command(subcommand)]
        cmd: KeysCmd,
    },
}

#[derive(Subcommand)]
enum AppCmd {
    /// Create an app and invite its first admin.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value_t = 5)]
        seats: i64,
        #[arg(long)]
        admin_email: String,
        #[arg(long)]
        admin_first_name: String,
        #[arg(long)]
        admin_last_name: Option<String>,
    },
    /// Show an app by App ID: seats, ledger.
    Show { app_id: String },
    /// Apps by name (all, or those whose App ID or name matches QUERY, or where an ID with
    /// that email is a member).
    List { query: Option<String> },
    /// Suspend an app: its members cannot use it (pages, API keys, tokens) until resumed.
    Suspend { app_id: String },
    /// Resume a suspended app.
    Resume { app_id: String },
}

#[derive(Subcommand)]
enum SeatsCmd {
    /// Add seats to an app (complimentary unless --purchased); with --request, in answer to that
    /// seat request, which is closed as granted.
    Grant {
        app_id: String,
        /// Seats to add (default: 1, or what the request asked for).
        #[arg(long)]
        quantity: Option<i64>,
        #[arg(long)]
        purchased: bool,
        /// The seat request this grant answers (see `roster seats requests`).
        #[arg(long)]
        request: Option<String>,
    },
    /// List seat requests ("ask support for a seat") with their ids and outcome, newest first:
    /// of one app, or of every app.
    Requests {
        app_id: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Answer a seat request: grant (default: what was asked; complimentary) or --decline;
    /// the admin who asked is emailed the outcome and the note.
    Answer {
        app_id: String,
        request: String,
        #[arg(long)]
        decline: bool,
        #[arg(long, conflicts_with = "decline")]
        quantity: Option<i64>,
        #[arg(long)]
        note: Option<String>,
    },
}

fn main() -> ExitCode {
    roster::memory::return_large_buffers_to_the_system();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(async_main()),
        Err(e) => {
            eprintln!("roster: cannot start the async runtime: {e}");
            ExitCode::from(1)
        }
    }
}

async fn async_main() -> ExitCode {
    roster_webhooks::install_crypto_provider();
    let cli = Cli::parse();
    let cfg = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) if matches!(cli.cmd, Cmd::Doctor) => return ops_cmd::config_failed(&e),
        Err(e) => {
            eprintln!("roster: {e}");
            return ExitCode::from(2);
        }
    };
    roster::logging::init(&cfg);
    match run(cli.cmd, cfg).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("roster: {}", e.message);
            ExitCode::from(e.exit)
        }
    }
}

/// What the CLI prints on failure: a sentence naming the flag and the reason, never a bare
/// "invalid input" or "internal error".
#[derive(Debug)]
struct CliError {
    message: String,
    exit: u8,
}

impl CliError {
    fn new(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            exit: 1,
        }
    }

    /// A core error, with its fields named by the flags they came from: `(field, flag, value)`.
    fn from_core(e: Error, flags: &[(&str, &str, &str)]) -> Self {
        let message = match &e {
            Error::Invalid(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(
                        |f| match flags.iter().find(|(field, ..)| *field == f.field) {
                            Some((_, flag, value)) if f.field == "email" => {
                                format!("{flag}: {value:?} is not an email address ({})", f.message)
                            }
                            Some((_, flag, value)) => format!("{flag}: {value:?}: {}", f.message),
                            None => format!("{}: {}", f.field, f.message),
                        },
                    )
                    .collect();
                return CliError {
                    message: parts.join("\n"),
                    exit: 2,
                };
            }
            Error::NotFound => "not found".to_string(),
            Error::Store(roster_core::StoreError::Unavailable(m)) => {
                format!("the database is unavailable: {m}")
            }
            Error::Internal(m) => m.clone(),
            other => other.to_string(),
        };
        CliError { message, exit: 1 }
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        CliError::from_core(e, &[])
    }
}

impl From<roster_core::StoreError> for CliError {
    fn from(e: roster_core::StoreError) -> Self {
        CliError::from_core(Error::Store(e), &[])
    }
}

fn app_id_arg(raw: &str) -> Result<AppId, CliError> {
    AppId::parse(raw).map_err(|e| CliError::from_core(e, &[("app_id", "APP_ID", raw)]))
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

async fn run(cmd: Cmd, cfg: Config) -> Result<(), CliError> {
    match cmd {
        Cmd::Serve => serve(cfg).await,
        Cmd::Migrate => {
            let store = roster::open_store_with(&cfg.database_url(), &cfg.pg_settings()).await?;
            println!("migrations applied to {}", cfg.database_url_redacted());
            let mut conflicts = store.email_norm_conflicts().await?;
            if !conflicts.is_empty() {
                // rows reported earlier may have been fixed by hand since: check them again
                let report = store.renormalize_emails().await?;
                if report.updated > 0 {
                    println!("{} normalised email(s) recomputed", report.updated);
                }
                conflicts = report.conflicts;
            }
            if !conflicts.is_empty() {
                println!(
                    "{} row(s) kept their old normalised email (email_norm_v2 did not merge or \
                     change them; resolve by hand, then run `roster migrate` again):",
                    conflicts.len()
                );
                for line in conflicts {
                    println!("  {line}");
                }
            }
            Ok(())
        }
        Cmd::App { cmd } => match cmd {
            AppCmd::Create {
                name,
                seats,
                admin_email,
                admin_first_name,
                admin_last_name,
            } => {
                let w = roster::wire(&cfg).await?;
                let flags = [
                    ("email", "--admin-email", admin_email.clone()),
                    ("name", "--name", name.clone()),
                    (
                        "admin_first_name",
                        "--admin-first-name",
                        admin_first_name.clone(),
                    ),
                    (
                        "admin_last_name",
                        "--admin-last-name",
                        admin_last_name.clone().unwrap_or_default(),
                    ),
                    ("seats", "--seats", seats.to_string()),
                ];
                let flags: Vec<(&str, &str, &str)> =
                    flags.iter().map(|(a, b, c)| (*a, *b, c.as_str())).collect();
                let (app, issued) = w
                    .services
                    .create_app(
                        &Ctx::at(now()),
                        CreateApp {
                            name,
                            seats,
                            admin_email,
                            admin_first_name,
                            admin_last_name,
                        },
                    )
                    .await
                    .map_err(|e| CliError::from_core(e, &flags))?;
                let report = w.worker.drain(now()).await?;
                println!("Created app {:?} with App ID {}", app.name, app.app_id);
                println!("Seats: {}", app.seats_total());
                println!(
                    "First admin {} invited (email {}).",
                    issued.invitation.email,
                    if report.sent > 0 { "sent" } else { "queued" }
                );
                println!("Accept link: {}/invite/{}", cfg.base_url(), issued.token);
                Ok(())
            }
            AppCmd::List { query } => operator_cmd::app_list(query, cfg).await,
            AppCmd::Suspend { app_id } => operator_cmd::app_suspend(&app_id, true, cfg).await,
            AppCmd::Resume { app_id } => operator_cmd::app_suspend(&app_id, false, cfg).await,
            AppCmd::Show { app_id } => {
                let app_id = app_id_arg(&app_id)?;
                let w = roster::wire(&cfg).await?;
                let (app, seats, ledger) =
                    w.services.app_overview(&Ctx::at(now()), &app_id).await?;
                println!("{} ({})", app.name, app.app_id);
                println!(
                    "seats: {} used of {} ({} purchased + {} complimentary), {} available",
                    seats.used, seats.total, seats.purchased, seats.complimentary, seats.available
                );
                for l in ledger {
                    println!(
                        "  {}  {:+}  by {}: {}",
                        l.entry.at, l.entry.quantity, l.who, l.why
                    );
                }
                Ok(())
            }
        },
        Cmd::Seats { cmd } => seats(cmd, cfg).await,
        Cmd::Mail { cmd } => mail_cmd::mail(cmd, cfg).await,
        Cmd::Outbox { cmd } => mail_cmd::outbox(cmd, cfg).await,
        Cmd::Terms { cmd } => id_terms::terms(cmd, cfg).await,
        Cmd::Id { cmd } => id_terms::id(cmd, cfg).await,
        Cmd::Operator { cmd } => operator_cmd::operator(cmd, cfg).await,
        Cmd::Client { cmd } => oidc_cmd::client(cmd, cfg).await,
        Cmd::Keys { cmd } => oidc_cmd::keys(cmd, cfg).await,
        Cmd::Restore { file, force } => ops_cmd::restore(&file, force, &cfg).await,
        Cmd::Doctor => ops_cmd::doctor(&cfg).await,
        Cmd::Backup { file } => {
            let url = cfg.database_url();
            if !url.starts_with("sqlite:") {
                return Err(CliError::new(
                    "backup copies SQLite databases; use pg_dump for PostgreSQL",
                ));
            }
            if file.exists() {
                return Err(CliError::new(format!(
                    "{} already exists; choose a new file name",
                    file.display()
                )));
            }
            let store = roster_store_sqlite::SqliteStore::connect(&url).await?;
            store.backup(&file.to_string_lossy()).await?;
            println!("backed up {url} to {}", file.display());
            Ok(())
        }
    }
}

async fn seats(cmd: SeatsCmd, cfg: Config) -> Result<(), CliError> {
    match cmd {
        SeatsCmd::Answer {
            app_id,
            request,
            decline,
            quantity,
            note,
        } => operator_cmd::seats_answer(&app_id, &request, decline, quantity, note, cfg).await,
        SeatsCmd::Grant {
            app_id,
            quantity,
            purchased,
            request,
        } => {
            let app_id = app_id_arg(&app_id)?;
            let request = request
                .map(|raw| {
                    raw.trim().parse::<SeatRequestId>().map_err(|_| CliError {
                        message: format!(
                            "--request: {raw:?} is not a seat request id \
                                 (see `roster seats requests {app_id}`)"
                        ),
                        exit: 2,
                    })
                })
                .transpose()?;
            let w = roster::wire(&cfg).await?;
            let kind = if purchased {
                SeatEntryKind::Purchase
            } else {
                SeatEntryKind::Complimentary
            };
            let q = quantity.map(|q| q.to_string()).unwrap_or_default();
            let rq = request.map(|r| r.to_string()).unwrap_or_default();
            let flags = [
                ("quantity", "--quantity", q.as_str()),
                ("request", "--request", rq.as_str()),
            ];
            let fail = |e: Error| match e {
                Error::NotFound => CliError::new(format!("APP_ID: no app {app_id}")),
                e => CliError::from_core(e, &flags),
            };
            let app = match request {
                Some(id) => {
                    let (app, r) = w
                        .services
                        .grant_seat_request(&Ctx::at(now()), &app_id, id, quantity, kind)
                        .await
                        .map_err(fail)?;
                    println!(
                        "seat request {} granted: {} seat(s) (asked for {})",
                        r.id,
                        r.granted_quantity.unwrap_or(r.quantity),
                        r.quantity
                    );
                    app
                }
                None => w
                    .services
                    .grant_seats(&Ctx::at(now()), &app_id, quantity.unwrap_or(1), kind)
                    .await
                    .map_err(fail)?,
            };
            println!(
                "{}: {} seats ({} purchased + {} complimentary), {} held",
                app.app_id,
                app.seats_total(),
                app.seats_purchased,
                app.seats_complimentary,
                app.seats_held
            );
            Ok(())
        }
        SeatsCmd::Requests { app_id, limit } => {
            let app_id = app_id.as_deref().map(app_id_arg).transpose()?;
            let w = roster::wire(&cfg).await?;
            let list = w
                .services
                .operator_seat_requests(app_id.as_ref(), limit.clamp(1, 1000))
                .await
                .map_err(|e| match (e, &app_id) {
                    (Error::NotFound, Some(a)) => CliError::new(format!("APP_ID: no app {a}")),
                    (e, _) => CliError::from(e),
                })?;
            if list.is_empty() {
                println!("No seat requests.");
            }
            for r in list {
                let outcome = match (r.status, r.decided_at) {
                    (SeatRequestStatus::Granted, Some(d)) => format!(
                        "granted {} on {}",
                        r.granted_quantity.unwrap_or(r.quantity),
                        d.date()
                    ),
                    (SeatRequestStatus::Declined, Some(d)) => format!("declined on {}", d.date()),
                    (st, _) => st.as_str().to_string(),
                };
                println!(
                    "{}  {}  asked {} on {}  {}",
                    r.id,
                    r.app_id,
                    r.quantity,
                    r.created_at.date(),
                    outcome
                );
            }
            Ok(())
        }
    }
}

async fn serve(cfg: Config) -> Result<(), CliError> {
    // Two servers on one SQLite file would each run a mail worker: refuse the second.
    let _lock = roster::lock_sqlite(&cfg.database_url()).map_err(CliError::new)?;
    let w = roster::wire(&cfg).await?;
    let heartbeat = roster::metrics::mail_heartbeat(&cfg);
    let mut state = roster_web::AppState::new(w.services.clone(), &cfg.base_url())
        .with_trusted_proxies(cfg.trusted_proxies().unwrap_or_default())
        .with_mail_heartbeat(heartbeat.clone())
        .with_shared_keys()
        .await?;
    if cfg.metrics_listen.is_some() {
        state = state.without_metrics_route();
    }
    let metrics_listener = roster::metrics::start_listener(&cfg, state.clone())
        .await
        .map_err(CliError::new)?;
    let app = roster_web::router(state.clone()).layer(axum::middleware::from_fn_with_state(
        state.trusted_proxies.clone(),
        roster::access_log::access_log_trusting,
    ));
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| {
            let hint = match e.kind() {
                std::io::ErrorKind::AddrInUse => {
                    " — another program (perhaps another roster) is using that port; \
                     choose another with ROSTER_LISTEN=127.0.0.1:8081 or `listen` in roster.toml"
                }
                std::io::ErrorKind::PermissionDenied => {
                    " — ports below 1024 need extra privileges; choose one above 1024"
                }
                _ => "",
            };
            CliError::new(format!("cannot listen on {}: {e}{hint}", cfg.listen))
        })?;
    let kick = w.services.mail_kick();
    let stop_mail = w.worker.stopper();
    // invitation reminders and housekeeping (idempotency answers older than a day): every
    // minute, each due reminder once (safe on several nodes)
    let reminders = {
        let services = w.services.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tick.tick().await;
                if let Err(e) = services.send_due_reminders(now()).await {
                    tracing::error!(error = %e, "invitation reminders failed");
                }
                if let Err(e) = services.housekeeping(now()).await {
                    tracing::error!(error = %e, "housekeeping failed");
                }
            }
        })
    };
    let mail_worker = tokio::spawn(
        w.worker
            .clone()
            .with_heartbeat(heartbeat)
            .run(kick, std::time::Duration::from_secs(5)),
    );
    // webhook deliveries: claimed from the database (any node), signed, retried with backoff
    let webhooks = roster_webhooks::WebhookWorker::new(
        w.services.clone(),
        &cfg.node_id(),
        cfg.webhooks_allow_private,
        std::sync::Arc::new(now),
    )
    .map_err(CliError::new)?;
    let webhook_worker =
        tokio::spawn(webhooks.run(w.services.webhook_kick(), std::time::Duration::from_secs(5)));

    println!("Roster is running at {}", cfg.base_url());
    println!("  database: {}", cfg.database_url_redacted());
    match &cfg.smtp_url {
        Some(_) => println!("  mail: SMTP"),
        None => println!(
            "  mail: local mailbox {} (read it with `roster mail list` / `roster mail show ID`)",
            cfg.mailbox_dir().display()
        ),
    }
    if let Some(token) = w
        .services
        .issue_setup_link(&roster_core::Ctx::at(now()))
        .await?
    {
        println!();
        println!(
            "No apps yet. Open this one-time link to create the first app and invite its admin:"
        );
        println!("  {}/setup/{token}", cfg.base_url());
        println!(
            "(or from the command line: roster app create --name Acme --seats 5 --admin-email you@example.com --admin-first-name You)"
        );
    }
    tracing::info!(listen = %cfg.listen, "serving");
    // after the signal, in-flight requests get `shutdown_timeout_secs` to finish; a client
    // that trickles its request does not hold the process past that
    let signalled = std::sync::Arc::new(tokio::sync::Notify::new());
    let on_signal = {
        let s = signalled.clone();
        async move {
            shutdown_signal().await;
            s.notify_one();
        }
    };
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(on_signal);
    let grace = std::time::Duration::from_secs(cfg.shutdown_timeout_secs);
    tokio::select! {
        r = server => r.map_err(|e| CliError::new(format!("server: {e}")))?,
        _ = async {
            signalled.notified().await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(
                seconds = cfg.shutdown_timeout_secs,
                "requests still in flight after the shutdown timeout; closing them"
            );
        }
    }
    // the mail worker finishes the message in hand and hands the rest back
    reminders.abort();
    webhook_worker.abort();
    if let Some(m) = metrics_listener {
        m.abort();
    }
    stop_mail.stop();
    if tokio::time::timeout(std::time::Duration::from_secs(30), mail_worker)
        .await
        .is_err()
    {
        tracing::warn!("mail worker still sending after 30 s; its claims return within a minute");
    }
    // last: every connection closed (SQLite folds its WAL into the database file)
    roster_core::store::Store::close(w.services.store().as_ref()).await;
    tracing::info!("shut down: requests drained, database closed, stopping");
    Ok(())
}

/// Ctrl-C or SIGTERM (what `systemctl stop` and container runtimes send).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    let which = tokio::select! {
        _ = ctrl_c => "interrupt",
        _ = term => "SIGTERM",
    };
    tracing::info!(signal = which, "shutting down");
}
