//! A webhook receiver for tests: a real HTTP server on 127.0.0.1 that records every request
//! and answers with the statuses it is told (200 once the list is used up).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    answers: VecDeque<u16>,
    delay: std::time::Duration,
}

#[derive(Clone)]
pub struct WebhookSink {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

async fn receive(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let delay = inner.lock().expect("sink").delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut i = inner.lock().expect("sink");
    i.received.push(Received {
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let code = i.answers.pop_front().unwrap_or(200);
    StatusCode::from_u16(code).unwrap_or(StatusCode::OK)
}

impl WebhookSink {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = axum::Router::new()
            .route("/hooks", post(receive))
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        WebhookSink {
            url: format!("http://{addr}/hooks"),
            inner,
        }
    }

    /// Answer the next requests with these statuses.
    pub fn answer(&self, codes: &[u16]) {
        self.inner
            .lock()
            .expect("sink")
            .answers
            .extend(codes.iter().copied());
    }

    /// Take this long to answer each request.
    pub fn slow(&self, delay: std::time::Duration) {
        self.inner.lock().expect("sink").delay = delay;
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().expect("sink").received.clone()
    }
}
