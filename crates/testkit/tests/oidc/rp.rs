//! An independent relying party: the `openidconnect` crate (discovery, PKCE, code exchange,
//! ID token validation against the JWKS, userinfo, refresh), driven through Roster's real
//! login pages by a cookie-keeping HTTP client. None of Roster's own token code is used.

use base64::Engine;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, JsonWebKey, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, Scope,
    TokenResponse,
};
use roster_testkit::TestApp;
use roster_testkit::pages::{Got, csrf, get, post};
use serde_json::Value;

#[derive(Debug)]
pub struct HttpError(pub String);
impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for HttpError {}

/// The RP's HTTP client: the test's reqwest, adapted to the crate's request type.
pub async fn http(
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| HttpError(e.to_string()))?;
    let (parts, body) = req.into_parts();
    let mut b = client
        .request(parts.method, parts.uri.to_string())
        .body(body);
    for (k, v) in parts.headers.iter() {
        b = b.header(k, v);
    }
    let res = b.send().await.map_err(|e| HttpError(e.to_string()))?;
    let mut out = http::Response::builder().status(res.status());
    for (k, v) in res.headers() {
        out = out.header(k, v);
    }
    let bytes = res.bytes().await.map_err(|e| HttpError(e.to_string()))?;
    out.body(bytes.to_vec())
        .map_err(|e| HttpError(e.to_string()))
}

pub type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// Discover the provider and make a client.
pub async fn discover(
    t: &TestApp,
    client_id: &str,
    secret: Option<&str>,
    redirect: &str,
) -> Client {
    let meta = CoreProviderMetadata::discover_async(
        IssuerUrl::new(t.addr.clone()).expect("issuer"),
        &http,
    )
    .await
    .expect("discovery");
    CoreClient::from_provider_metadata(
        meta,
        ClientId::new(client_id.into()),
        secret.map(|s| ClientSecret::new(s.into())),
    )
    .set_redirect_uri(RedirectUrl::new(redirect.into()).expect("redirect"))
}

/// One authorization request the RP started.
pub struct Started {
    pub url: String,
    pub state: CsrfToken,
    pub nonce: Nonce,
    pub verifier: PkceCodeVerifier,
}

pub fn start(c: &Client, scopes: &[&str], extra: &[(&str, &str)]) -> Started {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = c
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for s in scopes {
        req = req.add_scope(Scope::new((*s).into()));
    }
    for (k, v) in extra {
        req = req.add_extra_param(*k, *v);
    }
    let (url, state, nonce) = req.url();
    Started {
        url: url.to_string(),
        state,
        nonce,
        verifier,
    }
}

/// The path and query of an absolute URL on the test server.
pub fn local(t: &TestApp, url: &str) -> String {
    url.strip_prefix(&t.addr)
        .expect("on the test server")
        .to_string()
}

/// The address the "continue" page sends the browser to (the hop back to the client).
pub fn continue_target(page: &Got) -> String {
    let i = page
        .html
        .find("id=\"continue\" href=\"")
        .unwrap_or_else(|| panic!("no continue link: {}", page.html))
        + 20;
    let end = page.html[i..].find('"').expect("end") + i;
    unescape(&page.html[i..end])
}

pub fn unescape(s: &str) -> String {
    // named and numeric (decimal or hex) character references, as templates write them
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let ent = &rest[1..end];
        let ch = match ent {
            "amp" => Some('&'),
            "quot" => Some('"'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "apos" => Some('\''),
            e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A query parameter of a URL.
pub fn param(url: &str, name: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    u.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Hidden inputs of the page's form, as pairs.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<input type=\"hidden\" name=\"") {
        rest = &rest[i + 27..];
        let Some(n_end) = rest.find('"') else { break };
        let name = rest[..n_end].to_string();
        let Some(v) = rest.find("value=\"") else {
            break;
        };
        let after = &rest[v + 7..];
        let Some(v_end) = after.find('"') else { break };
        out.push((name, unescape(&after[..v_end])));
        rest = after;
    }
    out
}

/// Submit the page's form that posts to `action`, with its hidden fields plus `extra`.
pub async fn submit(
    b: &reqwest::Client,
    t: &TestApp,
    page: &Got,
    action: &str,
    extra: &[(&str, &str)],
) -> Got {
    let marker = format!("action=\"{action}\"");
    let start = page
        .html
        .find(&marker)
        .unwrap_or_else(|| panic!("no form posting to {action}: {}", page.html));
    let form = &page.html[start..];
    let form = &form[..form.find("</form>").unwrap_or(form.len())];
    let mut fields = hidden_fields(form);
    for (k, v) in extra {
        fields.push(((*k).into(), (*v).into()));
    }
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    post(b, t, action, &form).await
}

/// Follow the browser from the authorization URL through login (password, then the
/// authenticator code when `totp` is given) to the page Roster shows next.
pub async fn through_login(
    b: &reqwest::Client,
    t: &TestApp,
    auth_url: &str,
    email: &str,
    totp: Option<&str>,
) -> Got {
    let first = get(b, t, &local(t, auth_url)).await;
    if first.status != reqwest::StatusCode::SEE_OTHER || !first.location.starts_with("/login") {
        return first;
    }
    let login = get(b, t, &first.location).await;
    let next = param(&format!("{}{}", t.addr, first.location), "next").expect("next");
    let c = csrf(&login.html);
    let r = post(
        b,
        t,
        "/login",
        &[
            ("csrf", &c),
            ("email", email),
            ("password", roster_testkit::GOOD_PASSWORD),
            ("next", &next),
        ],
    )
    .await;
    let r = match totp {
        Some(code) => {
            assert_eq!(
                r.status,
                reqwest::StatusCode::OK,
                "second step expected: {}",
                r.html
            );
            submit(
                b,
                t,
                &r,
                "/login/second-factor",
                &[("method", "totp"), ("code", code)],
            )
            .await
        }
        None => r,
    };
    assert_eq!(r.status, reqwest::StatusCode::SEE_OTHER, "{}", r.html);
    assert!(
        r.location.starts_with("/oauth2/authorize"),
        "{}",
        r.location
    );
    get(b, t, &r.location).await
}

/// The code in the redirect the continue page points at (checking `state` and `iss`).
pub fn code_from(t: &TestApp, page: &Got, s: &Started, redirect: &str) -> String {
    let to = continue_target(page);
    assert!(to.starts_with(redirect), "{to}");
    assert_eq!(
        param(&to, "state").as_deref(),
        Some(s.state.secret().as_str())
    );
    assert_eq!(param(&to, "iss").as_deref(), Some(t.addr.as_str()));
    param(&to, "code").unwrap_or_else(|| panic!("no code in {to}"))
}

/// What the RP got and validated.
pub struct Tokens {
    pub access: String,
    pub refresh: Option<String>,
    pub id_token: String,
    /// The ID token's payload (after the library validated signature, iss, aud, exp, nonce).
    pub claims: Value,
}

pub fn payload(jwt: &str) -> Value {
    let p = jwt.split('.').nth(1).expect("payload");
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(p)
        .expect("base64");
    serde_json::from_slice(&b).expect("json")
}

/// The library's ID token verifier, taking the algorithms Roster offers (RS256 by default,
/// EdDSA for clients registered for it).
pub fn verifier(
    c: &Client,
) -> openidconnect::IdTokenVerifier<'_, openidconnect::core::CoreJsonWebKey> {
    c.id_token_verifier().set_allowed_algs(vec![
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::EdDsa,
    ])
}

pub async fn exchange(c: &Client, code: &str, s: Started) -> Tokens {
    let r = c
        .exchange_code(AuthorizationCode::new(code.into()))
        .expect("token endpoint")
        .set_pkce_verifier(s.verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id = r.id_token().expect("id token");
    let verifier = verifier(c);
    id.claims(&verifier, &s.nonce).expect("ID token validates");
    let id_token = id.to_string();
    Tokens {
        access: r.access_token().secret().clone(),
        refresh: r.refresh_token().map(|t| t.secret().clone()),
        claims: payload(&id_token),
        id_token,
    }
}

/// Refresh; the new ID token is validated too (no nonce on refresh).
pub async fn refresh(c: &Client, rt: &str) -> Result<Tokens, String> {
    let r = c
        .exchange_refresh_token(&RefreshToken::new(rt.into()))
        .expect("token endpoint")
        .request_async(&http)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let id = r.id_token().expect("id token");
    let verifier = verifier(c);
    id.claims(&verifier, |_: Option<&Nonce>| Ok(()))
        .map_err(|e| format!("ID token invalid: {e:?}"))?;
    let id_token = id.to_string();
    Ok(Tokens {
        access: r.access_token().secret().clone(),
        refresh: r.refresh_token().map(|t| t.secret().clone()),
        claims: payload(&id_token),
        id_token,
    })
}

/// Verify a JWS (a logout token) against the provider's JWKS with the library's key code.
pub async fn verify_with_jwks(t: &TestApp, jwt: &str) -> Value {
    let jwks = CoreJsonWebKeySet::fetch_async(
        &openidconnect::JsonWebKeySetUrl::new(format!("{}/oauth2/jwks", t.addr)).expect("url"),
        &http,
    )
    .await
    .expect("jwks");
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[0])
            .expect("header"),
    )
    .expect("header json");
    let alg = match header["alg"].as_str() {
        Some("RS256") => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        Some("EdDSA") => CoreJwsSigningAlgorithm::EdDsa,
        other => panic!("alg {other:?}"),
    };
    let kid = header["kid"].as_str().expect("kid");
    let key = jwks
        .keys()
        .iter()
        .find(|k| k.key_id().map(|i| i.as_str()) == Some(kid))
        .expect("kid in JWKS");
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[2])
        .expect("sig");
    key.verify_signature(&alg, format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
        .expect("signature verifies");
    payload(jwt)
}
