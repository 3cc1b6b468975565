//! The answers every operation shares, added to the OpenAPI document by one rule instead of
//! sixty annotations: who may call it (the extractors of [`crate::extract`]), and the problem
//! documents its extractors, its parameters and the middleware can answer. Each handler's own
//! `#[utoipa::path]` lists only what its service adds (409 `last_admin`, 410 for invitations, …);
//! this fills in the rest and gives every 4xx/5xx the `Problem` schema.

use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Required, Response};

/// What a caller must present, decided by where the route lives (as the handlers' extractors
/// do): an app's routes take a session or an API key of that app (`AppAuth`), `/me` routes a
/// session (`Auth`, or `AuthAny` for [`BEFORE_TERMS`]), everything else nothing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    Public,
    /// A session; `terms`: the current terms must have been agreed to.
    Session {
        terms: bool,
    },
    /// A session or an API key of the app.
    App,
}

/// `/me` operations a person may use before agreeing to new terms (`AuthAny`): who am I, agree,
/// and setting up the second step an app may require first.
pub const BEFORE_TERMS: &[(&str, &str)] = &[
    ("get", "/api/v1/me"),
    ("post", "/api/v1/me/terms"),
    ("get", "/api/v1/me/two-step"),
    ("post", "/api/v1/me/two-step/totp"),
    ("post", "/api/v1/me/two-step/totp/confirm"),
    ("post", "/api/v1/me/two-step/email"),
    ("get", "/api/v1/me/passkeys"),
    ("post", "/api/v1/me/passkeys/register/start"),
    ("post", "/api/v1/me/passkeys/register/finish"),
];

/// Public operations that use the caller's session when there is one.
const OPTIONAL_SESSION: &[(&str, &str)] = &[
    ("delete", "/api/v1/session"),
    ("post", "/api/v1/invitations/{token}/accept"),
];

/// The access of an operation (method in lower case, path as in the document).
pub fn access(method: &str, path: &str) -> Access {
    if path.starts_with("/api/v1/apps/") {
        Access::App
    } else if path == "/api/v1/me" || path.starts_with("/api/v1/me/") {
        Access::Session {
            terms: !BEFORE_TERMS.contains(&(method, path)),
        }
    } else {
        Access::Public
    }
}

/// Adds the shared answers, the `Idempotency-Key` header of POSTs and the security
/// requirements to every operation; see the module documentation.
pub struct CommonAnswers;

impl utoipa::Modify for CommonAnswers {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, op) in operations(item) {
                complete(method, path, op);
            }
        }
    }
}

fn operations(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("patch", item.patch.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
    .collect()
}

fn params_in(op: &Operation, place: ParameterIn) -> bool {
    op.parameters.iter().flatten().any(|p| match p {
        RefOr::T(p) => p.parameter_in == place,
        RefOr::Ref(_) => false,
    })
}

fn complete(method: &str, path: &str, op: &mut Operation) {
    let mut add: Vec<(u16, &str)> = Vec::new();
    let access = access(method, path);
    match access {
        Access::Public => {}
        Access::Session { terms } => {
            add.push((
                401,
                "unauthenticated: no session, an ended one, or an API key (this needs a session)",
            ));
            if terms {
                add.push((
                    403,
                    "terms_acceptance_required: agree to the current terms first",
                ));
            }
        }
        Access::App => {
            add.push((
                401,
                "unauthenticated: no session or API key, or an ended, expired or revoked one",
            ));
            add.push((
                403,
                "terms_acceptance_required (a session whose ID must agree to new terms), \
                 second_factor_enrolment_required (the app requires two-step verification), or \
                 insufficient_scope (an API key without the scope this needs)",
            ));
            add.push((
                404,
                "not_found: no such app, or the caller is not an active member of it",
            ));
        }
    }
    if params_in(op, ParameterIn::Path) {
        add.push((400, "bad_request: a path segment that cannot be read"));
        add.push((404, "not_found: nothing of that id here"));
    }
    if params_in(op, ParameterIn::Query) {
        add.push((
            400,
            "bad_request: a query parameter of the wrong type or value",
        ));
        add.push((422, "invalid_input: a cursor or filter that is not valid"));
    }
    if op.request_body.is_some() {
        add.push((400, "malformed_json: the body is not JSON"));
        add.push((413, "body_too_large: the body is larger than 64 KiB"));
        add.push((
            415,
            "unsupported_media_type: the body is not application/json",
        ));
        add.push((
            422,
            "invalid_input: the body is not of the documented shape, or a field's value is not valid",
        ));
    }
    if method == "post" {
        add_idempotency_key(op);
        add.push((
            409,
            "idempotency_in_progress: a request with this Idempotency-Key is still running",
        ));
        add.push((
            422,
            "idempotency_key_reused (this Idempotency-Key came with another request) or \
             invalid_input (an Idempotency-Key that is not 1 to 255 visible ASCII characters)",
        ));
    }
    add.push((
        503,
        "unavailable: the database cannot be reached; try again shortly",
    ));
    for (status, why) in add {
        merge(op, status, why);
    }
    for (code, r) in op.responses.responses.iter_mut() {
        let RefOr::T(r) = r else { continue };
        if r.description.is_empty() {
            // a Response Object must have one
            r.description = code
                .parse::<u16>()
                .ok()
                .and_then(|c| axum::http::StatusCode::from_u16(c).ok())
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Answer")
                .to_string();
        }
        let problem = code.starts_with('4') || code.starts_with('5');
        if problem && r.content.is_empty() {
            r.content.insert(
                "application/problem+json".into(),
                RefOr::T(Content::new(Some(Ref::from_schema_name("Problem")))),
            );
        }
    }
    op.security = match access {
        Access::Public if OPTIONAL_SESSION.contains(&(method, path)) => Some(vec![
            SecurityRequirement::default(),
            SecurityRequirement::new("bearer", Vec::<String>::new()),
            SecurityRequirement::new("cookie", Vec::<String>::new()),
        ]),
        Access::Public => None,
        Access::Session { .. } => Some(vec![
            SecurityRequirement::new("bearer", Vec::<String>::new()),
            SecurityRequirement::new("cookie", Vec::<String>::new()),
        ]),
        Access::App => Some(vec![
            SecurityRequirement::new("bearer", Vec::<String>::new()),
            SecurityRequirement::new("cookie", Vec::<String>::new()),
            SecurityRequirement::new("api_key", Vec::<String>::new()),
        ]),
    };
}

/// Adds `why` to the answer `status` of `op` (made if missing), once.
fn merge(op: &mut Operation, status: u16, why: &str) {
    let key = status.to_string();
    let entry = op
        .responses
        .responses
        .entry(key)
        .or_insert_with(|| RefOr::T(Response::new("")));
    if let RefOr::T(r) = entry {
        if r.description.contains(why) {
            return;
        }
        r.description = if r.description.is_empty() {
            why.to_string()
        } else {
            format!("{}; {why}", r.description)
        };
    }
}

fn add_idempotency_key(op: &mut Operation) {
    let param = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Send the same POST again with the same key (1 to 255 visible ASCII characters, \
             e.g. a UUID) and get the first answer replayed (`Idempotent-Replayed: true`) \
             instead of doing it twice; kept a day, per credential.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                .pattern(Some("^[!-~]+$")),
        ))
        .build();
    op.parameters
        .get_or_insert_with(Vec::new)
        .push(RefOr::T(param));
}
