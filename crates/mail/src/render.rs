//! Typed outbox messages → subject, text and HTML, through the templates (one shared layout).

use crate::templates::{TemplateError, Templates};
use roster_core::mailer::OutgoingEmail;
use roster_core::model::{Mail, NotificationKind, OutboxMessage};
use roster_core::types::MemberKind;
use serde_json::{Value, json};
use std::sync::Arc;
use time::macros::format_description;

#[derive(Debug, Clone)]
pub struct Renderer {
    pub product_name: String,
    /// Public base URL without trailing slash, e.g. `https://roster.example.com`.
    pub base_url: String,
    /// The From header, e.g. `Roster <no-reply@example.com>`.
    pub from: String,
    /// An optional Reply-To header (e.g. a support mailbox).
    pub reply_to: Option<String>,
    /// The domain of Message-IDs (never `localhost`).
    pub message_domain: String,
    /// How to get help, one sentence (the Account Information email and receipts).
    pub help: String,
    templates: Arc<Templates>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("message has no secret to build its link (already sent?)")]
    MissingSecret,
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// `Roster <no-reply@example.com>` → `example.com`; a local name (`localhost`, `*.localhost`,
/// no dot) gives `roster.invalid`, so that no Message-ID ever names `localhost`.
pub fn message_domain_of(from: &str) -> String {
    let from = from.trim().trim_end_matches('>');
    let domain = from
        .rsplit_once('@')
        .map(|(_, d)| d.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if domain.is_empty()
        || !domain.contains('.')
        || domain == "localhost"
        || domain.ends_with(".localhost")
        || domain.ends_with(".local")
    {
        "roster.invalid".to_string()
    } else {
        domain
    }
}

fn when(t: &time::OffsetDateTime) -> String {
    t.format(format_description!(
        "[weekday repr:short], [day padding:none] [month repr:long] [year] at [hour]:[minute] UTC"
    ))
    .unwrap_or_else(|_| t.to_string())
}

/// What one message needs from its templates.
struct Prepared {
    template: &'static str,
    vars: Value,
    unsubscribe_url: Option<String>,
}

impl Renderer {
    /// The built-in templates, the given names and addresses; Message-IDs on the From domain.
    pub fn new(
        product_name: impl Into<String>,
        base_url: impl Into<String>,
        from: impl Into<String>,
    ) -> Result<Self, TemplateError> {
        let from = from.into();
        Ok(Renderer {
            product_name: product_name.into(),
            base_url: base_url.into().trim_end_matches('/').to_string(),
            message_domain: message_domain_of(&from),
            from,
            reply_to: None,
            help: "Ask an administrator of your app, or contact support.".into(),
            templates: Arc::new(Templates::built_in()?),
        })
    }

    /// Use these templates (built in plus an operator's overrides), after checking that every
    /// one of them renders with sample data.
    pub fn with_templates(mut self, t: Templates) -> Result<Self, TemplateError> {
        self.templates = Arc::new(t);
        self.validate()?;
        Ok(self)
    }

    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }

    /// Render every template with the sample messages (what start-up and `mail preview` do):
    /// the first error names the file and line.
    pub fn validate(&self) -> Result<(), TemplateError> {
        for (_, m) in crate::samples::all() {
            match self.render(&m) {
                Ok(_) => {}
                Err(RenderError::Template(e)) => return Err(e),
                Err(RenderError::MissingSecret) => {}
            }
        }
        Ok(())
    }

    fn prepare(&self, m: &OutboxMessage) -> Result<Prepared, RenderError> {
        let base = self.base();
        let secret = || m.secret.as_deref().ok_or(RenderError::MissingSecret);
        let p = match &m.mail {
            Mail::Invitation {
                kind,
                app_name,
                app_id,
                inviter_name,
                invitee_first_name,
                admin,
                expires_at,
            }
            | Mail::InvitationReminder {
                kind,
                app_name,
                app_id,
                inviter_name,
                invitee_first_name,
                admin,
                expires_at,
            } => Prepared {
                template: if matches!(m.mail, Mail::Invitation { .. }) {
                    "invitation"
                } else {
                    "invitation_reminder"
                },
                vars: json!({
                    "first_name": invitee_first_name,
                    "inviter": inviter_name,
                    "app_name": app_name,
                    "app_id": app_id.as_str(),
                    "partner": *kind == MemberKind::Partner,
                    "admin": admin,
                    "link": format!("{base}/invite/{}", secret()?),
                    "expires": when(expires_at),
                }),
                unsubscribe_url: None,
            },
            Mail::AccountInformation {
                first_name,
                email,
                app_name,
                app_id,
            } => Prepared {
                template: "account_info",
                vars: json!({
                    "first_name": first_name,
                    "email": email,
                    "app_name": app_name,
                    "app_id": app_id.as_str(),
                    "link": format!("{base}/app/{app_id}"),
                    "forgot_url": format!("{base}/forgot-password"),
                }),
                unsubscribe_url: None,
            },
            Mail::AdminNotification {
                app_name,
                app_id,
                kind,
                events,
                more,
                unsubscribe,
            } => {
                let unsubscribe_url = format!("{base}/unsubscribe/{unsubscribe}");
                Prepared {
                    template: "admin_notification",
                    vars: json!({
                        "app_name": app_name,
                        "app_id": app_id.as_str(),
                        "kind": kind.as_str(),
                        "events": events,
                        "more": more,
                        "count": events.len() as u64 + u64::from(*more),
                        "users_url": users_url(base, app_id.as_str(), *kind),
                        "unsubscribe_url": unsubscribe_url,
                        "preferences_url": format!("{base}/app/{app_id}/admin/notifications"),
                    }),
                    unsubscribe_url: Some(unsubscribe_url),
                }
            }
            // queued by an earlier version: rendered as a one-event notification
            Mail::MemberLeft {
                app_name,
                app_id,
                member_name,
                member_email,
                kind,
            } => Prepared {
                template: "admin_notification",
                vars: json!({
                    "app_name": app_name,
                    "app_id": app_id.as_str(),
                    "kind": "left",
                    "events": [{
                        "member_name": member_name,
                        "member_email": member_email,
                        "by": null,
                        "partner": *kind == MemberKind::Partner,
                        "change": null,
                    }],
                    "more": 0,
                    "count": 1,
                    "users_url": users_url(base, app_id.as_str(), NotificationKind::Left),
                }),
                unsubscribe_url: None,
            },
            Mail::MemberNotice {
                first_name,
                app_name,
                app_id,
                change,
                by,
            } => Prepared {
                template: "member_notice",
                vars: json!({
                    "first_name": first_name,
                    "app_name": app_name,
                    "app_id": app_id.as_str(),
                    "change": change.as_str(),
                    "by": by,
                    "link": format!("{base}/app/{app_id}"),
                }),
                unsubscribe_url: None,
            },
            Mail::Provisioned {
                first_name,
                app_name,
                app_id,
                set_password_until,
            } => Prepared {
                template: "provisioned",
                vars: json!({
                    "first_name": first_name,
                    "app_name": app_name,
                    "app_id": app_id.as_str(),
                    "app_link": format!("{base}/app/{app_id}"),
                    "set_password_link": match set_password_until {
                        Some(_) => Some(format!("{base}/reset-password/{}", secret()?)),
                        None => None,
                    },
                    "expires": set_password_until.as_ref().map(when),
                    "reset_page": format!("{base}/forgot-password"),
                }),
                unsubscribe_url: None,
            },
            Mail::OperatorInvitation { expires_at } => Prepared {
                template: "operator_invitation",
                vars: json!({
                    "expires": when(expires_at),
                    "link": format!("{base}/operator/join/{}", secret()?),
                }),
                unsubscribe_url: None,
            },
            Mail::SeatRequestAnswered {
                first_name,
                app_name,
                app_id,
                asked,
                granted,
                note,
            } => Prepared {
                template: "seat_request_answered",
                vars: json!({
                    "first_name": first_name,
                    "app_name": app_name,
                    "app_id": app_id.as_str(),
                    "asked": asked,
                    "granted": granted,
                    "note": note,
                    "link": format!("{base}/app/{app_id}/admin/users"),
                }),
                unsubscribe_url: None,
            },
            Mail::SeatReceipt {
                first_name,
                app_name,
                app_id,
                quantity,
                seats_total,
                reference,
                at,
            } => Prepared {
                template: "seat_receipt",
                vars: json!({
                    "first_name": first_name,
                    "app_name": app_name,
                    "app_id": app_id.as_str(),
                    "quantity": quantity,
                    "seats_total": seats_total,
                    "reference": reference,
                    "at": when(at),
                    "link": format!("{base}/app/{app_id}/admin/users"),
                }),
                unsubscribe_url: None,
            },
            Mail::PasswordReset {
                first_name,
                expires_at,
                locked,
            } => {
                let s = secret()?;
                let (token, code) = s.split_once(' ').unwrap_or((s, ""));
                Prepared {
                    template: "password_reset",
                    vars: json!({
                        "first_name": first_name,
                        "locked": locked,
                        "code": code,
                        "link": format!("{base}/reset-password/{token}"),
                        "reset_page": format!("{base}/reset-password"),
                        "expires": when(expires_at),
                    }),
                    unsubscribe_url: None,
                }
            }
            Mail::EmailChange {
                first_name,
                new_email,
                expires_at,
            } => Prepared {
                template: "email_change",
                vars: json!({
                    "first_name": first_name,
                    "new_email": new_email,
                    "link": format!("{base}/confirm-email/{}", secret()?),
                    "expires": when(expires_at),
                }),
                unsubscribe_url: None,
            },
            Mail::SecurityNotice {
                first_name,
                event,
                detail,
            } => Prepared {
                template: "security_notice",
                vars: json!({
                    "first_name": first_name,
                    "event": serde_json::to_value(event).unwrap_or(Value::Null),
                    "detail": detail.as_deref().unwrap_or(""),
                    "reset_url": format!("{base}/forgot-password"),
                }),
                unsubscribe_url: None,
            },
            Mail::LoginCode { first_name } => Prepared {
                template: "login_code",
                vars: json!({
                    "first_name": first_name,
                    "code": secret()?,
                }),
                unsubscribe_url: None,
            },
        };
        Ok(p)
    }

    /// The variables every template sees, under the message's own.
    fn context(&self, vars: Value) -> Value {
        let mut ctx = json!({
            "product": self.product_name,
            "base_url": self.base(),
            "help": self.help,
            "app_id": null,
            "app_name": null,
            "unsubscribe_url": null,
            "preferences_url": null,
            "subject": "",
        });
        if let (Some(c), Value::Object(v)) = (ctx.as_object_mut(), vars) {
            c.extend(v);
        }
        ctx
    }

    fn jinja(&self, e: minijinja::Error) -> RenderError {
        RenderError::Template(TemplateError::from_jinja(&e, &self.templates.origin))
    }

    /// Subject, text and HTML of one template with these variables.
    fn render_parts(
        &self,
        template: &str,
        vars: Value,
    ) -> Result<(String, String, String), RenderError> {
        let env = &self.templates.env;
        let mut ctx = self.context(vars);
        let txt = env
            .get_template(&format!("{template}.txt"))
            .map_err(|e| self.jinja(e))?;
        let mut captured = txt.render_captured(&ctx).map_err(|e| self.jinja(e))?;
        let subject = captured
            .with_state_mut(|state| state.render_block("subject"))
            .map_err(|e| self.jinja(e))?
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let text = captured.into_output();
        if let Some(c) = ctx.as_object_mut() {
            c.insert("subject".into(), Value::String(subject.clone()));
        }
        let html = env
            .get_template(&format!("{template}.html"))
            .and_then(|t| t.render(&ctx))
            .map_err(|e| self.jinja(e))?;
        Ok((subject, text.trim().to_string() + "\n", html))
    }

    pub fn render(&self, m: &OutboxMessage) -> Result<OutgoingEmail, RenderError> {
        let p = self.prepare(m)?;
        let (subject, text, html) = self.render_parts(p.template, p.vars)?;
        Ok(OutgoingEmail {
            message_id: m.message_id_header(&self.message_domain),
            from: self.from.clone(),
            reply_to: self.reply_to.clone(),
            to: m.to.clone(),
            subject,
            text,
            html,
            date: m.created_at,
            list_unsubscribe: p.unsubscribe_url,
        })
    }

    /// `roster mail preview TEMPLATE`: the named message rendered with sample data.
    pub fn preview(&self, template: &str) -> Result<OutgoingEmail, RenderError> {
        let name = template.trim_end_matches(".txt").trim_end_matches(".html");
        let m = crate::samples::all()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, m)| m)
            .ok_or_else(|| {
                RenderError::Template(TemplateError {
                    file: template.to_string(),
                    line: None,
                    message: format!(
                        "no such message; the messages are: {}",
                        crate::samples::names().join(", ")
                    ),
                })
            })?;
        self.render(&m)
    }
}

fn users_url(base: &str, app_id: &str, kind: NotificationKind) -> String {
    match kind {
        NotificationKind::Left | NotificationKind::StatusChanged => {
            format!("{base}/app/{app_id}/admin/users?filter=inactive")
        }
        _ => format!("{base}/app/{app_id}/admin/users"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_core::model::NotificationEvent;
    use roster_core::types::{AppId, Email};
    use time::OffsetDateTime;

    fn renderer() -> Renderer {
        Renderer::new(
            "Roster",
            "http://localhost:8080/",
            "Roster <no-reply@roster.example>",
        )
        .unwrap()
    }

    fn invitation(kind: MemberKind, name: &str) -> OutboxMessage {
        OutboxMessage::new(
            OffsetDateTime::UNIX_EPOCH,
            &Email::parse("rohit@example.com").unwrap(),
            Mail::Invitation {
                kind,
                app_name: name.into(),
                app_id: AppId::parse("ab123").unwrap(),
                inviter_name: "Mike <Weiss>".into(),
                invitee_first_name: Some("Rohit".into()),
                admin: true,
                expires_at: OffsetDateTime::UNIX_EPOCH,
            },
            Some("tok".into()),
        )
    }

    /// Visible text of an HTML body: tags dropped, entities decoded, whitespace collapsed.
    fn visible(html: &str) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        let mut in_head = false;
        let lower = html.to_ascii_lowercase();
        let mut i = 0;
        while i < html.len() {
            if lower[i..].starts_with("<head") {
                in_head = true;
            }
            if lower[i..].starts_with("</head>") {
                in_head = false;
            }
            let c = html[i..].chars().next().unwrap_or(' ');
            if c == '<' {
                in_tag = true;
                out.push(' ');
            } else if c == '>' {
                in_tag = false;
            } else if !in_tag && !in_head {
                out.push(c);
            }
            i += c.len_utf8();
        }
        let out = out
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'");
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn invitation_names_app_inviter_link_and_expiry() {
        let e = renderer()
            .render(&invitation(MemberKind::User, "Acme & Co"))
            .unwrap();
        assert_eq!(
            e.subject,
            "Mike <Weiss> invited you to Acme & Co (ab123) on Roster"
        );
        assert!(e.text.contains("http://localhost:8080/invite/tok"));
        assert!(e.text.contains("App ID ab123"));
        assert!(e.text.contains("with administrator rights"));
        assert!(e.text.contains("1 January 1970"));
        // HTML is escaped
        assert!(e.html.contains("Acme &amp; Co"), "{}", e.html);
        assert!(e.html.contains("Mike &lt;Weiss&gt;"));
        assert!(!e.html.contains("<Weiss>"));
        assert!(e.message_id.ends_with("@roster.example>"));
        assert_eq!(e.list_unsubscribe, None);
    }

    #[test]
    fn partner_invitation_says_no_seat() {
        let e = renderer()
            .render(&invitation(MemberKind::Partner, "Acme"))
            .unwrap();
        assert!(e.text.contains("as a partner"));
        assert!(e.text.contains("no paid seat"));
    }

    #[test]
    fn a_sent_message_without_secret_does_not_render() {
        let mut m = invitation(MemberKind::User, "Acme");
        m.secret = None;
        assert!(matches!(
            renderer().render(&m),
            Err(RenderError::MissingSecret)
        ));
    }

    #[test]
    fn every_message_renders_both_parts_from_the_layout_saying_the_same() {
        let r = renderer();
        for (name, m) in crate::samples::all() {
            let e = r.render(&m).unwrap_or_else(|err| panic!("{name}: {err}"));
            assert!(!e.subject.is_empty() && !e.subject.contains('\n'), "{name}");
            assert!(e.html.starts_with("<!doctype html>"), "{name}");
            assert!(
                e.html.contains(&format!(
                    "<title>{}",
                    e.subject
                        .replace('&', "&amp;")
                        .replace('<', "&lt;")
                        .replace('>', "&gt;")
                        .replace('\'', "&#39;")
                )),
                "{name}: {}",
                e.html
            );
            // the layout's footer, in both
            assert!(e.text.contains("\n-- \nRoster"), "{name}: {}", e.text);
            let seen = visible(&e.html);
            // every line of the text body (not the footer) says something the HTML says too
            let body = e.text.split("\n-- \n").next().unwrap_or("");
            for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
                for word in line.split_whitespace().filter(|w| w.starts_with("http")) {
                    assert!(
                        e.html.contains(&format!("href=\"{word}\"")) || seen.contains(word),
                        "{name}: link {word} only in the text part"
                    );
                }
                let words: Vec<&str> = line
                    .split_whitespace()
                    .filter(|w| !w.starts_with("http") && w.len() > 3)
                    .collect();
                let missing: Vec<_> = words
                    .iter()
                    .filter(|w| !seen.contains(w.trim_end_matches([':', ',', '.'])))
                    .collect();
                assert!(
                    missing.len() <= words.len() / 4,
                    "{name}: {line:?} is not in the HTML part ({missing:?})\n{seen}"
                );
            }
            // links are absolute on the base URL
            for href in e.html.split("href=\"").skip(1) {
                let url = href.split('"').next().unwrap_or("");
                assert!(url.starts_with("http://localhost:8080"), "{name}: {url}");
            }
        }
    }

    #[test]
    fn notifications_carry_an_unsubscribe_link_and_group_many_events() {
        let r = renderer();
        let (_, one) = crate::samples::all()
            .into_iter()
            .find(|(n, m)| {
                *n == "admin_notification"
                    && matches!(&m.mail, Mail::AdminNotification { events, .. } if events.len() == 1)
            })
            .unwrap();
        let e = r.render(&one).unwrap();
        assert_eq!(
            e.list_unsubscribe.as_deref(),
            Some("http://localhost:8080/unsubscribe/sample-token")
        );
        assert!(e.subject.contains("Rohit Rao"), "{}", e.subject);
        assert!(
            e.text
                .contains("http://localhost:8080/unsubscribe/sample-token")
        );
        let mut many = one.clone();
        if let Mail::AdminNotification { events, more, .. } = &mut many.mail {
            let ev: NotificationEvent = events[0].clone();
            *events = vec![ev; 3];
            *more = 7;
        }
        let e = r.render(&many).unwrap();
        assert!(e.subject.starts_with("10 "), "{}", e.subject);
        assert!(e.text.contains("and 7 more"));
    }

    #[test]
    fn message_ids_never_name_localhost() {
        assert_eq!(
            message_domain_of("Roster <no-reply@roster.localhost>"),
            "roster.invalid"
        );
        assert_eq!(message_domain_of("no-reply@localhost"), "roster.invalid");
        assert_eq!(
            message_domain_of("Roster <no-reply@Mail.Example.com>"),
            "mail.example.com"
        );
    }
}
