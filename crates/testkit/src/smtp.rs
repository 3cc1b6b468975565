//! An SMTP sink for tests and benchmarks: a real SMTP server on `127.0.0.1:<port>` (plain, no
//! TLS) that collects every message it accepts, and can be told to refuse or to be slow.
//!
//! ```no_run
//! # async fn demo() {
//! use roster_testkit::smtp::{Refusal, SmtpSink, Stage};
//! let sink = SmtpSink::start().await;
//! // give `sink.url()` (`smtp://127.0.0.1:PORT`) to the code under test as its SMTP URL
//! sink.update(|b| b.refusals.push(Refusal::next(2, Stage::Rcpt, "451 4.3.0 busy")));
//! assert!(sink.wait_for(1, std::time::Duration::from_secs(5)).await);
//! let first = &sink.messages()[0];
//! # let _ = first;
//! # }
//! ```
//!
//! It speaks enough of RFC 5321 for lettre and for hand-written conversations: EHLO (advertising
//! `8BITMIME` and `SMTPUTF8`, not `PIPELINING`), HELO, MAIL FROM, RCPT TO, DATA (dot-unstuffed,
//! ended by `<CRLF>.<CRLF>`), RSET, NOOP and QUIT; anything else is answered `502`. Each
//! connection may carry any number of messages, and any number of connections may be open.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

/// Longest command or text line read (longer ones are refused; RFC 5321 asks for 1000).
const MAX_LINE: usize = 64 * 1024;
/// Largest message accepted (bigger ones get `552`).
const MAX_MESSAGE: usize = 32 * 1024 * 1024;

/// Where in the conversation a [`Refusal`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Instead of `250` to `RCPT TO` (one refusal used per refused recipient).
    Rcpt,
    /// Instead of `250` after the message's final `.` (one refusal used per refused message).
    Data,
}

/// A scripted failure: answer `reply` (e.g. `"550 5.1.1 no such user"`) at `stage`.
/// A reply starting with `421` also closes the connection, as RFC 5321 asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub stage: Stage,
    /// One line: a three-digit code and text, without the line end.
    pub reply: String,
    /// Only for this recipient (compared ignoring ASCII case); `None`: for every recipient.
    pub recipient: Option<String>,
    /// How many more times to refuse; `None`: every time, until removed.
    pub remaining: Option<usize>,
}

impl Refusal {
    /// Refuse the next `n` times `stage` is reached, whoever the recipient.
    pub fn next(n: usize, stage: Stage, reply: &str) -> Refusal {
        Refusal {
            stage,
            reply: reply.to_string(),
            recipient: None,
            remaining: Some(n),
        }
    }

    /// Refuse every message to `address` at `stage` (at `Data`: a message with `address`
    /// among its recipients).
    pub fn recipient(address: &str, stage: Stage, reply: &str) -> Refusal {
        Refusal {
            stage,
            reply: reply.to_string(),
            recipient: Some(address.to_string()),
            remaining: None,
        }
    }
}

/// How the sink answers; change it at any time with [`SmtpSink::update`]. The default
/// accepts everything at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Behaviour {
    /// Wait this long after each message's final `.` before answering it: a slow server.
    pub delay: Duration,
    /// Scripted failures; the first that applies answers. Used-up ones are dropped.
    pub refusals: Vec<Refusal>,
}

/// A message the sink accepted (answered `250` after its data).
#[derive(Debug, Clone)]
pub struct Received {
    /// The reverse path of `MAIL FROM` (empty for the null sender `<>`).
    pub mail_from: String,
    /// The accepted `RCPT TO` addresses, in order.
    pub rcpt_to: Vec<String>,
    /// The raw RFC 5322 message, dot-unstuffed, lines ending in CRLF.
    pub data: Vec<u8>,
    /// When the sink answered `250`.
    pub at: Instant,
}

impl Received {
    /// The first header field called `name` (ignoring ASCII case), unfolded and trimmed.
    pub fn header(&self, name: &str) -> Option<String> {
        let text = String::from_utf8_lossy(&self.data);
        let head = text.split("\r\n\r\n").next().unwrap_or("");
        let mut found: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(value) = found.as_mut() {
                if line.starts_with([' ', '\t']) {
                    value.push(' ');
                    value.push_str(line.trim());
                    continue;
                }
                break;
            }
            if let Some((field, value)) = line.split_once(':')
                && field.eq_ignore_ascii_case(name)
            {
                found = Some(value.trim().to_string());
            }
        }
        found
    }

    /// The message as text (lossy for invalid UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

#[derive(Default)]
struct Shared {
    behaviour: Mutex<Behaviour>,
    received: Mutex<Vec<Received>>,
    arrived: Notify,
}

/// A poisoned lock only means another session panicked; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// The reply of the first refusal that applies (using it up), if any.
    fn refusal(&self, stage: Stage, recipients: &[String]) -> Option<String> {
        let mut b = lock(&self.behaviour);
        let applies = |r: &Refusal| {
            r.stage == stage
                && r.remaining != Some(0)
                && r.recipient
                    .as_ref()
                    .is_none_or(|want| recipients.iter().any(|got| got.eq_ignore_ascii_case(want)))
        };
        let r = b.refusals.iter_mut().find(|r| applies(r))?;
        if let Some(n) = r.remaining.as_mut() {
            *n -= 1;
        }
        let reply = r.reply.clone();
        b.refusals.retain(|r| r.remaining != Some(0));
        Some(reply)
    }
}

/// The running sink. Dropping it stops the server and closes its connections.
pub struct SmtpSink {
    port: u16,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl SmtpSink {
    /// Start on `127.0.0.1` at a free port (inside a Tokio runtime), accepting everything.
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0 for the SMTP sink");
        let port = listener
            .local_addr()
            .expect("the SMTP sink's local address")
            .port();
        let shared = Arc::new(Shared::default());
        let server = tokio::spawn(serve(listener, shared.clone()));
        SmtpSink {
            port,
            shared,
            server,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:PORT`: for lettre's `from_url` this is plain SMTP, no STARTTLS.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Change how the sink answers from now on (sessions read it at each step).
    pub fn update(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut lock(&self.shared.behaviour));
    }

    /// Replace the behaviour (`Behaviour::default()` accepts everything again).
    pub fn set_behaviour(&self, b: Behaviour) {
        *lock(&self.shared.behaviour) = b;
    }

    /// Every message accepted so far, in the order accepted.
    pub fn messages(&self) -> Vec<Received> {
        lock(&self.shared.received).clone()
    }

    /// How many messages were accepted so far.
    pub fn count(&self) -> usize {
        lock(&self.shared.received).len()
    }

    /// Wait until at least `n` messages were accepted; false if `timeout` passed first.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.shared.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            if self.count() >= n {
                return true;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return self.count() >= n;
            }
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Accept connections until aborted; dropping the set ends every session with it.
async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    sessions.spawn(session(stream, shared.clone()));
                }
                // e.g. too many open files: back off a little and go on
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
}

enum Line {
    Text,
    TooLong,
    Eof,
}

/// Read one line into `buf` without its line end (CRLF or a bare LF).
async fn read_line<R: AsyncBufRead + Unpin>(r: &mut R, buf: &mut Vec<u8>) -> std::io::Result<Line> {
    buf.clear();
    let n = (&mut *r)
        .take(MAX_LINE as u64)
        .read_until(b'\n', buf)
        .await?;
    if buf.ends_with(b"\n") {
        buf.pop();
        if buf.ends_with(b"\r") {
            buf.pop();
        }
        return Ok(Line::Text);
    }
    if n < MAX_LINE {
        // the peer closed the connection (perhaps mid-line)
        return Ok(Line::Eof);
    }
    // too long: skip to the end of the line
    loop {
        buf.clear();
        let n = (&mut *r)
            .take(MAX_LINE as u64)
            .read_until(b'\n', buf)
            .await?;
        if buf.ends_with(b"\n") {
            buf.clear();
            return Ok(Line::TooLong);
        }
        if n < MAX_LINE {
            return Ok(Line::Eof);
        }
    }
}

/// The address inside `<…>` after `prefix` (`FROM:` or `TO:`, any case), parameters ignored.
fn path_arg(arg: &str, prefix: &str) -> Option<String> {
    let head = arg.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = arg[prefix.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_string())
}

#[derive(Default)]
struct Transaction {
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

/// Write one reply (one or more lines, each given without its CRLF).
async fn reply<W: AsyncWriteExt + Unpin>(w: &mut W, text: &str) -> std::io::Result<()> {
    let mut out = String::with_capacity(text.len() + 2);
    for line in text.lines() {
        out.push_str(line);
        out.push_str("\r\n");
    }
    w.write_all(out.as_bytes()).await
}

/// One SMTP conversation, until QUIT, a `421` or the peer goes away.
async fn session(stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    reply(&mut w, "220 127.0.0.1 roster-testkit SMTP sink ready").await?;
    let mut tx = Transaction::default();
    let mut line = Vec::new();
    loop {
        match read_line(&mut r, &mut line).await? {
            Line::Eof => return Ok(()),
            Line::TooLong => {
                reply(&mut w, "500 5.5.2 line too long").await?;
                continue;
            }
            Line::Text => {}
        }
        let text = String::from_utf8_lossy(&line).into_owned();
        let (verb, arg) = match text.split_once(' ') {
            Some((v, a)) => (v.to_ascii_uppercase(), a.trim()),
            None => (text.trim().to_ascii_uppercase(), ""),
        };
        match verb.as_str() {
            "EHLO" => {
                tx = Transaction::default();
                reply(&mut w, "250-127.0.0.1 hello\n250-8BITMIME\n250 SMTPUTF8").await?;
            }
            "HELO" => {
                tx = Transaction::default();
                reply(&mut w, "250 127.0.0.1 hello").await?;
            }
            "MAIL" => {
                if tx.mail_from.is_some() {
                    reply(&mut w, "503 5.5.1 MAIL already given; RSET first").await?;
                } else if let Some(from) = path_arg(arg, "FROM:") {
                    tx.mail_from = Some(from);
                    reply(&mut w, "250 2.1.0 OK").await?;
                } else {
                    reply(&mut w, "501 5.5.4 syntax: MAIL FROM:<address>").await?;
                }
            }
            "RCPT" => {
                let Some(to) = path_arg(arg, "TO:") else {
                    reply(&mut w, "501 5.5.4 syntax: RCPT TO:<address>").await?;
                    continue;
                };
                if tx.mail_from.is_none() {
                    reply(&mut w, "503 5.5.1 MAIL first").await?;
                } else if let Some(refused) = shared.refusal(Stage::Rcpt, std::slice::from_ref(&to))
                {
                    reply(&mut w, &refused).await?;
                    if refused.starts_with("421") {
                        return Ok(());
                    }
                } else {
                    tx.rcpt_to.push(to);
                    reply(&mut w, "250 2.1.5 OK").await?;
                }
            }
            "DATA" => {
                if tx.rcpt_to.is_empty() {
                    reply(&mut w, "503 5.5.1 RCPT first").await?;
                    continue;
                }
                reply(&mut w, "354 end data with <CR><LF>.<CR><LF>").await?;
                let data = match read_data(&mut r, &mut line).await? {
                    Data::Gone => return Ok(()),
                    Data::TooBig => None,
                    Data::Message(data) => Some(data),
                };
                let tx = std::mem::take(&mut tx);
                if !finish_message(&mut w, &shared, tx, data).await? {
                    return Ok(());
                }
            }
            "RSET" => {
                tx = Transaction::default();
                reply(&mut w, "250 2.0.0 OK").await?;
            }
            "NOOP" => reply(&mut w, "250 2.0.0 OK").await?,
            "QUIT" => {
                reply(&mut w, "221 2.0.0 bye").await?;
                return Ok(());
            }
            _ => reply(&mut w, "502 5.5.2 command not implemented").await?,
        }
    }
}

/// What followed `354`.
enum Data {
    /// The message, dot-unstuffed.
    Message(Vec<u8>),
    /// Bigger than `MAX_MESSAGE` (read to its end and dropped).
    TooBig,
    /// The peer went away before the final `.`.
    Gone,
}

async fn read_data<R: AsyncBufRead + Unpin>(
    r: &mut R,
    line: &mut Vec<u8>,
) -> std::io::Result<Data> {
    let mut data = Vec::new();
    let mut too_big = false;
    loop {
        match read_line(r, line).await? {
            Line::Eof => return Ok(Data::Gone),
            Line::TooLong => too_big = true,
            Line::Text if line.as_slice() == b"." => break,
            Line::Text => {
                let text = line.strip_prefix(b".").unwrap_or(line);
                if data.len() + text.len() + 2 > MAX_MESSAGE {
                    too_big = true;
                }
                if !too_big {
                    data.extend_from_slice(text);
                    data.extend_from_slice(b"\r\n");
                }
            }
        }
    }
    Ok(if too_big {
        Data::TooBig
    } else {
        Data::Message(data)
    })
}

/// Answer a complete message (`None`: too big) after the delay, and keep it if accepted.
/// False: close the connection now.
async fn finish_message<W: AsyncWriteExt + Unpin>(
    w: &mut W,
    shared: &Shared,
    tx: Transaction,
    data: Option<Vec<u8>>,
) -> std::io::Result<bool> {
    let delay = lock(&shared.behaviour).delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let Some(data) = data else {
        reply(w, "552 5.3.4 message too big").await?;
        return Ok(true);
    };
    if let Some(refused) = shared.refusal(Stage::Data, &tx.rcpt_to) {
        reply(w, &refused).await?;
        return Ok(!refused.starts_with("421"));
    }
    reply(w, "250 2.0.0 OK queued").await?;
    lock(&shared.received).push(Received {
        mail_from: tx.mail_from.unwrap_or_default(),
        rcpt_to: tx.rcpt_to,
        data,
        at: Instant::now(),
    });
    shared.arrived.notify_waiters();
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_with_or_without_a_space_and_parameters() {
        assert_eq!(
            path_arg("FROM:<a@b.c> BODY=8BITMIME", "FROM:").as_deref(),
            Some("a@b.c")
        );
        assert_eq!(path_arg("to: <x@y.z>", "TO:").as_deref(), Some("x@y.z"));
        assert_eq!(path_arg("FROM:<>", "FROM:").as_deref(), Some(""));
        assert_eq!(path_arg("FROM:a@b.c", "FROM:"), None);
        assert_eq!(path_arg("TO", "TO:"), None);
        assert_eq!(path_arg("tö:<a>", "TO:"), None);
    }

    #[test]
    fn headers_are_found_ignoring_case_and_unfolded() {
        let r = Received {
            mail_from: String::new(),
            rcpt_to: vec![],
            data: b"Subject: one\r\n two\r\nmessage-id: <x@y>\r\n\r\nMessage-ID: body\r\n".to_vec(),
            at: Instant::now(),
        };
        assert_eq!(r.header("subject").as_deref(), Some("one two"));
        assert_eq!(r.header("Message-ID").as_deref(), Some("<x@y>"));
        assert_eq!(r.header("To"), None);
    }

    #[test]
    fn counted_refusals_are_used_up_and_recipient_ones_stay() {
        let s = Shared::default();
        lock(&s.behaviour).refusals = vec![
            Refusal::recipient("Bad@Example.com", Stage::Rcpt, "550 5.1.1 no such user"),
            Refusal::next(1, Stage::Rcpt, "451 4.3.0 busy"),
        ];
        let bad = ["bad@example.com".to_string()];
        let good = ["good@example.com".to_string()];
        assert_eq!(s.refusal(Stage::Data, &good), None);
        assert_eq!(
            s.refusal(Stage::Rcpt, &good).as_deref(),
            Some("451 4.3.0 busy")
        );
        assert_eq!(s.refusal(Stage::Rcpt, &good), None);
        for _ in 0..2 {
            assert_eq!(
                s.refusal(Stage::Rcpt, &bad).as_deref(),
                Some("550 5.1.1 no such user")
            );
        }
        assert_eq!(lock(&s.behaviour).refusals.len(), 1);
    }
}
