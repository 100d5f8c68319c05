//! The Garage harness against the real binary: it starts, serves S3 on
//! its endpoint, and leaves nothing behind when dropped.

use std::net::TcpStream;

use test_support::garage::{self, Garage};

#[test]
fn start_serves_s3_and_drop_cleans_up() -> Result<(), String> {
    if garage::find_binary().is_none() {
        assert!(!garage::required(), "garage is required but not installed");
        eprintln!("SKIPPED: garage not installed");
        return Ok(());
    }
    let g = Garage::start()?;
    assert_eq!(g.region, "garage");
    assert!(g.access_key_id.starts_with("GK"), "{}", g.access_key_id);
    assert!(!g.secret_access_key.is_empty());
    let addr = g
        .endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("endpoint {} is not http", g.endpoint))?
        .to_owned();
    TcpStream::connect(&addr).map_err(|e| format!("S3 endpoint not listening: {e}"))?;
    let listed = g.cli(&["bucket", "list"])?;
    assert!(listed.contains(&g.bucket), "{listed}");
    g.create_bucket("second-bucket")?;
    let dir = g.dir().map(ToOwned::to_owned).ok_or("no dir")?;
    assert!(dir.join("garage.toml").is_file());

    drop(g);
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(TcpStream::connect(&addr).is_err(), "server still listening");
    Ok(())
}
