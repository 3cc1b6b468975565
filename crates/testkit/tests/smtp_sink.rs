//! The SMTP sink against lettre (the client Roster uses) and against a hand-written
//! conversation.

use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use roster_testkit::smtp::{Behaviour, Refusal, SmtpSink, Stage};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn transport(sink: &SmtpSink) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(&sink.url())
        .expect("the sink's URL is a plain SMTP URL")
        .timeout(Some(Duration::from_secs(10)))
        .build()
}

fn message(to: &str, body: &str) -> Message {
    Message::builder()
        .from("Roster <no-reply@roster.example>".parse().expect("from"))
        .to(to.parse().expect("to"))
        .subject("Hello")
        .message_id(Some(format!("<{to}@roster.example>")))
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_string())
        .expect("message")
}

#[tokio::test]
async fn a_message_arrives_with_its_envelope_and_body_intact() {
    let sink = SmtpSink::start().await;
    assert_eq!(sink.url(), format!("smtp://127.0.0.1:{}", sink.port()));
    let mailer = transport(&sink);
    // a line starting with a dot (stuffed by the client) and non-ASCII text (8BITMIME)
    let body = "Hi Jürgen,\r\n.a line with a leading dot\r\n..two dots\r\n.\r\nend\r\n";
    let msg = message("ada@example.com", body);
    let sent = msg.formatted();
    mailer.send(msg).await.expect("accepted");
    assert_eq!(sink.count(), 1);
    let got = &sink.messages()[0];
    assert_eq!(got.mail_from, "no-reply@roster.example");
    assert_eq!(got.rcpt_to, vec!["ada@example.com".to_string()]);
    // lettre ends the data with CRLF . CRLF after the message's own final CRLF, which per
    // RFC 5321 leaves one empty line more
    assert_eq!(
        got.data,
        [sent.as_slice(), b"\r\n"].concat(),
        "{}",
        got.text()
    );
    assert_eq!(
        got.header("message-id").as_deref(),
        Some("<ada@example.com@roster.example>")
    );
    assert!(
        got.text()
            .contains("\r\n.a line with a leading dot\r\n..two dots\r\n.\r\nend")
    );
}

#[tokio::test]
async fn many_messages_over_pooled_and_concurrent_connections() {
    let sink = SmtpSink::start().await;
    let mailer = transport(&sink);
    let sends = (0..40).map(|i| {
        let mailer = mailer.clone();
        async move {
            mailer
                .send(message(
                    &format!("u{i}@example.com"),
                    &format!("number {i}"),
                ))
                .await
        }
    });
    for r in futures::future::join_all(sends).await {
        r.expect("accepted");
    }
    // and one after another on the pool's reused connections
    for i in 40..60 {
        mailer
            .send(message(&format!("u{i}@example.com"), "again"))
            .await
            .expect("accepted");
    }
    assert!(sink.wait_for(60, Duration::from_secs(5)).await);
    let mut to: Vec<String> = sink
        .messages()
        .into_iter()
        .flat_map(|m| m.rcpt_to)
        .collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 60);
    assert!(!sink.wait_for(61, Duration::from_millis(50)).await);
}

#[tokio::test]
async fn a_550_at_rcpt_is_permanent_for_that_recipient_only() {
    let sink = SmtpSink::start().await;
    sink.update(|b| {
        b.refusals.push(Refusal::recipient(
            "nobody@example.com",
            Stage::Rcpt,
            "550 5.1.1 no such user",
        ))
    });
    let mailer = transport(&sink);
    for _ in 0..2 {
        let err = mailer
            .send(message("nobody@example.com", "x"))
            .await
            .expect_err("refused");
        assert!(err.is_permanent(), "{err}");
        assert!(err.to_string().contains("no such user"), "{err}");
    }
    mailer
        .send(message("somebody@example.com", "x"))
        .await
        .expect("others are accepted");
    assert_eq!(sink.count(), 1);
}

#[tokio::test]
async fn a_421_then_451_are_transient_and_mail_is_accepted_once_they_run_out() {
    let sink = SmtpSink::start().await;
    sink.set_behaviour(Behaviour {
        delay: Duration::ZERO,
        refusals: vec![
            Refusal::next(1, Stage::Rcpt, "421 4.3.0 try later"),
            Refusal::next(2, Stage::Data, "451 4.3.0 busy"),
        ],
    });
    let mailer = transport(&sink);
    let err = mailer
        .send(message("ada@example.com", "x"))
        .await
        .expect_err("421");
    assert!(err.is_transient(), "{err}");
    for _ in 0..2 {
        let err = mailer
            .send(message("ada@example.com", "x"))
            .await
            .expect_err("451 after the data");
        assert!(err.is_transient(), "{err}");
        assert!(err.to_string().contains("busy"), "{err}");
    }
    assert_eq!(sink.count(), 0);
    mailer
        .send(message("ada@example.com", "x"))
        .await
        .expect("accepted once the refusals are used up");
    assert_eq!(sink.count(), 1);
    assert_eq!(sink.messages()[0].rcpt_to, vec!["ada@example.com"]);
}

#[tokio::test]
async fn the_delay_makes_each_message_slow_and_can_be_lifted() {
    let sink = SmtpSink::start().await;
    sink.update(|b| b.delay = Duration::from_millis(300));
    let mailer = transport(&sink);
    let t = Instant::now();
    mailer
        .send(message("ada@example.com", "x"))
        .await
        .expect("accepted");
    assert!(t.elapsed() >= Duration::from_millis(300));
    sink.set_behaviour(Behaviour::default());
    let t = Instant::now();
    mailer
        .send(message("ada@example.com", "x"))
        .await
        .expect("accepted");
    assert!(t.elapsed() < Duration::from_millis(300));
    let m = sink.messages();
    assert!(m[1].at > m[0].at);
}

/// Sends `line` and returns the complete reply (all its lines).
async fn say(
    w: &mut tokio::net::tcp::OwnedWriteHalf,
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    line: &str,
) -> String {
    if !line.is_empty() {
        w.write_all(format!("{line}\r\n").as_bytes())
            .await
            .expect("write");
    }
    let mut reply = String::new();
    loop {
        let mut l = String::new();
        let n = r.read_line(&mut l).await.expect("read");
        reply.push_str(&l);
        if n == 0 || l.as_bytes().get(3) != Some(&b'-') {
            return reply;
        }
    }
}

#[tokio::test]
async fn a_hand_written_conversation() {
    let sink = SmtpSink::start().await;
    let s = tokio::net::TcpStream::connect(("127.0.0.1", sink.port()))
        .await
        .expect("connect");
    let (r, mut w) = s.into_split();
    let mut r = BufReader::new(r);
    let w = &mut w;
    let r = &mut r;
    assert!(say(w, r, "").await.starts_with("220 "));
    let ehlo = say(w, r, "EHLO client.example").await;
    assert!(ehlo.starts_with("250-"), "{ehlo}");
    assert!(
        ehlo.contains("8BITMIME") && ehlo.contains("SMTPUTF8"),
        "{ehlo}"
    );
    assert!(!ehlo.contains("PIPELINING") && !ehlo.contains("STARTTLS"));
    assert!(say(w, r, "VRFY ada").await.starts_with("502 "));
    assert!(
        say(w, r, "RCPT TO:<a@example.com>")
            .await
            .starts_with("503 ")
    );
    assert!(say(w, r, "DATA").await.starts_with("503 "));
    assert!(say(w, r, "MAIL FROM:bad").await.starts_with("501 "));
    assert!(
        say(w, r, "mail from:<x@example.com>")
            .await
            .starts_with("250 ")
    );
    assert!(say(w, r, "RSET").await.starts_with("250 "));
    assert!(say(w, r, "NOOP").await.starts_with("250 "));
    assert!(say(w, r, "HELO client.example").await.starts_with("250 "));
    assert!(say(w, r, "MAIL FROM:<>").await.starts_with("250 "));
    assert!(
        say(w, r, "RCPT TO:<a@example.com>")
            .await
            .starts_with("250 ")
    );
    assert!(
        say(w, r, "RCPT TO: <b@example.com>")
            .await
            .starts_with("250 ")
    );
    assert!(say(w, r, "DATA").await.starts_with("354 "));
    w.write_all(b"Subject: hi\r\n\r\n..hidden\r\nlast\r\n")
        .await
        .expect("write");
    assert!(say(w, r, ".").await.starts_with("250 "));
    assert!(say(w, r, "QUIT").await.starts_with("221 "));
    let m = &sink.messages()[0];
    assert_eq!(m.mail_from, "");
    assert_eq!(m.rcpt_to, vec!["a@example.com", "b@example.com"]);
    assert_eq!(m.data, b"Subject: hi\r\n\r\n.hidden\r\nlast\r\n");
}
