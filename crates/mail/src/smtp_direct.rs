//! Plain SMTP to a local relay (`smtp://host:port` with no `tls=`): lettre's SMTP client over
//! our own pooled TCP connections with `TCP_NODELAY`.
//!
//! Why not lettre's pooled transport here: its client writes a message and the terminating
//! `.` in two writes; with Nagle's algorithm on (lettre does not turn it off) the small second
//! write waits for the relay's delayed ACK — about 40 ms per message on Linux, so at most ~25
//! messages a second per connection. With `TCP_NODELAY` a message to a local relay takes well
//! under a millisecond. TLS modes (STARTTLS, implicit TLS) still use lettre's transport.

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::ClientId;
use roster_core::mailer::MailError;
use std::time::Duration;
use tokio::sync::Mutex;

pub(crate) struct DirectPool {
    host: String,
    port: u16,
    hello: ClientId,
    credentials: Option<Credentials>,
    timeout: Duration,
    max_idle: usize,
    idle: Mutex<Vec<AsyncSmtpConnection>>,
}

/// The parts of a plain `smtp://` URL; `None` when the URL asks for TLS (or is not SMTP).
pub(crate) fn plain_target(url: &str) -> Option<(String, u16, Option<Credentials>, ClientId)> {
    let u = url::Url::parse(url).ok()?;
    if u.scheme() != "smtp" || u.query_pairs().any(|(k, _)| k == "tls") {
        return None;
    }
    let host = u.host_str()?.to_string();
    let port = u.port().unwrap_or(25);
    // percent-decoding as in a URL's userinfo ('+' stays '+')
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let credentials = u
        .password()
        .map(|p| Credentials::new(decode(u.username()), decode(p)));
    let hello = if u.path().len() > 1 {
        ClientId::Domain(u.path().trim_matches('/').to_string())
    } else {
        ClientId::default()
    };
    Some((host, port, credentials, hello))
}

/// An SMTP client error as the worker sees it: a 5xx reply is permanent, the rest temporary.
pub(crate) fn smtp_error(e: lettre::transport::smtp::Error) -> MailError {
    let message = format!("SMTP: {e}");
    if e.is_permanent() {
        MailError::permanent(message)
    } else {
        MailError::temporary(message)
    }
}

impl DirectPool {
    pub(crate) fn new(
        (host, port, credentials, hello): (String, u16, Option<Credentials>, ClientId),
        timeout: Duration,
        max_idle: usize,
    ) -> Self {
        DirectPool {
            host,
            port,
            hello,
            credentials,
            timeout,
            max_idle: max_idle.max(1),
            idle: Mutex::new(Vec::new()),
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, MailError> {
        let addr = (self.host.as_str(), self.port);
        let stream = tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| MailError::temporary("SMTP: connection timed out"))?
            .map_err(|e| MailError::temporary(format!("SMTP: cannot connect: {e}")))?;
        stream
            .set_nodelay(true)
            .map_err(|e| MailError::temporary(format!("SMTP: {e}")))?;
        let mut conn = tokio::time::timeout(
            self.timeout,
            AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello),
        )
        .await
        .map_err(|_| MailError::temporary("SMTP: greeting timed out"))?
        .map_err(smtp_error)?;
        if let Some(c) = &self.credentials {
            tokio::time::timeout(
                self.timeout,
                conn.auth(&[Mechanism::Plain, Mechanism::Login], c),
            )
            .await
            .map_err(|_| MailError::temporary("SMTP: authentication timed out"))?
            .map_err(smtp_error)?;
        }
        Ok(conn)
    }

    /// Ok, or the error and whether the relay itself answered (an SMTP reply, which is the
    /// outcome) rather than the connection failing (worth one more try on a fresh one).
    async fn send_on(
        &self,
        conn: &mut AsyncSmtpConnection,
        envelope: &lettre::address::Envelope,
        raw: &[u8],
    ) -> Result<(), (MailError, bool)> {
        match tokio::time::timeout(self.timeout, conn.send(envelope, raw)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                let answered = e.is_response();
                Err((smtp_error(e), answered))
            }
            Err(_) => {
                conn.abort().await;
                Err((MailError::temporary("SMTP: timed out"), false))
            }
        }
    }

    /// Send on an idle connection, or a new one. A pooled connection the relay has closed
    /// meanwhile fails without an SMTP answer: then the message goes once more on a fresh one.
    pub(crate) async fn send(
        &self,
        envelope: &lettre::address::Envelope,
        raw: &[u8],
    ) -> Result<(), MailError> {
        let pooled = self.idle.lock().await.pop();
        if let Some(mut conn) = pooled.filter(|c| !c.has_broken()) {
            match self.send_on(&mut conn, envelope, raw).await {
                Ok(()) => {
                    self.put_back(conn).await;
                    return Ok(());
                }
                // the relay answered (4xx/5xx): that is the outcome
                Err((e, true)) => return Err(e),
                Err((_, false)) => {}
            }
        }
        let mut conn = self.connect().await?;
        self.send_on(&mut conn, envelope, raw)
            .await
            .map_err(|(e, _)| e)?;
        self.put_back(conn).await;
        Ok(())
    }

    async fn put_back(&self, conn: AsyncSmtpConnection) {
        let mut idle = self.idle.lock().await;
        if idle.len() < self.max_idle && !conn.has_broken() {
            idle.push(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_smtp_urls_go_direct_and_credentials_are_percent_decoded() {
        let (host, port, creds, _) =
            plain_target("smtp://ada%40acme:p%2Bss+w%3Ad@relay.internal:2525").expect("plain");
        assert_eq!((host.as_str(), port), ("relay.internal", 2525));
        assert_eq!(
            creds,
            Some(Credentials::new("ada@acme".into(), "p+ss+w:d".into()))
        );
        assert_eq!(plain_target("smtp://relay").map(|t| t.1), Some(25));
        assert!(plain_target("smtp://relay:587?tls=required").is_none());
        assert!(plain_target("smtps://relay:465").is_none());
        assert!(plain_target("not a url").is_none());
    }
}
