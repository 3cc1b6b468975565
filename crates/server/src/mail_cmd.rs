//! `roster mail …` and `roster outbox …`: read the local mailbox, preview a template with sample
//! data, see what did not go out, page through the outbox.

use crate::CliError;
use clap::Subcommand;
use roster::config::Config;
use roster_core::model::{Delivery, OutboxStatus};
use roster_mail::LocalMailbox;

#[derive(Subcommand)]
pub(crate) enum MailCmd {
    /// List the messages in the local mailbox; with --failed, the messages that did not go out
    /// (whatever the transport) with the receiving server's reply.
    List {
        #[arg(long)]
        failed: bool,
    },
    /// Print one message decoded: headers, the text part, its links (file name prefix or
    /// Message-ID).
    Show {
        id: String,
        /// Print the raw MIME message instead.
        #[arg(long)]
        raw: bool,
    },
    /// Render a template with sample data (with the configured overrides): its subject and
    /// text part, or with --html its HTML part. TEMPLATE is a message name such as
    /// invitation, admin_notification, password_reset.
    Preview {
        template: String,
        #[arg(long)]
        html: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum OutboxCmd {
    /// Every outbox entry, newest first, with its delivery state (all of them, page by page;
    /// `--limit` stops early).
    List {
        #[arg(long)]
        limit: Option<u64>,
        /// Only entries in this state: pending, sent or failed.
        #[arg(long)]
        status: Option<String>,
    },
}

pub(crate) async fn mail(cmd: MailCmd, cfg: Config) -> Result<(), CliError> {
    let mb = LocalMailbox::new(cfg.mailbox_dir());
    let io = |e: std::io::Error| {
        CliError::new(format!(
            "cannot read the mailbox {}: {e}",
            mb.dir().display()
        ))
    };
    match cmd {
        MailCmd::List { failed: true } => {
            let n = print_outbox(&cfg, Some(OutboxStatus::Failed), None).await?;
            if n == 0 {
                println!("No failed messages: everything went out or is still being tried.");
            }
            Ok(())
        }
        MailCmd::List { failed: false } => {
            let files = mb.list().map_err(io)?;
            if files.is_empty() {
                println!("The mailbox {} is empty.", mb.dir().display());
            }
            for f in files {
                let raw = std::fs::read(&f).unwrap_or_default();
                let m = roster_mail::mailbox::decode(&raw).unwrap_or_default();
                let name = f.file_stem().and_then(|s| s.to_str()).unwrap_or("");
                println!("{name}  To: {}  Subject: {}", m.to, m.subject);
            }
            Ok(())
        }
        MailCmd::Show { id, raw } => {
            let Some(f) = mb.find(&id).map_err(io)? else {
                return Err(CliError::new(format!(
                    "no message {id:?} in {} (see `roster mail list`)",
                    mb.dir().display()
                )));
            };
            let bytes = std::fs::read(&f).map_err(io)?;
            if raw {
                println!("{}", String::from_utf8_lossy(&bytes));
                return Ok(());
            }
            let Some(m) = roster_mail::mailbox::decode(&bytes) else {
                return Err(CliError::new(format!(
                    "{} is not a mail message; try --raw",
                    f.display()
                )));
            };
            println!("From:    {}", m.from);
            println!("To:      {}", m.to);
            println!("Subject: {}", m.subject);
            println!("Date:    {}", m.date);
            println!();
            println!("{}", m.text.replace("\r\n", "\n").trim_end());
            if !m.links.is_empty() {
                println!();
                println!("Links:");
                for l in &m.links {
                    println!("  {l}");
                }
            }
            Ok(())
        }
        MailCmd::Preview { template, html } => {
            let r = roster::renderer(&cfg).map_err(|e| CliError::new(e.to_string()))?;
            let e = r
                .preview(&template)
                .map_err(|e| CliError::new(e.to_string()))?;
            if html {
                println!("{}", e.html);
            } else {
                println!("Subject: {}", e.subject);
                println!();
                println!("{}", e.text.trim_end());
            }
            Ok(())
        }
    }
}

pub(crate) async fn outbox(cmd: OutboxCmd, cfg: Config) -> Result<(), CliError> {
    let OutboxCmd::List { limit, status } = cmd;
    let status = match status.as_deref() {
        None => None,
        Some(s) => Some(OutboxStatus::parse(s).ok_or_else(|| {
            CliError::new(format!(
                "--status: {s:?} is not one of pending, sent, failed"
            ))
        })?),
    };
    print_outbox(&cfg, status, limit).await?;
    Ok(())
}

/// Print outbox entries newest first, page by page; the number printed.
async fn print_outbox(
    cfg: &Config,
    status: Option<OutboxStatus>,
    limit: Option<u64>,
) -> Result<u64, CliError> {
    let store = roster::open_store_with(&cfg.database_url(), &cfg.pg_settings()).await?;
    let mut r = store.read().await?;
    let mut left = limit.unwrap_or(u64::MAX);
    let mut before = None;
    let mut printed = 0;
    while left > 0 {
        let page = r.list_outbox(status, before, left.min(500) as u32).await?;
        let Some(last) = page.last() else { break };
        before = Some((last.created_at, last.id));
        left = left.saturating_sub(page.len() as u64);
        let full = page.len() == 500;
        for m in page {
            let state = match Delivery::of(&m) {
                Delivery::Retrying {
                    next_attempt_at, ..
                } => format!("retrying (next try at {next_attempt_at})"),
                d => d.state().to_string(),
            };
            println!(
                "{}  {:<8} attempts={} to={} kind={} created={} {state} {}",
                m.id,
                m.status.as_str(),
                m.attempts,
                m.to,
                m.mail.kind_name(),
                m.created_at,
                m.last_error.unwrap_or_default()
            );
            printed += 1;
        }
        if !full {
            break;
        }
    }
    Ok(printed)
}
