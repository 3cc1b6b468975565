//! `roster id …` and `roster terms …`: an operator's commands about IDs (reset their second
//! steps) and the terms of use (publish a version, show the current one).

use crate::operator_cmd::{IdSupport, id_support};
use crate::{CliError, now};
use clap::Subcommand;
use roster::config::Config;
use roster_core::{Ctx, Error};
use std::path::PathBuf;

#[derive(Subcommand)]
pub(crate) enum IdCmd {
    /// Remove every second factor of the ID with EMAIL (authenticator app, email codes, backup
    /// codes, trusted browsers): for someone who lost their phone. Audited; the owner is told.
    #[command(name = "reset-2fa")]
    Reset2fa { email: String },
    /// Show the ID with EMAIL: locked or not, two-step verification, its apps.
    Show { email: String },
    /// Lift the lockout of the ID with EMAIL (after too many wrong passwords).
    Unlock { email: String },
    /// End every session of the ID with EMAIL.
    EndSessions { email: String },
}

#[derive(Subcommand)]
pub(crate) enum TermsCmd {
    /// Publish FILE (Markdown, or HTML if it ends in .html/.htm; sanitised) as the current
    /// terms: every ID agrees to it at its next login.
    Publish {
        file: PathBuf,
        /// The version's name (default: today's date).
        #[arg(long)]
        version: Option<String>,
    },
    /// Show the current version.
    Show,
}

pub(crate) async fn id(cmd: IdCmd, cfg: Config) -> Result<(), CliError> {
    match cmd {
        IdCmd::Show { email } => id_support(IdSupport::Show, &email, cfg).await,
        IdCmd::Unlock { email } => id_support(IdSupport::Unlock, &email, cfg).await,
        IdCmd::EndSessions { email } => id_support(IdSupport::EndSessions, &email, cfg).await,
        IdCmd::Reset2fa { email } => {
            let w = roster::wire(&cfg).await?;
            let id = w
                .services
                .operator_reset_two_step(&Ctx::at(now()), &email)
                .await
                .map_err(|e| match e {
                    Error::NotFound => CliError::new(format!("EMAIL: no ID has {email}")),
                    e => CliError::from_core(e, &[("email", "EMAIL", &email)]),
                })?;
            w.worker.drain(now()).await.ok();
            println!(
                "second factors of {} removed; they were told by email",
                id.email
            );
            Ok(())
        }
    }
}

pub(crate) async fn terms(cmd: TermsCmd, cfg: Config) -> Result<(), CliError> {
    let w = roster::wire(&cfg).await?;
    match cmd {
        TermsCmd::Publish { file, version } => {
            let source = std::fs::read_to_string(&file)
                .map_err(|e| CliError::new(format!("FILE: cannot read {}: {e}", file.display())))?;
            let html = file
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
            let t = w
                .services
                .publish_terms(&Ctx::at(now()), version.as_deref(), &source, !html)
                .await
                .map_err(|e| {
                    CliError::from_core(e, &[("version", "--version", ""), ("file", "FILE", "")])
                })?;
            println!(
                "published terms version {} ({} bytes of HTML); every ID agrees to it at its next login",
                t.version,
                t.body_html.len()
            );
            Ok(())
        }
        TermsCmd::Show => {
            let t = w.services.current_terms().await?;
            match t.published_at {
                Some(at) => println!("current terms: version {} published {at}", t.version),
                None => println!(
                    "current terms: version {} (built in; none published)",
                    t.version
                ),
            }
            Ok(())
        }
    }
}
