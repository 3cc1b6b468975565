//! Typed outbox messages → text and HTML bodies with a subject.

use askama::Template;
use roster_core::mailer::OutgoingEmail;
use roster_core::model::{Mail, OutboxMessage};
use roster_core::types::MemberKind;
use time::macros::format_description;

#[derive(Debug, Clone)]
pub struct Renderer {
    pub product_name: String,
    /// Public base URL without trailing slash, e.g. `https://roster.example.com`.
    pub base_url: String,
    /// The From header, e.g. `Roster <no-reply@example.com>`.
    pub from: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("message has no secret to build its link (already sent?)")]
    MissingSecret,
    #[error("template: {0}")]
    Template(#[from] askama::Error),
}

#[derive(Template)]
#[template(path = "invitation.txt")]
struct InvitationText<'a> {
    first_name: Option<&'a str>,
    inviter: &'a str,
    app_name: &'a str,
    app_id: &'a str,
    product: &'a str,
    partner: bool,
    admin: bool,
    link: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationHtml<'a> {
    subject: &'a str,
    first_name: Option<&'a str>,
    inviter: &'a str,
    app_name: &'a str,
    app_id: &'a str,
    product: &'a str,
    partner: bool,
    admin: bool,
    link: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "account_info.txt")]
struct AccountText<'a> {
    first_name: &'a str,
    email: &'a str,
    app_name: &'a str,
    app_id: &'a str,
    product: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "account_info.html")]
struct AccountHtml<'a> {
    subject: &'a str,
    first_name: &'a str,
    email: &'a str,
    app_name: &'a str,
    app_id: &'a str,
    product: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "member_left.txt")]
struct MemberLeftText<'a> {
    member_name: &'a str,
    member_email: &'a str,
    app_name: &'a str,
    app_id: &'a str,
    product: &'a str,
    partner: bool,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "member_left.html")]
struct MemberLeftHtml<'a> {
    subject: &'a str,
    member_name: &'a str,
    member_email: &'a str,
    app_name: &'a str,
    app_id: &'a str,
    product: &'a str,
    partner: bool,
    link: &'a str,
}

/// A notice to one person: paragraphs, an optional code, an optional button, more paragraphs.
#[derive(Template)]
#[template(path = "notice.txt")]
struct NoticeText<'a> {
    first_name: &'a str,
    paragraphs: &'a [String],
    code: Option<&'a str>,
    link: Option<&'a str>,
    link_label: &'a str,
    after: &'a [String],
    product: &'a str,
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticeHtml<'a> {
    subject: &'a str,
    first_name: &'a str,
    paragraphs: &'a [String],
    code: Option<&'a str>,
    link: Option<&'a str>,
    link_label: &'a str,
    after: &'a [String],
    product: &'a str,
}

/// What a notice says, before it is rendered as text and HTML.
struct Notice {
    subject: String,
    paragraphs: Vec<String>,
    code: Option<String>,
    link: Option<(String, String)>,
    after: Vec<String>,
}

fn when(t: &time::OffsetDateTime) -> String {
    t.format(format_description!(
        "[day padding:none] [month repr:long] [year] at [hour]:[minute] UTC"
    ))
    .unwrap_or_else(|_| t.to_string())
}

impl Renderer {
    fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }

    fn notice(&self, first_name: &str, n: Notice) -> Result<(String, String, String), RenderError> {
        let (link, label) = match &n.link {
            Some((l, label)) => (Some(l.as_str()), label.as_str()),
            None => (None, ""),
        };
        let text = NoticeText {
            first_name,
            paragraphs: &n.paragraphs,
            code: n.code.as_deref(),
            link,
            link_label: label,
            after: &n.after,
            product: &self.product_name,
        }
        .render()?;
        let html = NoticeHtml {
            subject: &n.subject,
            first_name,
            paragraphs: &n.paragraphs,
            code: n.code.as_deref(),
            link,
            link_label: label,
            after: &n.after,
            product: &self.product_name,
        }
        .render()?;
        Ok((n.subject, text, html))
    }

    /// The ID-security messages (reset, email change, notices).
    fn render_security(&self, m: &OutboxMessage) -> Result<(String, String, String), RenderError> {
        let product = &self.product_name;
        let reset_link = format!("{}/forgot-password", self.base());
        match &m.mail {
            Mail::PasswordReset {
                first_name,
                expires_at,
                locked,
            } => {
                let secret = m.secret.as_deref().ok_or(RenderError::MissingSecret)?;
                let (token, code) = secret.split_once(' ').unwrap_or((secret, ""));
                let mut paragraphs = Vec::new();
                if *locked {
                    paragraphs.push(format!(
                        "Your {product} ID was locked for a while after several wrong passwords. \
                         If that was you, you can wait and try again, or choose a new password now: \
                         a reset always gets you back in, whatever anyone else types."
                    ));
                    paragraphs.push(
                        "If it was not you, someone may be guessing your password. Choosing a new \
                         one now ends every session of your ID."
                            .to_string(),
                    );
                } else {
                    paragraphs.push(format!(
                        "Someone (we hope you) asked to reset the password of your {product} ID."
                    ));
                }
                let subject = if *locked {
                    format!("Your {product} ID was locked after failed logins")
                } else {
                    format!("Reset your {product} password")
                };
                self.notice(
                    first_name,
                    Notice {
                        subject,
                        paragraphs,
                        code: Some(code.to_string()).filter(|c| !c.is_empty()),
                        link: Some((
                            format!("{}/reset-password/{token}", self.base()),
                            "Choose a new password".into(),
                        )),
                        after: vec![
                            format!(
                                "The link and the code work once, until {}.",
                                when(expires_at)
                            ),
                            "If you did not ask for this, ignore this email: your password stays as it is."
                                .into(),
                        ],
                    },
                )
            }
            Mail::EmailChange {
                first_name,
                new_email,
                expires_at,
            } => {
                let token = m.secret.as_deref().ok_or(RenderError::MissingSecret)?;
                self.notice(
                    first_name,
                    Notice {
                        subject: format!("Confirm your new {product} login email"),
                        paragraphs: vec![format!(
                            "Confirm that you want to log in to {product} with {new_email} from now on."
                        )],
                        code: None,
                        link: Some((
                            format!("{}/confirm-email/{token}", self.base()),
                            "Confirm this email".into(),
                        )),
                        after: vec![
                            format!("The link works once, until {}.", when(expires_at)),
                            "If you did not ask for this, ignore this email: nothing changes.".into(),
                        ],
                    },
                )
            }
            Mail::SecurityNotice {
                first_name,
                event,
                detail,
            } => {
                use roster_core::model::SecurityEvent as E;
                let detail = detail.as_deref().unwrap_or("");
                let (subject, text) = match event {
                    E::PasswordChanged => (
                        format!("Your {product} password was changed"),
                        "The password of your ID was changed, and every other session of it ended."
                            .to_string(),
                    ),
                    E::PasswordReset => (
                        format!("Your {product} password was reset"),
                        "The password of your ID was reset with the link we emailed, and every \
                         session of it ended."
                            .to_string(),
                    ),
                    E::EmailChangeRequested => (
                        format!("A change of your {product} login email was requested"),
                        format!(
                            "Someone logged in to your ID asked to change its login email to \
                             {detail}. Nothing changes unless the link sent to that address is used."
                        ),
                    ),
                    E::EmailChanged => (
                        format!("Your {product} login email was changed"),
                        format!("Your ID now logs in with {detail}, not with this address."),
                    ),
                    E::SecondFactorEnabled => (
                        format!("Two-step verification is on for your {product} ID"),
                        "Logging in to your ID now needs a second step as well as the password; \
                         every other session of it ended."
                            .to_string(),
                    ),
                    E::SecondFactorDisabled => (
                        format!("Two-step verification is off for your {product} ID"),
                        "Logging in to your ID now needs only the password.".to_string(),
                    ),
                    E::SecondFactorsReset => (
                        format!("The second steps of your {product} ID were reset"),
                        "An operator removed the authenticator app, email codes and backup codes \
                         of your ID (usually because you asked: a lost phone). Set up two-step \
                         verification again from Your ID's security."
                            .to_string(),
                    ),
                };
                self.notice(
                    first_name,
                    Notice {
                        subject,
                        paragraphs: vec![text],
                        code: None,
                        link: Some((reset_link, "It was not me: reset my password".into())),
                        after: vec![
                            "If this was you, there is nothing to do.".into(),
                            "If it was not, reset your password now with the button above, and \
                             tell your administrator."
                                .into(),
                        ],
                    },
                )
            }
            Mail::LoginCode { first_name } => {
                let code = m.secret.as_deref().ok_or(RenderError::MissingSecret)?;
                self.notice(
                    first_name,
                    Notice {
                        subject: format!("Your {product} login code: {code}"),
                        paragraphs: vec![format!(
                            "Use this code to finish logging in to your {product} ID."
                        )],
                        code: Some(code.to_string()),
                        link: None,
                        after: vec![
                            "It works once, for 10 minutes.".into(),
                            "If you are not logging in right now, someone knows your password: \
                             change it."
                                .into(),
                        ],
                    },
                )
            }
            _ => Err(RenderError::MissingSecret),
        }
    }

    /// The domain used in Message-IDs.
    pub fn domain(&self) -> String {
        let from = self.from.trim_end_matches('>');
        from.rsplit_once('@')
            .map(|(_, d)| d.to_string())
            .unwrap_or_else(|| "roster.invalid".to_string())
    }

    pub fn render(&self, m: &OutboxMessage) -> Result<OutgoingEmail, RenderError> {
        let (subject, text, html) = match &m.mail {
            Mail::Invitation {
                kind,
                app_name,
                app_id,
                inviter_name,
                invitee_first_name,
                admin,
                expires_at,
            } => {
                let token = m.secret.as_deref().ok_or(RenderError::MissingSecret)?;
                let link = format!("{}/invite/{}", self.base_url.trim_end_matches('/'), token);
                let expires = expires_at
                    .format(format_description!(
                        "[weekday repr:short], [day padding:none] [month repr:long] [year] at [hour]:[minute] UTC"
                    ))
                    .unwrap_or_else(|_| expires_at.to_string());
                let partner = *kind == MemberKind::Partner;
                let subject = format!(
                    "{inviter_name} invited you to {app_name} ({app_id}) on {}",
                    self.product_name
                );
                let text = InvitationText {
                    first_name: invitee_first_name.as_deref(),
                    inviter: inviter_name,
                    app_name,
                    app_id: app_id.as_str(),
                    product: &self.product_name,
                    partner,
                    admin: *admin,
                    link: &link,
                    expires: &expires,
                }
                .render()?;
                let html = InvitationHtml {
                    subject: &subject,
                    first_name: invitee_first_name.as_deref(),
                    inviter: inviter_name,
                    app_name,
                    app_id: app_id.as_str(),
                    product: &self.product_name,
                    partner,
                    admin: *admin,
                    link: &link,
                    expires: &expires,
                }
                .render()?;
                (subject, text, html)
            }
            Mail::AccountInformation {
                first_name,
                email,
                app_name,
                app_id,
            } => {
                let link = format!("{}/app/{}", self.base_url.trim_end_matches('/'), app_id);
                let subject = format!(
                    "Your {} account information for {app_name} ({app_id})",
                    self.product_name
                );
                let text = AccountText {
                    first_name,
                    email,
                    app_name,
                    app_id: app_id.as_str(),
                    product: &self.product_name,
                    link: &link,
                }
                .render()?;
                let html = AccountHtml {
                    subject: &subject,
                    first_name,
                    email,
                    app_name,
                    app_id: app_id.as_str(),
                    product: &self.product_name,
                    link: &link,
                }
                .render()?;
                (subject, text, html)
            }
            Mail::MemberLeft {
                app_name,
                app_id,
                member_name,
                member_email,
                kind,
            } => {
                let link = format!(
                    "{}/app/{}/admin/users?filter=inactive",
                    self.base_url.trim_end_matches('/'),
                    app_id
                );
                let subject = format!("{member_name} left {app_name} ({app_id})");
                let partner = *kind == MemberKind::Partner;
                let text = MemberLeftText {
                    member_name,
                    member_email,
                    app_name,
                    app_id: app_id.as_str(),
                    product: &self.product_name,
                    partner,
                    link: &link,
                }
                .render()?;
                let html = MemberLeftHtml {
                    subject: &subject,
                    member_name,
                    member_email,
                    app_name,
                    app_id: app_id.as_str(),
                    product: &self.product_name,
                    partner,
                    link: &link,
                }
                .render()?;
                (subject, text, html)
            }
            Mail::PasswordReset { .. }
            | Mail::EmailChange { .. }
            | Mail::SecurityNotice { .. }
            | Mail::LoginCode { .. } => self.render_security(m)?,
        };
        Ok(OutgoingEmail {
            message_id: m.message_id_header(&self.domain()),
            from: self.from.clone(),
            to: m.to.clone(),
            subject,
            text,
            html,
            date: m.created_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_core::types::{AppId, Email};
    use time::OffsetDateTime;

    fn renderer() -> Renderer {
        Renderer {
            product_name: "Roster".into(),
            base_url: "http://localhost:8080/".into(),
            from: "Roster <no-reply@roster.example>".into(),
        }
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
        assert!(e.html.contains("Acme &#38; Co") || e.html.contains("Acme &amp; Co"));
        assert!(e.html.contains("Mike &#60;Weiss&#62;") || e.html.contains("Mike &lt;Weiss&gt;"));
        assert!(e.message_id.ends_with("@roster.example>"));
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
}
