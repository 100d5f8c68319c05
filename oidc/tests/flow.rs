//! Sign-in against a real OpenID Connect provider over HTTP: the test
//! provider from `test-support`, a browser played by reqwest.

// Helpers outside `#[test]` functions panic on failure like the tests do.
#![allow(clippy::unwrap_used)]

use oidc::{OidcConfig, OidcError, PendingLogin, Provider};
use serde_json::{Value, json};
use test_support::oidc::{Misbehaviour, OidcTestProvider, TestUser};

const CLIENT_ID: &str = "pacs";
const CLIENT_SECRET: &str = "s3cret:with&odd chars";
const REDIRECT: &str = "https://pacs.example/api/auth/oidc/callback";

fn users() -> Vec<TestUser> {
    vec![
        TestUser {
            username: "alice".into(),
            password: "wonderland".into(),
            email: Some("alice@hospital.example".into()),
            name: Some("Alice Liddell".into()),
            roles: vec!["radiologist".into(), "admin".into()],
            site: Some("north".into()),
        },
        TestUser::new("bob", "builder"),
    ]
}

fn start() -> OidcTestProvider {
    OidcTestProvider::start(users(), CLIENT_ID, CLIENT_SECRET, REDIRECT).unwrap()
}

fn config(idp: &OidcTestProvider) -> OidcConfig {
    let mut config = OidcConfig::new(idp.issuer(), CLIENT_ID, CLIENT_SECRET, REDIRECT);
    config.site_claim = Some("site".into());
    config
}

/// The browser: it must not follow the provider's redirect to the
/// archive, whose callback we read ourselves.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn discover(idp: &OidcTestProvider) -> Provider {
    Provider::discover(config(idp), browser()).await.unwrap()
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of `attr="..."` in `tag`.
fn attribute(tag: &str, attr: &str) -> Option<String> {
    let start = tag.find(&format!("{attr}=\""))? + attr.len() + 2;
    let len = tag[start..].find('"')?;
    Some(html_unescape(&tag[start..start + len]))
}

/// What the user's browser does: open the authorization URL, fill in the
/// form, submit it. Returns the answer to the submission.
async fn submit_login(auth_url: &str, username: &str, password: &str) -> reqwest::Response {
    let browser = browser();
    let page = browser.get(auth_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let form_start = html.find("<form").expect("a login form");
    let form_tag = &html[form_start..form_start + html[form_start..].find('>').unwrap()];
    let action = attribute(form_tag, "action").unwrap();
    let mut fields: Vec<(String, String)> = html
        .split('<')
        .filter(|tag| tag.starts_with("input type=\"hidden\""))
        .map(|tag| {
            (
                attribute(tag, "name").unwrap(),
                attribute(tag, "value").unwrap(),
            )
        })
        .collect();
    fields.push(("username".into(), username.into()));
    fields.push(("password".into(), password.into()));
    browser.post(action).form(&fields).send().await.unwrap()
}

/// Signs in at the provider and returns the `code` and `state` of the
/// redirect back to the archive.
async fn code_and_state(auth_url: &str, username: &str, password: &str) -> (String, String) {
    let answer = submit_login(auth_url, username, password).await;
    assert_eq!(answer.status(), 302, "the provider did not redirect");
    let location = answer.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    let url = url::Url::parse(location).unwrap();
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no {name} in {location}"))
    };
    (param("code"), param("state"))
}

/// begin → the provider's login → finish.
async fn sign_in(
    provider: &Provider,
    username: &str,
    password: &str,
) -> Result<oidc::Identity, OidcError> {
    let (auth_url, pending) = provider.begin();
    let (code, state) = code_and_state(&auth_url, username, password).await;
    provider.finish(&pending, &state, &code).await
}

#[tokio::test]
async fn full_flow_signs_the_user_in() {
    let idp = start();
    let provider = discover(&idp).await;
    let identity = sign_in(&provider, "alice", "wonderland").await.unwrap();
    assert_eq!(identity.issuer, idp.issuer());
    assert_eq!(identity.subject, OidcTestProvider::subject_of("alice"));
    assert_eq!(identity.username, "alice");
    assert_eq!(identity.email.as_deref(), Some("alice@hospital.example"));
    assert_eq!(identity.name.as_deref(), Some("Alice Liddell"));
    assert_eq!(identity.roles, ["radiologist", "admin"]);
    assert_eq!(identity.site.as_deref(), Some("north"));
    assert_eq!(idp.last_client_auth(), Some("client_secret_basic"));

    let bob = sign_in(&provider, "bob", "builder").await.unwrap();
    assert_eq!(bob.username, "bob");
    assert_eq!(bob.email, None);
    assert!(bob.roles.is_empty());
}

#[tokio::test]
async fn roles_come_from_a_nested_claim_path() {
    let idp = start();
    let mut config = config(&idp);
    config.roles_claim = "realm_access.roles".into();
    let provider = Provider::discover(config, browser()).await.unwrap();
    let identity = sign_in(&provider, "alice", "wonderland").await.unwrap();
    assert_eq!(identity.roles, ["radiologist", "admin"]);
}

#[tokio::test]
async fn authorization_url_asks_for_the_code_flow_with_pkce() {
    let idp = start();
    let provider = discover(&idp).await;
    let (auth_url, pending) = provider.begin();
    let url = url::Url::parse(&auth_url).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], REDIRECT);
    assert_eq!(q["scope"], "openid profile email");
    assert_eq!(q["state"], pending.state);
    assert_eq!(q["nonce"], pending.nonce);
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(!auth_url.contains(&pending.pkce_verifier));
    let (_, other) = provider.begin();
    assert_ne!(other.state, pending.state);
    assert_ne!(other.pkce_verifier, pending.pkce_verifier);
}

#[tokio::test]
async fn wrong_password_gets_no_code() {
    let idp = start();
    let provider = discover(&idp).await;
    let (auth_url, _) = provider.begin();
    let answer = submit_login(&auth_url, "alice", "looking-glass").await;
    assert_eq!(answer.status(), 200);
    assert!(answer.headers().get("location").is_none());
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("Invalid username or password")
    );
}

#[tokio::test]
async fn provider_refuses_an_unregistered_redirect_or_client() {
    let idp = start();
    let provider = discover(&idp).await;
    let (auth_url, _) = provider.begin();
    for (from, to) in [
        ("redirect_uri=https", "redirect_uri=http"),
        ("client_id=pacs", "client_id=pacsx"),
    ] {
        let tampered = auth_url.replace(from, to);
        assert_ne!(tampered, auth_url);
        let answer = browser().get(&tampered).send().await.unwrap();
        assert_eq!(answer.status(), 400, "{tampered}");
        assert!(answer.headers().get("location").is_none());
    }
}

#[tokio::test]
async fn wrong_state_is_refused_before_the_code_is_spent() {
    let idp = start();
    let provider = discover(&idp).await;
    let (auth_url, pending) = provider.begin();
    let (code, state) = code_and_state(&auth_url, "alice", "wonderland").await;
    let err = provider
        .finish(&pending, "forged", &code)
        .await
        .unwrap_err();
    assert!(matches!(err, OidcError::StateMismatch), "{err}");
    // The code was not exchanged: the genuine callback still succeeds.
    provider.finish(&pending, &state, &code).await.unwrap();
}

#[tokio::test]
async fn code_replay_is_refused() {
    let idp = start();
    let provider = discover(&idp).await;
    let (auth_url, pending) = provider.begin();
    let (code, state) = code_and_state(&auth_url, "alice", "wonderland").await;
    provider.finish(&pending, &state, &code).await.unwrap();
    let err = provider.finish(&pending, &state, &code).await.unwrap_err();
    let OidcError::TokenRefused { error, .. } = &err else {
        panic!("replay not refused by the provider: {err}");
    };
    assert_eq!(error, "invalid_grant");
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_refused() {
    let idp = start();
    let provider = discover(&idp).await;
    let (auth_url, mut pending) = provider.begin();
    let (code, state) = code_and_state(&auth_url, "alice", "wonderland").await;
    pending.pkce_verifier = provider.begin().1.pkce_verifier;
    let err = provider.finish(&pending, &state, &code).await.unwrap_err();
    assert!(
        matches!(err, OidcError::TokenRefused { ref error, .. } if error == "invalid_grant"),
        "{err}"
    );
}

#[tokio::test]
async fn a_sign_in_older_than_ten_minutes_is_refused() {
    let idp = start();
    let provider = discover(&idp).await;
    let (auth_url, mut pending) = provider.begin();
    let (code, state) = code_and_state(&auth_url, "alice", "wonderland").await;
    pending.created_at_unix -= 601;
    let err = provider.finish(&pending, &state, &code).await.unwrap_err();
    assert!(matches!(err, OidcError::LoginExpired), "{err}");
    assert_eq!(
        err.to_string(),
        "the sign-in took longer than 10 minutes; start again"
    );
}

#[tokio::test]
async fn the_pending_login_can_be_finished_by_another_node() {
    let idp = start();
    let node_a = discover(&idp).await;
    let node_b = discover(&idp).await;
    let (auth_url, pending) = node_a.begin();
    let stored = serde_json::to_string(&pending).unwrap();
    let (code, state) = code_and_state(&auth_url, "alice", "wonderland").await;
    let pending: PendingLogin = serde_json::from_str(&stored).unwrap();
    let identity = node_b.finish(&pending, &state, &code).await.unwrap();
    assert_eq!(identity.username, "alice");
}

#[tokio::test]
async fn wrong_client_secret_is_refused_by_the_provider() {
    let idp = start();
    let mut config = config(&idp);
    config.client_secret = "guess".into();
    let provider = Provider::discover(config, browser()).await.unwrap();
    let err = sign_in(&provider, "alice", "wonderland").await.unwrap_err();
    assert!(
        matches!(err, OidcError::TokenRefused { ref error, .. } if error == "invalid_client"),
        "{err}"
    );
    assert!(!format!("{err:?} {err} {provider:?}").contains("guess"));
}

#[tokio::test]
async fn client_secret_post_is_used_when_it_is_the_only_method() {
    let idp = start();
    idp.set_token_auth_methods(&["client_secret_post"]);
    let provider = discover(&idp).await;
    sign_in(&provider, "alice", "wonderland").await.unwrap();
    assert_eq!(idp.last_client_auth(), Some("client_secret_post"));

    idp.set_token_auth_methods(&["private_key_jwt"]);
    let err = Provider::discover(config(&idp), browser())
        .await
        .unwrap_err();
    assert!(
        matches!(err, OidcError::UnsupportedClientAuth { .. }),
        "{err}"
    );
}

/// Each way of getting the ID token wrong, and what the client must say.
#[tokio::test]
async fn bad_id_tokens_are_refused() {
    let idp = start();
    let provider = discover(&idp).await;
    type Expected = fn(&OidcError) -> bool;
    let cases: [(Misbehaviour, Expected); 7] = [
        (Misbehaviour::ForeignKey, |e| {
            matches!(e, OidcError::UnknownKey { .. })
        }),
        (Misbehaviour::ForgedSignature, |e| {
            matches!(e, OidcError::BadSignature)
        }),
        (Misbehaviour::WrongAudience, |e| {
            matches!(e, OidcError::WrongAudience { .. })
        }),
        (Misbehaviour::WrongIssuer, |e| {
            matches!(e, OidcError::WrongIssuer { .. })
        }),
        (Misbehaviour::Expired, |e| {
            matches!(e, OidcError::TokenExpired { .. })
        }),
        (Misbehaviour::WrongNonce, |e| {
            matches!(e, OidcError::NonceMismatch)
        }),
        (
            Misbehaviour::Hs256,
            |e| matches!(e, OidcError::AlgorithmNotAllowed(a) if a == "HS256"),
        ),
    ];
    for (how, expected) in cases {
        idp.misbehave(Some(how));
        let err = sign_in(&provider, "alice", "wonderland").await.unwrap_err();
        assert!(expected(&err), "{how:?} gave: {err}");
    }
    let err = {
        idp.misbehave(Some(Misbehaviour::ForeignKey));
        sign_in(&provider, "alice", "wonderland").await.unwrap_err()
    };
    assert_eq!(
        err.to_string(),
        "the identity provider's token was signed with a key it does not publish (key id foreign-1)"
    );
    idp.misbehave(None);
    sign_in(&provider, "alice", "wonderland").await.unwrap();
}

#[tokio::test]
async fn an_unsigned_token_is_refused() {
    let idp = start();
    let provider = discover(&idp).await;
    idp.craft_id_tokens(Some(Box::new(|claims: &Value| {
        use base64::Engine as _;
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "JWT"})),
            b64(claims)
        )
    })));
    let err = sign_in(&provider, "alice", "wonderland").await.unwrap_err();
    assert!(
        matches!(err, OidcError::AlgorithmNotAllowed(ref a) if a == "none"),
        "{err}"
    );
}

#[tokio::test]
async fn issuer_mismatch_in_discovery_is_refused() {
    let idp = start();
    idp.misbehave(Some(Misbehaviour::IssuerMismatchInDiscovery));
    let err = Provider::discover(config(&idp), browser())
        .await
        .unwrap_err();
    assert!(matches!(err, OidcError::IssuerMismatch { .. }), "{err}");

    idp.misbehave(None);
    let mut trailing_slash = config(&idp);
    trailing_slash.issuer.push('/');
    let err = Provider::discover(trailing_slash, browser())
        .await
        .unwrap_err();
    assert!(matches!(err, OidcError::IssuerMismatch { .. }), "{err}");
}

#[tokio::test]
async fn key_rotation_is_followed_with_one_key_set_fetch() {
    let idp = start();
    let provider = discover(&idp).await;
    assert_eq!(idp.jwks_fetches(), 1);
    sign_in(&provider, "alice", "wonderland").await.unwrap();
    assert_eq!(idp.jwks_fetches(), 1, "known keys are not fetched again");

    idp.rotate_key().unwrap();
    sign_in(&provider, "alice", "wonderland").await.unwrap();
    assert_eq!(
        idp.jwks_fetches(),
        2,
        "an unknown key id fetches the keys once"
    );
    sign_in(&provider, "alice", "wonderland").await.unwrap();
    assert_eq!(idp.jwks_fetches(), 2, "the new keys were cached");

    idp.switch_to_es256().unwrap();
    let identity = sign_in(&provider, "alice", "wonderland").await.unwrap();
    assert_eq!(identity.username, "alice");
    assert_eq!(idp.jwks_fetches(), 3);
}
