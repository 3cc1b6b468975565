//! `roster operator …` and the operator's app, seat and ID commands (`roster app
//! list|suspend|resume`, `roster seats answer`, `roster id show|unlock|end-sessions`): the same
//! operations as the operator console, audited as "Roster support" (without an operator's ID).

use crate::{CliError, app_id_arg, now};
use clap::Subcommand;
use roster::config::Config;
use roster_core::model::{SeatEntryKind, SeatRequestStatus};
use roster_core::service::{OperatorInvited, SeatAnswer};
use roster_core::types::SeatRequestId;
use roster_core::{Ctx, Error};

#[derive(Subcommand)]
pub(crate) enum OperatorCmd {
    /// Let the ID with EMAIL open the operator console at /operator (it must set up two-step
    /// verification first). Without an ID yet, the person is emailed an invitation to create
    /// one.
    Add { email: String },
    /// The ID with EMAIL is no longer an operator.
    Remove { email: String },
    /// Every operator.
    List,
}

pub(crate) async fn operator(cmd: OperatorCmd, cfg: Config) -> Result<(), CliError> {
    let w = roster::wire(&cfg).await?;
    let ctx = Ctx::at(now());
    match cmd {
        OperatorCmd::Add { email } => {
            let done = w
                .services
                .invite_operator(&ctx, &email)
                .await
                .map_err(|e| CliError::from_core(e, &[("email", "EMAIL", &email)]))?;
            match done {
                OperatorInvited::Added(i) => println!(
                    "{} is an operator; the console opens at {}/operator once they have two-step verification",
                    i.email,
                    cfg.base_url()
                ),
                OperatorInvited::Invited { email, token } => {
                    let report = w.worker.drain(now()).await?;
                    println!(
                        "No ID has {email} yet: an invitation to create one was {} (valid 7 days).",
                        if report.sent > 0 { "emailed" } else { "queued" }
                    );
                    println!("Invitation link: {}/operator/join/{token}", cfg.base_url());
                }
            }
            Ok(())
        }
        OperatorCmd::Remove { email } => {
            w.services
                .remove_operator(&ctx, &email)
                .await
                .map_err(|e| match e {
                    Error::NotFound => CliError::new(format!("EMAIL: {email} is not an operator")),
                    e => CliError::from_core(e, &[("email", "EMAIL", &email)]),
                })?;
            println!("{email} is no longer an operator");
            Ok(())
        }
        OperatorCmd::List => {
            for (email, at) in w.services.list_operators().await? {
                println!("{email}  since {}", at.date());
            }
            Ok(())
        }
    }
}

/// `roster app list`.
pub(crate) async fn app_list(q: Option<String>, cfg: Config) -> Result<(), CliError> {
    let w = roster::wire(&cfg).await?;
    for a in w.services.operator_find_apps(None, q.as_deref()).await? {
        println!(
            "{}  {}  {} of {} seats held",
            a.app_id,
            a.name,
            a.seats_held,
            a.seats_total()
        );
    }
    Ok(())
}

/// `roster app suspend|resume APP_ID`.
pub(crate) async fn app_suspend(raw: &str, suspend: bool, cfg: Config) -> Result<(), CliError> {
    let app = app_id_arg(raw)?;
    let w = roster::wire(&cfg).await?;
    w.services
        .set_app_suspended(&Ctx::at(now()), None, &app, suspend)
        .await
        .map_err(|e| match e {
            Error::NotFound => CliError::new(format!("APP_ID: no app {app}")),
            e => CliError::from(e),
        })?;
    println!(
        "app {app} {}",
        if suspend {
            "suspended: its members cannot use it"
        } else {
            "resumed"
        }
    );
    Ok(())
}

/// `roster seats answer APP_ID REQUEST (--grant [--quantity N] | --decline) [--note TEXT]`.
pub(crate) async fn seats_answer(
    raw_app: &str,
    raw_request: &str,
    decline: bool,
    quantity: Option<i64>,
    note: Option<String>,
    cfg: Config,
) -> Result<(), CliError> {
    let app = app_id_arg(raw_app)?;
    let request: SeatRequestId = raw_request.trim().parse().map_err(|_| {
        CliError::new(format!(
            "REQUEST: {raw_request:?} is not a seat request id (see `roster seats requests {app}`)"
        ))
    })?;
    let w = roster::wire(&cfg).await?;
    let answer = if decline {
        SeatAnswer::Decline
    } else {
        SeatAnswer::Grant {
            quantity,
            kind: SeatEntryKind::Complimentary,
        }
    };
    let q = quantity.map(|q| q.to_string()).unwrap_or_default();
    let flags = [
        ("quantity", "--quantity", q.as_str()),
        ("request", "REQUEST", raw_request),
        ("note", "--note", ""),
    ];
    let (a, r) = w
        .services
        .answer_seat_request(
            &Ctx::at(now()),
            None,
            &app,
            request,
            answer,
            note.as_deref(),
        )
        .await
        .map_err(|e| match e {
            Error::NotFound => CliError::new(format!("APP_ID: no app {app}")),
            e => CliError::from_core(e, &flags),
        })?;
    w.worker.drain(now()).await.ok();
    match (r.status, r.granted_quantity) {
        (SeatRequestStatus::Granted, Some(n)) => println!(
            "granted {n} seats to {} ({}); it has {} now; the admin was emailed",
            a.name,
            a.app_id,
            a.seats_total()
        ),
        _ => println!(
            "declined the request of {} ({}); the admin was emailed",
            a.name, a.app_id
        ),
    }
    Ok(())
}

/// What `roster id … EMAIL` does for support.
pub(crate) enum IdSupport {
    Show,
    Unlock,
    EndSessions,
}

/// `roster id show|unlock|end-sessions EMAIL`.
pub(crate) async fn id_support(what: IdSupport, email: &str, cfg: Config) -> Result<(), CliError> {
    let w = roster::wire(&cfg).await?;
    let ctx = Ctx::at(now());
    let not_found = |e: Error| match e {
        Error::NotFound => CliError::new(format!("EMAIL: no ID has {email}")),
        e => CliError::from_core(e, &[("email", "EMAIL", email)]),
    };
    match what {
        IdSupport::Show => {
            let v = w
                .services
                .operator_id(&ctx, None, email)
                .await
                .map_err(not_found)?;
            println!("{} {}", v.identity.email, v.identity.first_name);
            println!("  locked: {}", if v.locked { "yes" } else { "no" });
            println!(
                "  two-step verification: {}",
                if v.two_step { "on" } else { "off" }
            );
            for (a, m) in v.apps {
                println!(
                    "  {}  {}{}",
                    a.app_id,
                    a.name,
                    if m.admin { " (admin)" } else { "" }
                );
            }
        }
        IdSupport::Unlock => {
            let i = w
                .services
                .operator_unlock(&ctx, None, email)
                .await
                .map_err(not_found)?;
            println!("{} unlocked", i.email);
        }
        IdSupport::EndSessions => {
            let n = w
                .services
                .operator_end_sessions(&ctx, None, email)
                .await
                .map_err(not_found)?;
            println!("{n} sessions of {email} ended");
        }
    }
    Ok(())
}
