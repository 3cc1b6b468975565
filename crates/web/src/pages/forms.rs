//! One simple form page (title, intro, fields, one button) for the ID's self-service steps:
//! forgot and reset password, change password and login email, agree to the terms.

use super::frame::{Csrf, Nav, Page, PageResult, form_outcome};
use crate::AppState;
use askama::Template;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use roster_core::{Error, FieldError};

pub(super) struct Field {
    pub name: &'static str,
    pub label: String,
    /// `email`, `password`, `text` or `checkbox`.
    pub kind: &'static str,
    pub value: String,
    pub autocomplete: &'static str,
    pub help: Option<String>,
    pub required: bool,
    pub errors: Vec<String>,
}

impl Field {
    pub fn new(name: &'static str, label: impl Into<String>, kind: &'static str) -> Self {
        Field {
            name,
            label: label.into(),
            kind,
            value: String::new(),
            autocomplete: "off",
            help: None,
            required: true,
            errors: Vec::new(),
        }
    }
    pub fn value(mut self, v: impl Into<String>) -> Self {
        self.value = v.into();
        self
    }
    pub fn auto(mut self, a: &'static str) -> Self {
        self.autocomplete = a;
        self
    }
    pub fn help(mut self, h: impl Into<String>) -> Self {
        self.help = Some(h.into());
        self
    }
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }
}

pub(super) struct FormSpec {
    pub title: String,
    pub intro: Vec<String>,
    pub action: String,
    pub hidden: Vec<(&'static str, String)>,
    pub fields: Vec<Field>,
    pub submit: String,
    pub links: Vec<(String, String)>,
    pub error: Option<String>,
    /// Shown instead of the form once it has done its work.
    pub done: Option<String>,
}

impl FormSpec {
    pub fn new(title: impl Into<String>, action: impl Into<String>, submit: &str) -> Self {
        FormSpec {
            title: title.into(),
            intro: Vec::new(),
            action: action.into(),
            hidden: Vec::new(),
            fields: Vec::new(),
            submit: submit.into(),
            links: Vec::new(),
            error: None,
            done: None,
        }
    }
}

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    f: FormSpec,
}

/// Render the form; `err` (a refused submission) becomes field errors or one message.
pub(super) fn render(
    state: &AppState,
    headers: &HeaderMap,
    nav: Option<Nav>,
    mut f: FormSpec,
    err: Option<Error>,
) -> PageResult {
    let retry = err.as_ref().and_then(Error::retry_after);
    let (errors, message, status) = form_outcome(err)?;
    for field in &mut f.fields {
        field.errors = errors.for_field(field.name);
    }
    // field errors for fields the form does not show go in the message
    let unshown: Vec<String> = errors
        .0
        .iter()
        .filter(|e: &&FieldError| !f.fields.iter().any(|x| x.name == e.field))
        .map(|e| e.message.clone())
        .collect();
    f.error = message.or_else(|| (!unshown.is_empty()).then(|| unshown.join(" ")));
    let csrf = Csrf::of(headers, state);
    let t = FormPage {
        product: &state.services.settings().product_name,
        nav,
        csrf: csrf.token.clone(),
        f,
    };
    let mut res = Page::new(&t, &csrf)?.status(status).into_response();
    if let Some(secs) = retry {
        res.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(secs.max(1)),
        );
    }
    Ok(res)
}
