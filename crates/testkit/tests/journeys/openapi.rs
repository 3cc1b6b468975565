//! The OpenAPI document is exact (issue 10): every answer an operation gives is documented with
//! its schema, every fixed set of values is an enum, every request body has an example. The
//! static checks read the served document; the probe calls every operation with no
//! credentials, with an admin's session and an empty body, and with unreadable JSON, and checks
//! each answer against what the document lists (scripts/schemathesis.sh does the same with
//! generated data).

use reqwest::{Method, StatusCode};
use roster_testkit::TestApp;
use serde_json::Value;

const PROBLEM_REF: &str = "#/components/schemas/Problem";

/// Operations that take no input that could be wrong: they answer an error only when the
/// database cannot be reached (503).
const NO_INPUT: &[&str] = &[
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "GET /api/v1/terms",
    "DELETE /api/v1/session",
];

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            out.push((method.clone(), path.clone(), op.clone()));
        }
    }
    out
}

/// A `$ref`'d schema, or the schema itself.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or("");
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

fn has_example(doc: &Value, content: &Value) -> bool {
    if !content["example"].is_null() || content["examples"].is_object() {
        return true;
    }
    let schema = &content["schema"];
    // `Option<T>` bodies are `oneOf: [T, null]`
    let candidates: Vec<&Value> = match schema["oneOf"].as_array() {
        Some(v) => v.iter().collect(),
        None => vec![schema],
    };
    candidates.into_iter().any(|s| {
        let s = resolve(doc, s);
        !s["example"].is_null() || s["examples"].as_array().is_some_and(|e| !e.is_empty())
    })
}

fn is_string(schema: &Value) -> bool {
    schema["type"] == "string"
        || schema["type"]
            .as_array()
            .is_some_and(|t| t.iter().any(|x| x == "string"))
}

/// A description that lists the values of a plain string (`"a", "b" or "c"`, `` `a` or `b` ``):
/// those belong in an `enum`.
fn lists_values(description: &str) -> bool {
    let quoted = description
        .split(['`', '"'])
        .skip(1)
        .step_by(2)
        .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .count();
    quoted >= 2 && description.contains(" or ")
}

pub(super) async fn the_openapi_document_is_exact(t: TestApp) {
    let doc = t.get("/api/v1/openapi.json", None).await.body;
    let ops = operations(&doc);
    assert!(ops.len() >= 45, "{} operations", ops.len());
    for (method, path, op) in &ops {
        let what = format!("{} {path}", method.to_uppercase());
        let responses = op["responses"].as_object().expect("responses");
        let mut problem_4xx = false;
        let mut problem = false;
        for (status, r) in responses {
            assert!(
                r["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{what} {status}: no description"
            );
            if status.starts_with('4') || status.starts_with('5') {
                let schema = &r["content"]["application/problem+json"]["schema"]["$ref"];
                assert_eq!(schema, PROBLEM_REF, "{what} {status}: {r}");
                problem_4xx |= status.starts_with('4');
                problem = true;
            }
        }
        assert!(problem, "{what}: no problem+json answer");
        assert!(
            problem_4xx || NO_INPUT.contains(&what.as_str()),
            "{what}: no 4xx problem+json answer"
        );
        if let Some(body) = op.get("requestBody") {
            let content = &body["content"]["application/json"];
            if binary_body(op) {
                // an upload (the logo): the image itself, described in words
                assert!(
                    body["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{what}: an upload without a description"
                );
            } else {
                assert!(content.is_object(), "{what}: body not JSON");
                assert!(
                    has_example(&doc, content),
                    "{what}: body without an example"
                );
            }
        }
        for p in op["parameters"].as_array().into_iter().flatten() {
            let d = p["description"].as_str().unwrap_or("");
            assert!(
                !(is_string(&p["schema"]) && p["schema"]["enum"].is_null() && lists_values(d)),
                "{what}: parameter {} lists its values in words: {d}",
                p["name"]
            );
        }
    }
    for (name, s) in doc["components"]["schemas"].as_object().expect("schemas") {
        for (prop, ps) in s["properties"].as_object().into_iter().flatten() {
            let d = ps["description"].as_str().unwrap_or("");
            assert!(
                !(is_string(ps) && ps["enum"].is_null() && lists_values(d)),
                "{name}.{prop} lists its values in words instead of an enum: {d}"
            );
        }
    }
    // the problem schema names every field a problem can carry, and its codes as an enum
    let problem = &doc["components"]["schemas"]["Problem"];
    for field in ["type", "title", "status", "detail", "code", "errors"] {
        assert!(problem["properties"][field].is_object(), "Problem.{field}");
    }
    let codes = problem["properties"]["code"]["enum"]
        .as_array()
        .expect("code enum");
    assert!(codes.iter().any(|c| c == "seat_unavailable"));
    assert!(lists_values("\"user\" or \"partner\""));
}

/// The document's statuses for an operation.
fn documented(op: &Value) -> Vec<u16> {
    op["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(s, _)| s.parse().ok())
        .collect()
}

/// Calls every operation three ways; each answer must be documented, and every error must be
/// problem+json. Logging out is left to the end (it ends the admin's session).
pub(super) async fn every_operation_answers_only_what_it_documents(t: TestApp) {
    let (app, admin) = t.app_with_admin("Probe", 3).await;
    let doc = t.get("/api/v1/openapi.json", None).await.body;
    let mut ops = operations(&doc);
    ops.sort_by_key(|(m, p, _)| (m == "delete" && p == "/api/v1/session", p.clone()));
    for (method, path, op) in &ops {
        let url = path
            .replace("{app_id}", &app.to_string())
            .replace("{token}", "no-such-token")
            .replace("{id}", "0192f3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b")
            .replace("{member_id}", "0192f3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b")
            .replace("{invitation_id}", "0192f3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b")
            .replace("{key_id}", "0192f3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let has_body = op.get("requestBody").is_some();
        let allowed = documented(op);
        let tries: [(&str, Option<&str>, Option<&str>); 3] = [
            ("anonymous", None, has_body.then_some("{}")),
            ("admin", Some(admin.as_str()), has_body.then_some("{}")),
            ("admin, unreadable JSON", Some(admin.as_str()), Some("{\"")),
        ];
        for (how, token, body) in tries {
            if how.contains("unreadable") && !has_body {
                continue;
            }
            let mut rb = t.client.request(m.clone(), format!("{}{url}", t.addr));
            if let Some(token) = token {
                rb = rb.bearer_auth(token);
            }
            if let Some(body) = body {
                rb = rb
                    .header("content-type", "application/json")
                    .body(body.to_string());
            }
            let r = TestApp::resp(rb.send().await.expect("send")).await;
            let what = format!("{} {path} ({how})", method.to_uppercase());
            assert!(
                allowed.contains(&r.status.as_u16()),
                "{what}: {} is not among {allowed:?}: {}",
                r.status,
                r.body
            );
            if r.status.as_u16() >= 400 {
                assert_eq!(r.content_type, "application/problem+json", "{what}");
                assert!(r.body["code"].is_string(), "{what}: {}", r.body);
            }
            if how.contains("unreadable") {
                // JSON where an image is expected is the wrong type, not broken JSON
                let expected = if binary_body(op) {
                    StatusCode::UNSUPPORTED_MEDIA_TYPE
                } else {
                    StatusCode::BAD_REQUEST
                };
                assert_eq!(r.status, expected, "{what}: {}", r.body);
            }
        }
    }
}

/// Whether an operation's body is an upload (only image types, no JSON).
fn binary_body(op: &Value) -> bool {
    op["requestBody"]["content"]
        .as_object()
        .is_some_and(|c| !c.is_empty() && c.keys().all(|k| k.starts_with("image/")))
}
