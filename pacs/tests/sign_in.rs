//! Sign-in limits against the real server: wrong passwords lock a name
//! for the address they came from, guessing across names locks the
//! address, guessing one name from many addresses locks it for every
//! browser but those it signed in from, a guesser elsewhere never locks a
//! person out, names with no account are answered alike, and behind a
//! trusted reverse proxy the forwarded client is the one counted and
//! audited.

// Set-up helpers fail the test on any error, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use common::accounts::{PASSWORD, add_user};
use common::{Server, http};
use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};

/// A client whose connections come from `address` (any 127.x.y.z is this
/// machine), so one test can be several people.
fn client_from(address: &str) -> Client {
    Client::builder()
        .local_address(address.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn sign_in(client: &Client, server: &Server, user: &str, password: &str) -> Response {
    client
        .post(server.url("/api/auth/login"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .unwrap()
}

fn sign_in_via(
    client: &Client,
    server: &Server,
    forwarded_for: &str,
    user: &str,
    password: &str,
) -> Response {
    client
        .post(server.url("/api/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"username": user, "password": password}))
        .send()
        .unwrap()
}

/// A refusal for too many failures, as a person's browser gets it.
fn assert_locked(reply: Response) {
    assert_eq!(reply.status(), 429);
    assert!(reply.headers().contains_key("retry-after"));
    let body: Value = reply.json().unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("try again"),
        "{body}"
    );
}

/// An archive with a radiologist and an admin, and `config` (TOML) if any.
fn archive(dir: &Path, config: Option<&str>) -> Server {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    add_user(&data, "rad1", "radiologist", &[]);
    add_user(&data, "admin", "admin", &[]);
    match config {
        Some(text) => {
            let file = dir.join("pacs.toml");
            std::fs::write(&file, text).unwrap();
            Server::start_with(&data, Some(&file), &[])
        }
        None => Server::start(&data),
    }
}

/// The audit trail's events of `action`, oldest first, as an admin sees them.
fn audit(server: &Server, action: &str) -> Vec<Value> {
    let client = http();
    let admin = common::accounts::login(&client, &server.url(""), "admin");
    let trail: Value = client
        .get(server.url(&format!("/api/audit?action={action}")))
        .bearer_auth(&admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let mut events = trail["events"].as_array().expect("events").clone();
    events.sort_by_key(|e| e["id"].as_i64());
    events
}

/// Whether the administrator's account list shows `name` as locked.
fn shown_locked(server: &Server, name: &str) -> bool {
    let client = http();
    let admin = common::accounts::login(&client, &server.url(""), "admin");
    let users: Value = client
        .get(server.url("/api/users"))
        .bearer_auth(&admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let account = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == name)
        .unwrap_or_else(|| panic!("{name} in {users}"));
    account["locked"] == true
}

fn addresses(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["address"].as_str().unwrap_or("-"))
        .collect()
}

#[test]
fn a_guesser_elsewhere_does_not_lock_a_person_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = archive(dir.path(), None);
    let guesser = client_from("127.0.0.2");
    for _ in 0..4 {
        assert_eq!(sign_in(&guesser, &server, "rad1", "guess").status(), 401);
    }
    assert_locked(sign_in(&guesser, &server, "rad1", "guess"));
    assert_locked(sign_in(&guesser, &server, "rad1", PASSWORD));

    // The radiologist, at their own desk, is not locked out.
    let desk = client_from("127.0.0.1");
    assert_eq!(sign_in(&desk, &server, "rad1", PASSWORD).status(), 200);
    // An admin sees that the name is under attack.
    assert!(shown_locked(&server, "rad1"));

    // A name with no account is answered exactly alike: a refusal tells
    // nothing of which names exist.
    for _ in 0..4 {
        assert_eq!(sign_in(&guesser, &server, "nobody", "guess").status(), 401);
    }
    assert_locked(sign_in(&guesser, &server, "nobody", "guess"));
    assert_eq!(
        addresses(&audit(&server, "login_failed")),
        vec!["127.0.0.2"; 11]
    );
}

#[test]
fn guessing_across_names_refuses_the_address() {
    let dir = tempfile::tempdir().unwrap();
    let server = archive(dir.path(), Some("[auth]\nmax_failures_per_address = 6\n"));
    let sprayer = client_from("127.0.0.3");
    for i in 0..5 {
        let name = format!("user{i}");
        assert_eq!(sign_in(&sprayer, &server, &name, "guess").status(), 401);
    }
    assert_locked(sign_in(&sprayer, &server, "user5", "guess"));
    // Refused from there even with a right password; elsewhere not.
    assert_locked(sign_in(&sprayer, &server, "rad1", PASSWORD));
    let desk = client_from("127.0.0.4");
    assert_eq!(sign_in(&desk, &server, "rad1", PASSWORD).status(), 200);
}

/// The browser's sign-in cookie a successful sign-in sets, checked to go
/// only with sign-ins and never to scripts.
fn device_cookie(reply: &Response) -> String {
    let set = reply
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("pacs_device="))
        .expect("a sign-in cookie")
        .to_owned();
    for attribute in ["Path=/api/auth/login", "HttpOnly", "SameSite=Strict"] {
        assert!(set.contains(attribute), "{set}");
    }
    set.split(';').next().unwrap().to_owned()
}

fn sign_in_with(client: &Client, server: &Server, cookie: &str, password: &str) -> Response {
    client
        .post(server.url("/api/auth/login"))
        .header("cookie", cookie)
        .json(&json!({"username": "rad1", "password": password}))
        .send()
        .unwrap()
}

#[test]
fn guessing_one_name_from_many_addresses_spares_the_browsers_it_signed_in_from() {
    let dir = tempfile::tempdir().unwrap();
    let server = archive(dir.path(), Some("[auth]\nmax_failures_per_account = 6\n"));
    let desk = client_from("127.0.0.1");
    let first = sign_in(&desk, &server, "rad1", PASSWORD);
    assert_eq!(first.status(), 200);
    let own = device_cookie(&first);

    // Six addresses guess once each: none reaches its own limit of five.
    for i in 10..16 {
        let guesser = client_from(&format!("127.0.0.{i}"));
        let reply = sign_in(&guesser, &server, "rad1", "guess");
        if i < 15 {
            assert_eq!(reply.status(), 401);
        } else {
            assert_locked(reply);
        }
    }
    // An administrator sees that the name is under attack.
    assert!(shown_locked(&server, "rad1"));
    // A browser the name never signed in from waits, right password or
    // not, and so does one with a made-up cookie.
    let elsewhere = client_from("127.0.0.20");
    let refused = sign_in(&elsewhere, &server, "rad1", PASSWORD);
    assert_eq!(refused.status(), 429);
    let said: Value = refused.json().unwrap();
    assert!(
        said["error"]
            .as_str()
            .unwrap()
            .contains("signed in under this name before"),
        "{said}"
    );
    assert_eq!(said["refused"], "name", "{said}");
    let made_up = format!("pacs_device={}", "A".repeat(43));
    assert_locked(sign_in_with(&elsewhere, &server, &made_up, PASSWORD));
    // The radiologist's own browser still signs in, at the desk or on
    // another network, and a wrong password from it is only a failure.
    assert_eq!(sign_in_with(&desk, &server, &own, PASSWORD).status(), 200);
    let travelling = client_from("127.0.0.21");
    assert_eq!(
        sign_in_with(&travelling, &server, &own, "typo").status(),
        401
    );
    assert_eq!(
        sign_in_with(&travelling, &server, &own, PASSWORD).status(),
        200
    );
    // The refusals say why on the audit trail.
    let failed = audit(&server, "login_failed");
    assert!(
        failed.iter().any(|e| e["detail"]
            .as_str()
            .is_some_and(|d| d.contains("unrecognised browsers"))),
        "{failed:?}"
    );

    // A name with no account is refused alike.
    for i in 30..36 {
        let guesser = client_from(&format!("127.0.0.{i}"));
        let reply = sign_in(&guesser, &server, "nobody", "guess");
        assert_eq!(reply.status(), if i < 35 { 401 } else { 429 });
    }

    // A new password ends the locks and forgets the name's browsers: an
    // intruder's would be among them.
    let data = dir.path().join("data");
    common::accounts::pacs_cli(&data, &["user", "passwd", "rad1"], &format!("{PASSWORD}\n"));
    assert_eq!(sign_in(&elsewhere, &server, "rad1", PASSWORD).status(), 200);
    for i in 40..46 {
        sign_in(
            &client_from(&format!("127.0.0.{i}")),
            &server,
            "rad1",
            "guess",
        );
    }
    assert_locked(sign_in_with(&desk, &server, &own, PASSWORD));
}

#[test]
fn behind_a_trusted_proxy_the_forwarded_client_is_counted_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let server = archive(
        dir.path(),
        Some("[server]\ntrusted_proxies = [\"127.0.0.5\"]\n"),
    );
    let proxy = client_from("127.0.0.5");
    for _ in 0..4 {
        let r = sign_in_via(&proxy, &server, "203.0.113.9", "rad1", "guess");
        assert_eq!(r.status(), 401);
    }
    assert_locked(sign_in_via(&proxy, &server, "203.0.113.9", "rad1", "guess"));
    // Another client behind the same proxy signs in.
    let ok = sign_in_via(&proxy, &server, "198.51.100.4", "rad1", PASSWORD);
    assert_eq!(ok.status(), 200);

    // A client that is no trusted proxy cannot choose its address: its
    // header is ignored, and its failures are its own.
    let liar = client_from("127.0.0.6");
    for _ in 0..5 {
        sign_in_via(&liar, &server, "198.51.100.4", "rad1", "guess");
    }
    assert_locked(sign_in_via(
        &liar,
        &server,
        "198.51.100.4",
        "rad1",
        PASSWORD,
    ));
    let ok = sign_in_via(&proxy, &server, "198.51.100.4", "rad1", PASSWORD);
    assert_eq!(ok.status(), 200, "the lie locked out the one it named");

    let mut failed = vec!["203.0.113.9"; 5];
    failed.extend(["127.0.0.6"; 6]);
    assert_eq!(addresses(&audit(&server, "login_failed")), failed);
    let signed_in: Vec<Value> = audit(&server, "login")
        .into_iter()
        .filter(|e| e["user"] == "rad1")
        .collect();
    let rad1 = addresses(&signed_in);
    assert_eq!(rad1, vec!["198.51.100.4", "198.51.100.4"]);
}

#[test]
fn repeated_wrong_passwords_lock_the_name_from_that_address() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    add_user(&data, "rad1", "radiologist", &[]);
    add_user(&data, "admin", "admin", &[]);
    let server = Server::start(&data);
    let client = http();
    let attempt = |password: &str| {
        client
            .post(server.url("/api/auth/login"))
            .json(&json!({"username": "rad1", "password": password}))
            .send()
            .unwrap()
    };
    for _ in 0..4 {
        assert_eq!(attempt("wrong password").status(), 401);
    }
    let locked = attempt("wrong password");
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key("retry-after"));
    let right = attempt(PASSWORD);
    assert_eq!(right.status(), 429, "locked even with the right password");
    let body: Value = right.json().unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("try again"),
        "{body}"
    );
    // An unknown user gets the same answer as a wrong password.
    let unknown = client
        .post(server.url("/api/auth/login"))
        .json(&json!({"username": "nobody", "password": "whatever it is"}))
        .send()
        .unwrap();
    assert_eq!(unknown.status(), 401);
    // The trail names each name tried, with no role: a name may be no
    // account's, and a radiologist's is no referrer's.
    let admin = common::accounts::login(&client, &server.url(""), "admin");
    let trail: Value = client
        .get(server.url("/api/audit?action=login_failed"))
        .bearer_auth(&admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let failed = trail["events"].as_array().expect("events");
    assert_eq!(failed.len(), 7, "{trail}");
    assert!(failed.iter().all(|e| e["role"].is_null()), "{trail}");
    assert!(failed.iter().any(|e| e["user"] == "nobody"), "{trail}");
    // An operator's new password unlocks it.
    common::accounts::pacs_cli(&data, &["user", "passwd", "rad1"], &format!("{PASSWORD}\n"));
    assert_eq!(attempt(PASSWORD).status(), 200);

    // Guesses sent all at once do not outrun the lock: at most five are
    // checked, and the right password right after them is refused too.
    let url = server.url("/api/auth/login");
    let guesses: Vec<_> = (0..12)
        .map(|i| {
            let url = url.clone();
            std::thread::spawn(move || {
                http()
                    .post(url)
                    .json(&json!({"username": "rad1", "password": format!("guess {i}")}))
                    .send()
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let statuses: Vec<u16> = guesses.into_iter().map(|g| g.join().unwrap()).collect();
    assert!(
        statuses.iter().filter(|s| **s == 401).count() <= 4,
        "{statuses:?}"
    );
    assert_eq!(attempt(PASSWORD).status(), 429, "{statuses:?}");

    // A new password signs out the sessions opened with the old one.
    common::accounts::pacs_cli(&data, &["user", "passwd", "rad1"], &format!("{PASSWORD}\n"));
    let token = common::accounts::login(&client, &server.url(""), "rad1");
    let me = |t: &str| {
        client
            .get(server.url("/api/auth/me"))
            .bearer_auth(t)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(me(&token), 200);
    common::accounts::pacs_cli(&data, &["user", "passwd", "rad1"], &format!("{PASSWORD}\n"));
    assert_eq!(me(&token), 401);
}

#[test]
fn a_sign_in_is_taken_in_json_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = archive(dir.path(), None);
    // What a page on another site can make a browser send without asking
    // first: a form, or plain text that happens to be JSON.
    let credentials = json!({"username": "rad1", "password": PASSWORD}).to_string();
    for (content_type, body) in [
        ("text/plain", credentials.clone()),
        (
            "application/x-www-form-urlencoded",
            format!("username=rad1&password={}", PASSWORD.replace(' ', "+")),
        ),
    ] {
        let reply = http()
            .post(server.url("/api/auth/login"))
            .header("content-type", content_type)
            .header("origin", "http://elsewhere.example")
            .body(body)
            .send()
            .unwrap();
        assert_eq!(reply.status(), 415, "{content_type}");
        assert!(
            !reply.headers().contains_key("set-cookie"),
            "{content_type}"
        );
        let said: Value = reply.json().unwrap();
        assert!(said["error"].as_str().unwrap().contains("JSON"), "{said}");
    }
    let reply = http()
        .post(server.url("/api/auth/login"))
        .header("content-type", "application/json; charset=utf-8")
        .body(credentials)
        .send()
        .unwrap();
    assert_eq!(reply.status(), 200);
}

#[test]
fn the_account_list_says_what_each_account_sees() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    common::accounts::add_site(&data, "andijan", "ANDIJAN_CT", "urgent");
    add_user(&data, "admin", "admin", &[]);
    add_user(&data, "rad1", "radiologist", &[]);
    add_user(&data, "rad_a", "radiologist", &["--reads", "andijan"]);
    add_user(&data, "desk", "site", &["--site", "andijan"]);
    add_user(
        &data,
        "yusupov",
        "referrer",
        &["--physician", "Yusupov^Akmal"],
    );
    let listed = common::accounts::pacs_cli(&data, &["user", "list"], "");
    let sees = |name: &str| -> String {
        listed
            .lines()
            .find(|l| l.starts_with(&format!("{name}\t")))
            .and_then(|l| l.split('\t').nth(2))
            .unwrap_or_else(|| panic!("{name} in {listed}"))
            .to_owned()
    };
    assert_eq!(sees("admin"), "everything");
    assert_eq!(sees("rad1"), "reads every site");
    assert_eq!(sees("rad_a"), "reads andijan");
    assert_eq!(sees("desk"), "site andijan");
    assert_eq!(sees("yusupov"), "physician Yusupov^Akmal");
}

/// Served at an https address, the session cookie is `__Host-` prefixed:
/// browsers take it only from this very host over https, so no sibling
/// subdomain of the hospital's domain can plant a session of its own
/// choosing (which the archive would then read) or shadow the reader's.
#[test]
fn over_https_the_session_cookie_belongs_to_this_host_alone() {
    let dir = tempfile::tempdir().unwrap();
    let server = archive(
        dir.path(),
        Some("[server]\npublic_url = \"https://pacs.hospital.example\"\n"),
    );
    let client = http();
    let signed_in = sign_in(&client, &server, "rad1", PASSWORD);
    assert_eq!(signed_in.status(), 200);
    let set = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.contains("pacs_session"))
        .unwrap()
        .to_owned();
    assert!(set.starts_with("__Host-pacs_session="), "{set}");
    assert!(
        set.contains("; Path=/;") && set.ends_with("; Secure"),
        "{set}"
    );
    assert!(!set.to_ascii_lowercase().contains("domain="), "{set}");
    let token = set["__Host-pacs_session=".len()..]
        .split(';')
        .next()
        .unwrap();

    let me = |cookie: String| {
        client
            .get(server.url("/api/auth/me"))
            .header("cookie", cookie)
            .send()
            .unwrap()
    };
    let mine = me(format!("__Host-pacs_session={token}"));
    assert_eq!(mine.status(), 200);
    assert_eq!(mine.json::<Value>().unwrap()["username"], "rad1");
    // The plain name is one this archive never sets over https.
    assert_eq!(me(format!("pacs_session={token}")).status(), 401);

    let out = client
        .post(server.url("/api/auth/logout"))
        .header("cookie", format!("__Host-pacs_session={token}"))
        .send()
        .unwrap();
    assert_eq!(out.status(), 204);
    let cleared = out.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cleared.starts_with("__Host-pacs_session=;"), "{cleared}");
    assert_eq!(me(format!("__Host-pacs_session={token}")).status(), 401);
}
