//! The web viewer's files as the real `pacs serve` sends them: the page at
//! `/` and `/viewer`, assets under `/viewer-assets/`, gzip for clients
//! that accept it, revalidation by ETag, nothing outside the directory,
//! and a page that says what to do when the viewer is not installed.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Server, http};

fn viewer_dir(root: &std::path::Path) -> std::path::PathBuf {
    let dir = root.join("viewer");
    std::fs::create_dir_all(&dir).expect("fixture written");
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>viewer</title>",
    )
    .expect("fixture written");
    let wasm: Vec<u8> = (0..50_000u32).map(|i| (i % 7) as u8).collect();
    std::fs::write(dir.join("viewer_wasm_bg.wasm"), &wasm).expect("fixture written");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&wasm).expect("fixture written");
    std::fs::write(
        dir.join("viewer_wasm_bg.wasm.gz"),
        gz.finish().expect("fixture written"),
    )
    .expect("fixture written");
    std::fs::write(dir.join("app.js"), "export {};").expect("fixture written");
    // Outside the directory: must never be reachable.
    std::fs::write(root.join("secret.txt"), "patient list").expect("fixture written");
    dir
}

/// A server serving the fixture viewer of [`viewer_dir`], in a temp dir.
fn serving_fixture() -> (tempfile::TempDir, std::path::PathBuf, Server) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = viewer_dir(tmp.path());
    let server = Server::start_with(
        &tmp.path().join("data"),
        None,
        &["--viewer-dir", dir.to_str().expect("utf-8 path")],
    );
    (tmp, dir, server)
}

#[test]
fn pages_and_assets_are_served_with_types_gzip_and_etags() {
    let (_tmp, dir, server) = serving_fixture();
    let client = http();

    for page in ["/", "/index.html", "/viewer", "/viewer?study=1.2.3"] {
        let r = client.get(server.url(page)).send().unwrap();
        assert_eq!(r.status(), 200, "{page}");
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(r.text().unwrap(), "<!doctype html><title>viewer</title>");
    }

    let wasm = std::fs::read(dir.join("viewer_wasm_bg.wasm")).unwrap();
    let url = server.url("/viewer-assets/viewer_wasm_bg.wasm");
    let plain = client.get(&url).send().unwrap();
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.headers()["content-type"], "application/wasm");
    assert!(plain.headers().get("content-encoding").is_none());
    let etag = plain.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(plain.bytes().unwrap().as_ref(), wasm.as_slice());

    let gz = client
        .get(&url)
        .header("accept-encoding", "br, gzip;q=0.8")
        .send()
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert_eq!(gz.headers()["content-type"], "application/wasm");
    let body = gz.bytes().unwrap();
    assert!(body.len() < wasm.len() / 4, "the gzip copy is sent");
    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(body.as_ref())
        .read_to_end(&mut inflated)
        .unwrap();
    assert_eq!(inflated, wasm);

    // gzip refused with q=0: the plain file.
    let refused = client
        .get(&url)
        .header("accept-encoding", "gzip;q=0")
        .send()
        .unwrap();
    assert!(refused.headers().get("content-encoding").is_none());

    // A returning browser revalidates: 304 without a body.
    let again = client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().unwrap().is_empty());

    let js = client
        .get(server.url("/viewer-assets/app.js"))
        .send()
        .unwrap();
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );

    let missing = client
        .get(server.url("/viewer-assets/nothing.js"))
        .send()
        .unwrap();
    assert_eq!(missing.status(), 404);
    server.stop();
}

/// Uptime monitors and link checkers ask with HEAD: the answer GET would
/// have, its length included, without the body.
#[test]
fn head_is_answered_as_get_without_the_body() {
    let (_tmp, dir, server) = serving_fixture();
    let client = http();
    let length = |r: &reqwest::blocking::Response| -> u64 {
        r.headers()["content-length"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("a number")
    };

    let page = client.head(server.url("/viewer")).send().unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let etag = page.headers()["etag"].clone();
    assert_eq!(
        length(&page),
        "<!doctype html><title>viewer</title>".len() as u64
    );
    assert!(page.bytes().unwrap().is_empty());
    // The same validator as GET's, so a cache can use either.
    let got = client.get(server.url("/viewer")).send().unwrap();
    assert_eq!(got.headers()["etag"], etag);

    let gz = client
        .head(server.url("/viewer-assets/viewer_wasm_bg.wasm"))
        .header("accept-encoding", "gzip")
        .send()
        .unwrap();
    assert_eq!(gz.status(), 200);
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let gz_len = std::fs::metadata(dir.join("viewer_wasm_bg.wasm.gz"))
        .unwrap()
        .len();
    assert_eq!(length(&gz), gz_len);
    assert!(gz.bytes().unwrap().is_empty());

    let missing = client
        .head(server.url("/viewer-assets/nothing.js"))
        .send()
        .unwrap();
    assert_eq!(missing.status(), 404);

    let health = client.head(server.url("/healthz")).send().unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.headers()["content-type"], "application/json");
    assert!(health.bytes().unwrap().is_empty());

    // Other methods are refused, naming the two that are taken.
    let post = client.post(server.url("/viewer")).send().unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
    server.stop();
}

/// Raw request paths that try to leave the viewer directory.
#[test]
fn asset_paths_cannot_leave_the_viewer_directory() {
    let (_tmp, _dir, server) = serving_fixture();
    for path in [
        "/viewer-assets/../secret.txt",
        "/viewer-assets/..%2fsecret.txt",
        "/viewer-assets/%2e%2e%2fsecret.txt",
        "/viewer-assets/.%2e/secret.txt",
        "/viewer-assets//etc/passwd",
        "/viewer-assets/..%5csecret.txt",
        "/viewer-assets/.hidden",
    ] {
        let mut stream = TcpStream::connect(server.http).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status_line = response.lines().next().unwrap_or_default();
        assert!(
            status_line.contains(" 404 ") || status_line.contains(" 400 "),
            "{path}: {status_line}"
        );
        assert!(!response.contains("patient list"), "{path} leaked a file");
    }
    server.stop();
}

#[test]
fn without_viewer_files_the_page_says_how_to_install_them() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("no-viewer");
    std::fs::create_dir_all(&empty).unwrap();
    let server = Server::start_with_env(
        &tmp.path().join("data"),
        None,
        &[],
        &[("PACS_VIEWER_DIR", empty.to_str().unwrap())],
    );
    for page in ["/", "/viewer?study=1.2", "/viewer-assets/app.js"] {
        let r = http().get(server.url(page)).send().unwrap();
        assert_eq!(r.status(), 503, "{page}");
        let text = r.text().unwrap();
        assert!(text.contains("build-viewer.sh"), "{text}");
        assert!(text.contains("/dicom-web"), "{text}");
    }
    // DICOMweb is unaffected.
    let r = http().get(server.url("/dicom-web/studies")).send().unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    server.stop();
}

/// An address that is no page: a browser gets the page, answered 404 (it
/// says so in the reader's language); a program, and any wrong address
/// under the API, DICOMweb or the assets, gets plain words.
#[test]
fn a_wrong_address_gets_a_page_for_people_and_plain_words_for_programs() {
    let (_tmp, _dir, server) = serving_fixture();
    let client = http();
    let browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    for path in ["/studies", "/viewer/extra", "/worklist/old?x=1"] {
        let r = client
            .get(server.url(path))
            .header("accept", browser_accept)
            .send()
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(r.headers()["vary"], "Accept, Accept-Encoding");
        assert_eq!(r.text().unwrap(), "<!doctype html><title>viewer</title>");
        // The page's ETag must not turn a later visit into a 304 of a 404.
        let again = client
            .get(server.url(path))
            .header("accept", browser_accept)
            .header("if-none-match", "*")
            .send()
            .unwrap();
        assert_eq!(again.status(), 404, "{path}");
    }
    for (path, accept) in [
        ("/studies", "*/*"),
        ("/studies", "application/json"),
        ("/api/nothing", browser_accept),
        ("/dicom-web/nothing", browser_accept),
        ("/viewer-assets/nothing.js", browser_accept),
        ("/healthz/more", browser_accept),
    ] {
        let r = client
            .get(server.url(path))
            .header("accept", accept)
            .send()
            .unwrap();
        assert_eq!(r.status(), 404, "{path} {accept}");
        let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/plain"), "{path} {accept}: {kind}");
        if path == "/studies" {
            // Where a browser gets the page instead.
            assert_eq!(r.headers()["vary"], "Accept", "{path} {accept}");
        }
    }
    // Only GET: a POST to nowhere is still plainly not found.
    let r = client
        .post(server.url("/studies"))
        .header("accept", browser_accept)
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    server.stop();
}
