//! Sign-in through an identity provider: the real `pacs` configured
//! against a real OpenID Connect provider on loopback, a browser played
//! by reqwest following the redirects by hand. The provider's roles and
//! site become the archive account's; a user without a role for the
//! archive (the provider's own role names grant none) is refused and the
//! refusal is audited.

// Helpers outside `#[test]` functions panic on failure like the tests do.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::Server;
use common::accounts::{add_user, login};
use reqwest::blocking::{Client, Response};
use serde_json::Value;
use test_support::oidc::{OidcTestProvider, TestUser};

/// A browser that keeps no cookies and follows no redirects: the test
/// carries the session cookie itself.
fn browser() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = start + tag[start..].find('"')?;
    Some(
        tag[start..end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

fn location(r: &Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// Starts at the archive's sign-in link, signs in at the provider, and
/// returns the archive's answer to the callback.
fn sign_in(archive: &str, username: &str, password: &str) -> Response {
    let (callback, state_cookie) = to_callback(archive, username, password);
    browser()
        .get(callback)
        .header("cookie", state_cookie)
        .send()
        .unwrap()
}

/// Up to the provider's redirect back: the callback URL, and the cookie
/// the archive gave the browser when the sign-in started.
fn to_callback(archive: &str, username: &str, password: &str) -> (String, String) {
    let b = browser();
    let start = b
        .get(format!("{archive}/api/auth/oidc/login"))
        .send()
        .unwrap();
    assert_eq!(
        start.status(),
        303,
        "the archive sends the browser to the provider"
    );
    let page = b.get(location(&start)).send().unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().unwrap();
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
    let back = b.post(action).form(&fields).send().unwrap();
    assert_eq!(back.status(), 302, "the provider returns the browser");
    let callback = location(&back);
    assert!(
        callback.starts_with(&format!("{archive}/api/auth/oidc/callback")),
        "{callback}"
    );
    let state_cookie = start.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        state_cookie.starts_with("pacs_oidc_state="),
        "{state_cookie}"
    );
    (callback, state_cookie)
}

fn session_cookie(r: &Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("pacs_session=") && !v.starts_with("pacs_session=;"))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

#[test]
fn a_hospital_account_signs_in_through_the_identity_provider() {
    let port = free_port();
    let archive = format!("http://127.0.0.1:{port}");
    let users = vec![
        TestUser {
            username: "dr.aliyev".into(),
            password: "idp password".into(),
            email: Some("aliyev@hospital.example".into()),
            name: Some("Dr Aliyev".into()),
            roles: vec!["offline_access".into(), "pacs-radiologist".into()],
            site: None,
        },
        TestUser {
            username: "admin".into(),
            password: "idp admin".into(),
            email: None,
            name: Some("Not the archive's admin".into()),
            roles: vec!["pacs-admin".into()],
            site: None,
        },
        TestUser::new("visitor", "no role here"),
        TestUser {
            username: "realm.admin".into(),
            password: "runs the provider".into(),
            email: None,
            name: None,
            // The provider's own administrator, and a bare role name.
            roles: vec!["admin".into(), "radiologist".into()],
            site: None,
        },
    ];
    let idp = OidcTestProvider::start(
        users,
        "pacs",
        "client secret",
        &format!("{archive}/api/auth/oidc/callback"),
    )
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    add_user(&data, "admin", "admin", &[]);
    let config = dir.path().join("pacs.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\npublic_url = \"{archive}\"\n\n[auth.oidc]\nissuer = \"{}\"\nclient_id = \"pacs\"\nlabel = \"Sign in with Hospital ID\"\n",
            idp.issuer()
        ),
    )
    .unwrap();
    let server = Server::start_with_env(
        &data,
        Some(&config),
        &["--http-addr", &format!("127.0.0.1:{port}")],
        &[("PACS_OIDC_CLIENT_SECRET", "client secret")],
    );
    assert_eq!(server.http.port(), port);

    let settings: Value = browser()
        .get(format!("{archive}/api/auth/config"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(settings["oidc"], true);
    assert_eq!(settings["oidc_label"], "Sign in with Hospital ID");

    // The radiologist signs in and has a session with the provider's role.
    let done = sign_in(&archive, "dr.aliyev", "idp password");
    assert_eq!(done.status(), 303, "{:?}", done.text());
    assert_eq!(location(&done), "/");
    let cookie = session_cookie(&done).expect("a session cookie");
    let me: Value = browser()
        .get(format!("{archive}/api/auth/me"))
        .header("cookie", &cookie)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(me["username"], "dr.aliyev");
    assert_eq!(me["role"], "radiologist");
    assert_eq!(me["display_name"], "Dr Aliyev");
    let worklist = browser()
        .get(format!("{archive}/api/worklist"))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(worklist.status(), 200, "the session opens the worklist");

    // A provider account without a role for the archive is refused.
    let refused = sign_in(&archive, "visitor", "no role here");
    assert_eq!(refused.status(), 401);
    assert!(session_cookie(&refused).is_none());
    assert!(refused.text().unwrap().contains("no role"));
    // Nor do the provider's own role names, without the archive's prefix.
    let refused = sign_in(&archive, "realm.admin", "runs the provider");
    assert_eq!(refused.status(), 401);
    assert!(session_cookie(&refused).is_none());
    assert!(refused.text().unwrap().contains("pacs-admin"));

    // A callback URL taken to another browser (login CSRF) is refused.
    let (callback, _cookie) = to_callback(&archive, "dr.aliyev", "idp password");
    let elsewhere = browser().get(callback).send().unwrap();
    assert_eq!(elsewhere.status(), 400);
    assert!(session_cookie(&elsewhere).is_none());

    // A provider user whose name is a local account's does not take it over.
    let taken = sign_in(&archive, "admin", "idp admin");
    assert_eq!(taken.status(), 401);
    assert!(
        taken
            .text()
            .unwrap()
            .contains("already belongs to another account")
    );

    // A callback with an unknown state is refused.
    let replay = browser()
        .get(format!(
            "{archive}/api/auth/oidc/callback?state=made-up&code=x"
        ))
        .header("cookie", "pacs_oidc_state=made-up")
        .send()
        .unwrap();
    assert_eq!(replay.status(), 400);

    // The audit trail has both.
    let admin = login(&browser(), &archive, "admin");
    let audit: Value = browser()
        .get(format!("{archive}/api/audit?limit=100"))
        .bearer_auth(admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let events = audit["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["user"] == "dr.aliyev"
        && e["action"] == "login"
        && e["detail"].as_str().unwrap_or("").contains(idp.issuer())));
    assert!(
        events
            .iter()
            .any(|e| e["user"] == "visitor" && e["action"] == "login_failed")
    );
    // The callbacks refused before the provider was asked are there too:
    // the trace a forged or replayed sign-in leaves.
    let refused_here = |words: &str| {
        events.iter().any(|e| {
            e["user"] == "(identity provider)"
                && e["action"] == "login_failed"
                && e["detail"].as_str().is_some_and(|d| d.contains(words))
        })
    };
    assert!(refused_here("not started in this browser"), "{audit}");
    assert!(refused_here("unknown or was already used"), "{audit}");
}
