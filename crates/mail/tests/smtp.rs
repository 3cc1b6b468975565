//! The SMTP transport against a real SMTP conversation on a local socket.

use roster_core::mailer::{Mailer, OutgoingEmail};
use roster_mail::transport::DkimSettings;
use roster_mail::{SmtpConfig, SmtpMailer};
use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A minimal SMTP sink: accepts one message and returns its DATA. `reject_rcpt` answers the
/// recipient with a temporary failure (451) instead.
async fn sink(reject_rcpt: bool) -> (u16, tokio::sync::oneshot::Receiver<String>) {
    sink_with(if reject_rcpt {
        Some("451 try again later")
    } else {
        None
    })
    .await
}

/// The sink, answering RCPT with `rcpt_reply` when given.
async fn sink_with(
    rcpt_reply: Option<&'static str>,
) -> (u16, tokio::sync::oneshot::Receiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = l.local_addr().expect("addr").port();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut tx = Some(tx);
    tokio::spawn(async move {
        let (sock, _) = l.accept().await.ok()?;
        let (r, mut w) = sock.into_split();
        let mut lines = BufReader::new(r).lines();
        w.write_all(b"220 sink ESMTP\r\n").await.ok()?;
        let mut data = String::new();
        let mut in_data = false;
        while let Ok(Some(line)) = lines.next_line().await {
            if in_data {
                if line == "." {
                    in_data = false;
                    w.write_all(b"250 queued\r\n").await.ok()?;
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(std::mem::take(&mut data));
                    }
                } else {
                    data.push_str(&line);
                    data.push('\n');
                }
                continue;
            }
            let cmd = line.to_ascii_uppercase();
            let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                b"250-sink\r\n250 8BITMIME\r\n"
            } else if let (true, Some(reply)) = (cmd.starts_with("RCPT"), rcpt_reply) {
                let _ = w.write_all(format!("{reply}\r\n").as_bytes()).await;
                continue;
            } else if cmd.starts_with("DATA") {
                in_data = true;
                b"354 go ahead\r\n"
            } else if cmd.starts_with("QUIT") {
                let _ = w.write_all(b"221 bye\r\n").await;
                break;
            } else {
                b"250 ok\r\n"
            };
            w.write_all(reply).await.ok()?;
        }
        Some(())
    });
    (port, rx)
}

fn email() -> OutgoingEmail {
    OutgoingEmail {
        reply_to: None,
        list_unsubscribe: None,
        message_id: "<0190-smtp@roster.example>".into(),
        from: "Roster <no-reply@roster.example>".into(),
        to: "rohit@example.com".into(),
        subject: "Ada invited you to Acme (ab123) on Roster".into(),
        text: "Accept: http://localhost/invite/abc".into(),
        html: "<p>Accept</p>".into(),
        date: OffsetDateTime::now_utc(),
    }
}

#[tokio::test]
async fn smtp_delivers_a_dkim_signed_multipart_message() {
    let (port, h) = sink(false).await;
    let key = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="; // test-only Ed25519 secret
    let m = SmtpMailer::new(&SmtpConfig {
        timeout: std::time::Duration::from_secs(10),
        pool_size: 2,
        url: format!("smtp://127.0.0.1:{port}"),
        dkim: Some(DkimSettings {
            selector: "roster".into(),
            domain: "roster.example".into(),
            private_key: key.into(),
            ed25519: true,
        }),
    })
    .expect("mailer");
    m.send(&email()).await.expect("send");
    let data = h.await.expect("data");
    assert!(
        data.contains("Message-ID: <0190-smtp@roster.example>"),
        "{data}"
    );
    assert!(data.contains("DKIM-Signature:"), "{data}");
    assert!(data.contains("d=roster.example"), "{data}");
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(
        data.contains("Subject: Ada invited you to Acme (ab123) on Roster"),
        "{data}"
    );
}

#[tokio::test]
async fn an_smtp_refusal_is_an_error_for_the_worker_to_retry() {
    let (port, _h) = sink(true).await;
    let m = SmtpMailer::new(&SmtpConfig {
        timeout: std::time::Duration::from_secs(10),
        pool_size: 2,
        url: format!("smtp://127.0.0.1:{port}"),
        dkim: None,
    })
    .expect("mailer");
    let err = m.send(&email()).await.expect_err("refused");
    assert!(
        err.message.contains("451") || err.message.to_lowercase().contains("try again"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn a_550_is_permanent_and_a_451_is_not() {
    for (reply, permanent) in [
        ("550 no such user here", true),
        ("451 try again later", false),
    ] {
        let (port, _h) = sink_with(Some(reply)).await;
        let m = SmtpMailer::new(&SmtpConfig {
            timeout: std::time::Duration::from_secs(10),
            pool_size: 2,
            url: format!("smtp://127.0.0.1:{port}"),
            dkim: None,
        })
        .expect("mailer");
        let err = m.send(&email()).await.expect_err("refused");
        assert_eq!(err.permanent, permanent, "{reply}: {}", err.message);
        assert!(err.message.contains(&reply[..3]), "{}", err.message);
    }
}

#[tokio::test]
async fn bad_smtp_settings_are_errors() {
    assert!(
        SmtpMailer::new(&SmtpConfig {
            timeout: std::time::Duration::from_secs(10),
            pool_size: 2,
            url: "ftp://x".into(),
            dkim: None
        })
        .is_err()
    );
    let bad_key = SmtpMailer::new(&SmtpConfig {
        timeout: std::time::Duration::from_secs(10),
        pool_size: 2,
        url: "smtp://127.0.0.1:25".into(),
        dkim: Some(DkimSettings {
            selector: "s".into(),
            domain: "d.example".into(),
            private_key: "not a key".into(),
            ed25519: false,
        }),
    });
    assert!(bad_key.is_err());
}
