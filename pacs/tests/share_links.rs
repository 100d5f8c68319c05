//! Read-only links to a study against the real server: they end when
//! their creator loses the study, are listed and withdrawn by their
//! creator or an admin, and a browser already signed in opens one without
//! losing its session (or, where its account may not read the study, is
//! signed out properly first).

// Set-up helpers fail the test on any error, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/scu.rs"]
mod scu;
#[path = "common/two_sites.rs"]
mod two_sites;
#[path = "common/dicomweb_support.rs"]
mod web;

use reqwest::Method;
use reqwest::blocking::Client;
use serde_json::{Value, json};
use two_sites::{World, world};

fn new_link(w: &World, study: &str, token: &str) -> String {
    let (status, link) = w.post(
        &format!("/api/studies/{study}/share-link"),
        token,
        json!({}),
    );
    assert_eq!(status, 200, "{link}");
    link["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("/share/")
        .to_owned()
}

/// The status of reading `study`'s metadata with a link's secret.
fn reads_with_link(w: &World, study: &str, secret: &str) -> u16 {
    w.get(
        &format!("/dicom-web/studies/{study}/metadata"),
        Some(secret),
    )
    .0
}

/// Opening a link in a browser: status and page.
fn opens_link(w: &World, secret: &str) -> (u16, String) {
    let page = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(w.server.url(&format!("/share/{secret}")))
        .send()
        .unwrap();
    (page.status().as_u16(), page.text().unwrap())
}

#[test]
fn a_share_link_ends_when_its_creator_loses_the_study() {
    let w = world();
    let a = w.andijan.clone();
    let link = new_link(&w, &a, &w.token("rad_andijan"));
    assert_eq!(reads_with_link(&w, &a, &link), 200);
    common::accounts::pacs_cli(
        &w.server.data_dir,
        &[
            "user",
            "add",
            "rad_andijan",
            "--role",
            "radiologist",
            "--reads",
            "fergana",
        ],
        &format!("{}\n", common::accounts::PASSWORD),
    );
    assert_eq!(
        reads_with_link(&w, &a, &link),
        401,
        "its creator no longer reads Andijan's studies"
    );
    assert_eq!(
        w.get(&format!("/api/studies/{a}/report"), Some(&link)).0,
        401
    );
    assert_eq!(opens_link(&w, &link).0, 404);
}

#[test]
fn share_links_are_listed_and_withdrawn_by_their_creator_or_an_admin() {
    let w = world();
    let a = w.andijan.clone();
    let links = format!("/api/studies/{a}/share-links");
    let (rad1, rad2, admin) = (w.token("rad1"), w.token("rad2"), w.token("admin"));
    let mine = [new_link(&w, &a, &rad1), new_link(&w, &a, &rad1)];
    let other = new_link(&w, &a, &rad2);
    let (status, listed) = w.get(&links, Some(&rad1));
    assert_eq!(status, 200, "{listed}");
    let listed_links = listed["links"].as_array().unwrap();
    assert_eq!(listed_links.len(), 2, "rad1's own: {listed}");
    for link in listed_links {
        assert_eq!(link["created_by"], "rad1", "{link}");
        assert!(link["id"].is_i64(), "{link}");
        assert!(link["created_at"].is_string(), "{link}");
        assert!(link["expires_at"].is_string(), "{link}");
    }
    let creators = |body: &Value| -> Vec<String> {
        let mut c: Vec<String> = body["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["created_by"].as_str().unwrap().to_owned())
            .collect();
        c.sort();
        c
    };
    let everyone = w.get(&links, Some(&admin)).1;
    assert_eq!(creators(&everyone), ["rad1", "rad1", "rad2"]);
    for secret in mine.iter().chain([&other]) {
        assert!(
            !everyone.to_string().contains(secret.as_str()),
            "{everyone}"
        );
    }
    let site = w.token("site_a");
    assert_eq!(w.get(&links, Some(&site)).0, 403);
    assert_eq!(w.call(Method::DELETE, &links, Some(&site), None).0, 403);

    let (status, withdrawn) = w.call(Method::DELETE, &links, Some(&rad1), None);
    assert_eq!(status, 200, "{withdrawn}");
    assert_eq!(withdrawn["withdrawn"], 2);
    for secret in &mine {
        assert_eq!(reads_with_link(&w, &a, secret), 401);
        let (status, page) = opens_link(&w, secret);
        assert_eq!(status, 404);
        assert!(page.contains("withdrawn"), "{page}");
    }
    assert_eq!(
        reads_with_link(&w, &a, &other),
        200,
        "rad2's link is rad2's to withdraw"
    );
    assert!(creators(&w.get(&links, Some(&rad1)).1).is_empty());

    let (status, withdrawn) = w.call(Method::DELETE, &links, Some(&admin), None);
    assert_eq!(status, 200, "{withdrawn}");
    assert_eq!(withdrawn["withdrawn"], 1, "rad2's");
    assert_eq!(reads_with_link(&w, &a, &other), 401);

    let audit = w.get("/api/audit?action=share", Some(&admin)).1;
    let withdrawals: Vec<(&str, &str)> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["study_uid"] == a.as_str())
        .filter_map(|e| Some((e["user"].as_str()?, e["detail"].as_str()?)))
        .filter(|(_, d)| d.starts_with("links withdrawn"))
        .collect();
    assert_eq!(
        withdrawals,
        [
            ("admin", "links withdrawn: 1"),
            ("rad1", "links withdrawn: 2")
        ],
        "{audit}"
    );
}

/// The `pacs_session` cookie a sign-in sets.
fn signed_in_cookie(w: &World, user: &str) -> String {
    let reply = Client::new()
        .post(w.server.url("/api/auth/login"))
        .json(&json!({"username": user, "password": common::accounts::PASSWORD}))
        .send()
        .unwrap();
    assert_eq!(reply.status(), 200);
    set_cookie(&reply).expect("a session cookie")
}

/// The `name=value` of a reply's `Set-Cookie`, if any.
fn set_cookie(reply: &reqwest::blocking::Response) -> Option<String> {
    let value = reply.headers().get("set-cookie")?.to_str().ok()?;
    Some(value.split(';').next()?.to_owned())
}

#[test]
fn a_signed_in_browser_opens_a_link_without_losing_its_session() {
    let w = world();
    let a = w.andijan.clone();
    let link = new_link(&w, &a, &w.token("rad1"));
    let browser = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let open = |cookie: &str| {
        browser
            .get(w.server.url(&format!("/share/{link}")))
            .header("cookie", cookie)
            .send()
            .unwrap()
    };
    let me = |cookie: &str| {
        browser
            .get(w.server.url("/api/auth/me"))
            .header("cookie", cookie)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };

    // A radiologist who reads Andijan opens the study as themselves.
    let rad = signed_in_cookie(&w, "rad_andijan");
    let opened = open(&rad);
    assert_eq!(opened.status(), 303);
    assert_eq!(
        opened.headers()["location"],
        format!("/viewer?study={a}").as_str()
    );
    assert_eq!(set_cookie(&opened), None, "the session is kept");
    assert_eq!(me(&rad), 200);

    // The second step linked from another site, which held the session
    // cookie back, is asked again rather than answered with the link's
    // cookie, which would replace the session unseen: it lacks the step
    // cookie the archive's own page sets. Asked again once by itself, then
    // only by a link to press, so no browser is sent round in a loop.
    let refreshes = |second: &str| {
        let hostile = browser.get(w.server.url(second)).send().unwrap();
        assert_eq!(hostile.status(), 200);
        let cookie = hostile.headers()["set-cookie"].to_str().unwrap();
        assert!(cookie.starts_with("pacs_share_step="), "{cookie}");
        let page = hostile.text().unwrap();
        assert!(page.contains(&format!("/share/{link}?via=")), "{page}");
        page.contains("http-equiv=\"refresh\"")
    };
    assert!(refreshes(&format!("/share/{link}")));
    assert!(refreshes(&format!("/share/{link}?via=page")));
    let forged = format!("/share/{link}?via={}&again=1", "A".repeat(43));
    assert!(!refreshes(&forged), "asked by hand the second time");
    let (second, step) = two_sites::share_second_step(
        browser
            .get(w.server.url(&format!("/share/{link}?via=page")))
            .send()
            .unwrap(),
    );
    let wrong = browser
        .get(w.server.url(&second))
        .header("cookie", format!("pacs_share_step={}", "B".repeat(43)))
        .send()
        .unwrap();
    assert_eq!(wrong.status(), 200, "a step cookie of another page");
    let ours = browser
        .get(w.server.url(&second))
        .header("cookie", step)
        .send()
        .unwrap();
    assert_eq!(ours.status(), 303);
    assert_eq!(set_cookie(&ours), Some(format!("pacs_session={link}")));

    // Fergana's site account may not read it: the link's session takes the
    // browser, and the account's session is ended rather than left valid.
    let site = signed_in_cookie(&w, "site_f");
    let opened = open(&site);
    assert_eq!(opened.status(), 303);
    let with_link = set_cookie(&opened).expect("the link's session");
    assert_eq!(with_link, format!("pacs_session={link}"));
    assert_eq!(me(&site), 401, "the replaced session is signed out");

    let admin = w.token("admin");
    let audit = w.get("/api/audit", Some(&admin)).1;
    let events: Vec<(&str, &str)> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some((e["user"].as_str()?, e["detail"].as_str()?)))
        .filter(|(_, d)| d.contains("shared link"))
        .collect();
    assert!(
        events.contains(&("rad_andijan", "opened a shared link, signed in")),
        "{audit}"
    );
    assert!(
        events
            .iter()
            .any(|(u, d)| *u == "site_f" && d.starts_with("signed out")),
        "{audit}"
    );
}

#[test]
fn only_a_study_here_is_shared_and_only_as_asked() {
    let w = world();
    let a = w.andijan.clone();
    let (rad1, admin) = (w.token("rad1"), w.token("admin"));
    // A study that is not here yet: a link or a share made now would open
    // whatever study later came in under that UID.
    let future = "2.25.5550001";
    for token in [&rad1, &admin] {
        let (status, said) = w.post(
            &format!("/api/studies/{future}/share-link"),
            token,
            json!({}),
        );
        assert_eq!(status, 404, "{said}");
        let (status, said) = w.post(
            &format!("/api/studies/{future}/share"),
            token,
            json!({"username": "yusupov"}),
        );
        assert_eq!(status, 404, "{said}");
        let (status, said) = w.post("/api/studies/not-a-uid/share-link", token, json!({}));
        assert_eq!(status, 400, "{said}");
    }
    // A link asked for in a way the archive does not understand is
    // refused, not made for the default three days.
    for body in [
        json!({"hours": 1.5}),
        json!({"hours": "2"}),
        json!({"hours": -5}),
        json!({"hours": 0}),
        json!({"hours": 721}),
        json!({"hour": 2}),
    ] {
        let (status, said) = w.post(&format!("/api/studies/{a}/share-link"), &rad1, body.clone());
        assert_eq!(status, 400, "{body}: {said}");
        assert!(said["error"].as_str().unwrap().contains("hour"), "{said}");
    }
    let form = w
        .client
        .post(w.server.url(&format!("/api/studies/{a}/share-link")))
        .bearer_auth(&rad1)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("hours=1")
        .send()
        .unwrap();
    assert_eq!(form.status(), 400);
    let (status, link) = w.post(
        &format!("/api/studies/{a}/share-link"),
        &rad1,
        json!({"hours": 2}),
    );
    assert_eq!(status, 200, "{link}");
    let expires = link["expires_at"].as_str().unwrap();
    let (_, listed) = w.get(&format!("/api/studies/{a}/share-links"), Some(&rad1));
    assert_eq!(listed["links"][0]["expires_at"], expires, "{listed}");
    let (status, said) = w.post(
        &format!("/api/studies/{a}/share"),
        &rad1,
        json!({"username": ["yusupov"]}),
    );
    assert_eq!(status, 400, "{said}");
    // Nothing of the refused asks was made.
    assert_eq!(listed["links"].as_array().unwrap().len(), 1, "{listed}");
}
