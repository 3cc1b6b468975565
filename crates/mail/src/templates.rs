//! The mail templates: built in (text + HTML per message, one shared layout), each of which an
//! operator may replace with a file of the same name in the configured templates folder.
//! Templates are MiniJinja (Jinja2 syntax); `.html` templates escape every value, `.txt`
//! templates do not. Undefined variables are errors, so a typo in an override is found when
//! the server starts (every template is rendered with sample data then), not when a message
//! is sent.

use minijinja::{Environment, UndefinedBehavior};
use std::path::{Path, PathBuf};

/// Every template Roster uses, with its built-in text.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("layout.txt", include_str!("../templates/layout.txt")),
    ("layout.html", include_str!("../templates/layout.html")),
    ("macros.txt", include_str!("../templates/macros.txt")),
    ("macros.html", include_str!("../templates/macros.html")),
    (
        "invitation.txt",
        include_str!("../templates/invitation.txt"),
    ),
    (
        "invitation.html",
        include_str!("../templates/invitation.html"),
    ),
    (
        "invitation_reminder.txt",
        include_str!("../templates/invitation_reminder.txt"),
    ),
    (
        "invitation_reminder.html",
        include_str!("../templates/invitation_reminder.html"),
    ),
    (
        "account_info.txt",
        include_str!("../templates/account_info.txt"),
    ),
    (
        "account_info.html",
        include_str!("../templates/account_info.html"),
    ),
    (
        "admin_notification.txt",
        include_str!("../templates/admin_notification.txt"),
    ),
    (
        "admin_notification.html",
        include_str!("../templates/admin_notification.html"),
    ),
    (
        "member_notice.txt",
        include_str!("../templates/member_notice.txt"),
    ),
    (
        "member_notice.html",
        include_str!("../templates/member_notice.html"),
    ),
    (
        "provisioned.txt",
        include_str!("../templates/provisioned.txt"),
    ),
    (
        "provisioned.html",
        include_str!("../templates/provisioned.html"),
    ),
    (
        "operator_invitation.txt",
        include_str!("../templates/operator_invitation.txt"),
    ),
    (
        "operator_invitation.html",
        include_str!("../templates/operator_invitation.html"),
    ),
    (
        "seat_request_answered.txt",
        include_str!("../templates/seat_request_answered.txt"),
    ),
    (
        "seat_request_answered.html",
        include_str!("../templates/seat_request_answered.html"),
    ),
    (
        "seat_receipt.txt",
        include_str!("../templates/seat_receipt.txt"),
    ),
    (
        "seat_receipt.html",
        include_str!("../templates/seat_receipt.html"),
    ),
    (
        "password_reset.txt",
        include_str!("../templates/password_reset.txt"),
    ),
    (
        "password_reset.html",
        include_str!("../templates/password_reset.html"),
    ),
    (
        "email_change.txt",
        include_str!("../templates/email_change.txt"),
    ),
    (
        "email_change.html",
        include_str!("../templates/email_change.html"),
    ),
    (
        "security_notice.txt",
        include_str!("../templates/security_notice.txt"),
    ),
    (
        "security_notice.html",
        include_str!("../templates/security_notice.html"),
    ),
    (
        "login_code.txt",
        include_str!("../templates/login_code.txt"),
    ),
    (
        "login_code.html",
        include_str!("../templates/login_code.html"),
    ),
];

/// A template that cannot be used: the file (or built-in name), the line, what is wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[error("mail template {file}{}: {message}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
pub struct TemplateError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl TemplateError {
    pub(crate) fn from_jinja(e: &minijinja::Error, origin: &Origin) -> Self {
        let name = e.name().unwrap_or("").to_string();
        let file = origin.file_of(&name);
        let mut message = e.kind().to_string();
        if let Some(d) = e.detail() {
            message = format!("{message}: {d}");
        }
        TemplateError {
            file,
            line: e.line(),
            message,
        }
    }
}

/// Where each template came from (for error messages).
#[derive(Debug, Clone, Default)]
pub(crate) struct Origin {
    dir: Option<PathBuf>,
    overridden: Vec<String>,
}

impl Origin {
    fn file_of(&self, name: &str) -> String {
        match &self.dir {
            Some(d) if self.overridden.iter().any(|o| o == name) => {
                d.join(name).display().to_string()
            }
            _ if name.is_empty() => "(unknown)".to_string(),
            _ => format!("{name} (built in)"),
        }
    }
}

/// Values in `.html` templates are escaped (`& < > " '`), but `/` is left alone so that
/// links read as written; `.txt` templates print values as they are.
fn html_formatter(
    out: &mut minijinja::Output,
    state: &minijinja::State,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    if state.auto_escape() == minijinja::AutoEscape::Html
        && !value.is_safe()
        && let Some(s) = value.as_str()
    {
        let mut esc = String::with_capacity(s.len() + 8);
        for c in s.chars() {
            match c {
                '&' => esc.push_str("&amp;"),
                '<' => esc.push_str("&lt;"),
                '>' => esc.push_str("&gt;"),
                '"' => esc.push_str("&quot;"),
                '\'' => esc.push_str("&#39;"),
                c => esc.push(c),
            }
        }
        return out
            .write_str(&esc)
            .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string()));
    }
    minijinja::escape_formatter(out, state, value)
}

/// The loaded templates.
#[derive(Debug)]
pub struct Templates {
    pub(crate) env: Environment<'static>,
    pub(crate) origin: Origin,
}

impl Templates {
    /// The built-in templates only.
    pub fn built_in() -> Result<Self, TemplateError> {
        Self::load(None)
    }

    /// The built-in templates, each replaced by the file of the same name in `dir` when there
    /// is one. A file in `dir` that is not one of Roster's templates is an error (a misspelt
    /// name would otherwise be silently ignored), and so is a syntax error.
    pub fn load(dir: Option<&Path>) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(false);
        env.set_formatter(html_formatter);
        let mut origin = Origin {
            dir: dir.map(Path::to_path_buf),
            overridden: Vec::new(),
        };
        let mut sources: Vec<(String, String)> = BUILT_IN
            .iter()
            .map(|(n, s)| (n.to_string(), s.to_string()))
            .collect();
        if let Some(dir) = dir {
            let entries = std::fs::read_dir(dir).map_err(|e| TemplateError {
                file: dir.display().to_string(),
                line: None,
                message: format!("cannot read the templates folder: {e}"),
            })?;
            let mut names = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|e| TemplateError {
                    file: dir.display().to_string(),
                    line: None,
                    message: e.to_string(),
                })?;
                let path = entry.path();
                if !path.is_file() {
                    continue;
                }
                let Some(name) = path.file_name().and_then(|n| n.to_str()).map(String::from) else {
                    continue;
                };
                if name.starts_with('.') {
                    continue;
                }
                let Some(slot) = sources.iter_mut().find(|(n, _)| *n == name) else {
                    return Err(TemplateError {
                        file: path.display().to_string(),
                        line: None,
                        message: format!(
                            "not a template Roster uses; the names are: {}",
                            BUILT_IN
                                .iter()
                                .map(|(n, _)| *n)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                };
                slot.1 = std::fs::read_to_string(&path).map_err(|e| TemplateError {
                    file: path.display().to_string(),
                    line: None,
                    message: format!("cannot read: {e}"),
                })?;
                names.push(name);
            }
            origin.overridden = names;
        }
        for (name, source) in sources {
            env.add_template_owned(name.clone(), source)
                .map_err(|e| TemplateError::from_jinja(&e, &origin))?;
        }
        Ok(Templates { env, origin })
    }

    /// The names of the templates that came from the override folder.
    pub fn overridden(&self) -> &[String] {
        &self.origin.overridden
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Renderer;

    fn dir_with(files: &[(&str, &str)]) -> PathBuf {
        let d = std::env::temp_dir().join(format!("roster-tpl-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&d).unwrap();
        for (n, s) in files {
            std::fs::write(d.join(n), s).unwrap();
        }
        d
    }

    fn renderer() -> Renderer {
        Renderer::new(
            "Roster",
            "https://roster.example",
            "no-reply@roster.example",
        )
        .unwrap()
    }

    #[test]
    fn an_override_replaces_the_built_in_template() {
        let d = dir_with(&[(
            "login_code.txt",
            "{% extends \"layout.txt\" %}{% block subject %}Code {{ code }}{% endblock %}{% block body %}Your code is {{ code }}.{% endblock %}",
        )]);
        let t = Templates::load(Some(&d)).unwrap();
        assert_eq!(t.overridden(), ["login_code.txt"]);
        let e = renderer()
            .with_templates(t)
            .unwrap()
            .preview("login_code")
            .unwrap();
        assert_eq!(e.subject, "Code 123456");
        assert!(e.text.starts_with("Your code is 123456."), "{}", e.text);
    }

    #[test]
    fn a_syntax_error_names_the_file_and_line() {
        let d = dir_with(&[(
            "invitation.html",
            "{% extends \"layout.html\" %}\n{% block body %}\n{% if %}\n{% endblock %}",
        )]);
        let err = Templates::load(Some(&d)).unwrap_err().to_string();
        assert!(
            err.contains(&d.join("invitation.html").display().to_string()),
            "{err}"
        );
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn an_unknown_variable_names_the_file_and_line() {
        let d = dir_with(&[(
            "seat_receipt.txt",
            "{% extends \"layout.txt\" %}{% block subject %}Receipt{% endblock %}\n{% block body %}\nThanks {{ frist_name }}{% endblock %}",
        )]);
        let t = Templates::load(Some(&d)).unwrap();
        let err = renderer().with_templates(t).unwrap_err().to_string();
        assert!(err.contains("seat_receipt.txt"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("undefined"), "{err}");
    }

    #[test]
    fn a_file_that_is_not_a_template_is_named() {
        let d = dir_with(&[("invitaton.txt", "x")]);
        let err = Templates::load(Some(&d)).unwrap_err().to_string();
        assert!(
            err.contains("invitaton.txt") && err.contains("not a template"),
            "{err}"
        );
    }
}
