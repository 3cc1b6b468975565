//! `roster client …` and `roster keys …`: the operator registers the OpenID Connect clients
//! (the business application, plugins) and rotates the signing keys.

use crate::{CliError, now};
use clap::Subcommand;
use roster::config::Config;
use roster_core::Ctx;
use roster_core::model::SigningAlg;
use roster_core::service::NewClient;

#[derive(Subcommand)]
pub(crate) enum ClientCmd {
    /// Register a client. A confidential client's secret is printed once (stored hashed);
    /// a --public client (browser or native app) has none and must use PKCE.
    Create {
        #[arg(long)]
        name: String,
        /// Where the browser may be sent back with a code (exact match; repeat for several).
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Where RP-initiated logout may send the browser afterwards (repeatable).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        #[arg(long)]
        public: bool,
        /// The business application itself: no consent screen.
        #[arg(long)]
        first_party: bool,
        /// Receives OpenID Back-Channel Logout tokens when a member's sign-in ends.
        #[arg(long)]
        back_channel_logout_uri: Option<String>,
        /// How its ID tokens are signed: RS256 (default) or EdDSA.
        #[arg(long, default_value = "RS256")]
        id_token_alg: String,
    },
    /// List the clients.
    List,
}

#[derive(Subcommand)]
pub(crate) enum KeysCmd {
    /// Make new signing keys (RS256 and EdDSA) that sign from now on (or after --lead-seconds).
    /// The old keys stay in the JWKS until every token they signed has expired.
    Rotate {
        #[arg(long, default_value_t = 0)]
        lead_seconds: i64,
    },
}

pub(crate) async fn client(cmd: ClientCmd, cfg: Config) -> Result<(), CliError> {
    let w = roster::wire(&cfg).await?;
    match cmd {
        ClientCmd::Create {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            public,
            first_party,
            back_channel_logout_uri,
            id_token_alg,
        } => {
            let alg = SigningAlg::parse(&id_token_alg).ok_or_else(|| {
                CliError::new(format!(
                    "--id-token-alg: {id_token_alg:?} is not RS256 or EdDSA"
                ))
            })?;
            let r = w
                .services
                .create_oidc_client(
                    &Ctx::at(now()),
                    NewClient {
                        name,
                        redirect_uris,
                        post_logout_redirect_uris,
                        public,
                        first_party,
                        back_channel_logout_uri,
                        id_token_alg: Some(alg),
                    },
                )
                .await
                .map_err(|e| {
                    CliError::from_core(
                        e,
                        &[
                            ("name", "--name", ""),
                            ("redirect_uri", "--redirect-uri", ""),
                            ("post_logout_redirect_uri", "--post-logout-redirect-uri", ""),
                            ("back_channel_logout_uri", "--back-channel-logout-uri", ""),
                        ],
                    )
                })?;
            println!("client_id: {}", r.client.client_id);
            match r.secret {
                Some(s) => println!("client_secret: {s}\n(shown once; Roster keeps only its hash)"),
                None => println!("public client: no secret; it must use PKCE (S256)"),
            }
            println!("issuer: {}", w.services.issuer());
            Ok(())
        }
        ClientCmd::List => {
            for c in w.services.oidc_clients().await? {
                println!(
                    "{}  {}  {}{}  redirect: {}",
                    c.client_id,
                    c.name,
                    if c.is_public() {
                        "public"
                    } else {
                        "confidential"
                    },
                    if c.first_party { ", first-party" } else { "" },
                    c.redirect_uris.join(" ")
                );
            }
            Ok(())
        }
    }
}

pub(crate) async fn keys(cmd: KeysCmd, cfg: Config) -> Result<(), CliError> {
    let w = roster::wire(&cfg).await?;
    match cmd {
        KeysCmd::Rotate { lead_seconds } => {
            if !(0..=30 * 86_400).contains(&lead_seconds) {
                return Err(CliError::new(
                    "--lead-seconds: between 0 and 2592000 (30 days)",
                ));
            }
            let kids = w
                .services
                .rotate_signing_keys(&Ctx::at(now()), time::Duration::seconds(lead_seconds))
                .await?;
            println!("new signing keys: {}", kids.join(", "));
            Ok(())
        }
    }
}
