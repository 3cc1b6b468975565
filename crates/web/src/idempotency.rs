//! `Idempotency-Key` on POST: the first request under a key runs and its answer (status, body,
//! `Location`/`ETag`) is kept for a day; the same key with the same request replays that answer
//! (with `Idempotent-Replayed: true`), with another request is 422 `idempotency_key_reused`.
//! Concurrent retries wait for the first to finish. Keys belong to the credential that sent
//! them (a session or an API key); requests without one ignore the header (a shared anonymous
//! namespace would let strangers read each other's answers).

use crate::AppState;
use crate::extract::{access_token, api_key, session_token};
use crate::problem::{ApiError, Problem};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use roster_core::Error;
use roster_core::model::StoredAnswer;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// How long a retry waits for the first request under its key before answering 409.
const WAIT: Duration = Duration::from_secs(15);
/// Largest request body taken under a key (the bulk endpoints' limit).
const REQUEST_LIMIT: usize = 16 * 1024 * 1024;
/// Largest answer kept for replay.
const ANSWER_LIMIT: usize = 32 * 1024 * 1024;
/// The answer headers kept and replayed.
const KEPT_HEADERS: [HeaderName; 2] = [header::LOCATION, header::ETAG];

pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(raw_key) = req.headers().get("idempotency-key") else {
        return next.run(req).await;
    };
    let Ok(key) = raw_key.to_str().map(str::to_string) else {
        return ApiError::from(Error::invalid(
            "Idempotency-Key",
            "Use 1 to 255 visible ASCII characters, e.g. a UUID.",
        ))
        .into_response();
    };
    // an access token is its own scope: it is replaced every few minutes, and its claims are
    // not verified yet here
    let credential = api_key(req.headers())
        .or_else(|| access_token(req.headers()))
        .map(str::to_string)
        .or_else(|| session_token(req.headers(), state.secure_cookies));
    let Some(credential) = credential else {
        return next.run(req).await;
    };
    let scope = Sha256::new()
        .chain_update(b"roster-idempotency\0")
        .chain_update(credential.as_bytes())
        .finalize()
        .to_vec();
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, REQUEST_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "The request body is too large.",
            )
            .into_response();
        }
    };
    let fingerprint = fingerprint(&parts, &bytes);
    let started = Instant::now();
    loop {
        match state
            .services
            .idempotency_begin(state.now(), &scope, &key, &fingerprint)
            .await
        {
            Ok(None) => break,
            Ok(Some(answer)) => return replay(answer),
            Err(Error::IdempotencyInProgress) if started.elapsed() < WAIT => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    let res = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if res.status().is_server_error() {
        // not an answer: let a retry run again
        if let Err(e) = state.services.idempotency_abandon(&scope, &key).await {
            tracing::error!(error = %e, "could not release an idempotency key");
        }
        return res;
    }
    let (rparts, rbody) = res.into_parts();
    let rbytes = match axum::body::to_bytes(rbody, ANSWER_LIMIT).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "could not read an answer to keep for replay");
            let _ = state.services.idempotency_abandon(&scope, &key).await;
            return Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Something went wrong on our side. It has been logged.",
            )
            .into_response();
        }
    };
    let answer = StoredAnswer {
        fingerprint,
        status: rparts.status.as_u16(),
        content_type: rparts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        headers: KEPT_HEADERS
            .iter()
            .filter_map(|h| {
                let v = rparts.headers.get(h)?.to_str().ok()?;
                Some(format!("{}: {v}\n", h.as_str()))
            })
            .collect(),
        body: rbytes.to_vec(),
    };
    if let Err(e) = state
        .services
        .idempotency_finish(&scope, &key, &answer)
        .await
    {
        tracing::error!(error = %e, "could not keep an idempotent answer");
    }
    Response::from_parts(rparts, Body::from(rbytes))
}

/// What makes two requests "the same": method, path and query, content type and body.
fn fingerprint(parts: &axum::http::request::Parts, body: &Bytes) -> Vec<u8> {
    let ct = parts
        .headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    Sha256::new()
        .chain_update(parts.method.as_str().as_bytes())
        .chain_update([0])
        .chain_update(
            parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("")
                .as_bytes(),
        )
        .chain_update([0])
        .chain_update(ct)
        .chain_update([0])
        .chain_update(body)
        .finalize()
        .to_vec()
}

fn replay(a: StoredAnswer) -> Response {
    let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK);
    let mut res = (status, a.body).into_response();
    let h = res.headers_mut();
    if let Some(ct) = a.content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert(header::CONTENT_TYPE, ct);
    }
    for line in a.headers.lines() {
        if let Some((name, value)) = line.split_once(": ")
            && let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            )
        {
            h.insert(n, v);
        }
    }
    h.insert(
        HeaderName::from_static("idempotent-replayed"),
        HeaderValue::from_static("true"),
    );
    res
}
