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

/// How long new keys are published before they sign, unless told otherwise: longer than the
/// JWKS's cache time (`max-age=60`), so relying parties have fetched the new keys before a
/// token signed with them reaches them.
const DEFAULT_LEAD_SECONDS: i64 = 300;

#[derive(Subcommand)]
pub(crate) enum KeysCmd {
    /// Make new signing keys (RS256 and EdDSA), published at once and signing after
    /// --lead-seconds (default 300, longer than relying parties cache the JWKS), or at once
    /// with --now. The old keys stay in the JWKS until every token they signed has expired.
    Rotate {
        /// Seconds the new keys are published before they sign.
        #[arg(long, default_value_t = DEFAULT_LEAD_SECONDS, conflicts_with = "now")]
        lead_seconds: i64,
        /// Sign with the new keys at once (a compromised key): relying parties that cached
        /// the JWKS may refuse the new tokens until they fetch it again (up to a minute).
        #[arg(long)]
        now: bool,
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
        KeysCmd::Rotate {
            lead_seconds,
            now: at_once,
        } => {
            let lead_seconds = if at_once { 0 } else { lead_seconds };
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
            if lead_seconds == 0 {
                println!("they sign from now on");
            } else {
                println!(
                    "published now; they sign in {lead_seconds} s (the current keys sign until then)"
                );
            }
            Ok(())
        }
    }
}
