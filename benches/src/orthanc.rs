//! The reference archive: Debian's Orthanc with its DICOMweb plugin,
//! started with a generated configuration in a directory of its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::json;

use crate::process::{Server, System, free_port, wait_http_ready};

const ORTHANC: &str = "/usr/sbin/Orthanc";
const DICOMWEB_PLUGIN: &str = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";
/// The AE title the reference answers to.
pub const AET: &str = "ORTHANC";

/// Whether the reference and its DICOMweb plugin are installed
/// (Debian packages `orthanc` and `orthanc-dicomweb`).
pub fn installed() -> bool {
    Path::new(ORTHANC).is_file() && Path::new(DICOMWEB_PLUGIN).is_file()
}

/// The configuration: loopback HTTP only, no authentication, its own
/// storage and SQLite index under `dir`, the DICOMweb plugin enabled.
///
/// Orthanc 1.10 listens for DICOM on every interface and has no bind
/// setting, so stores are accepted only from `calling_aet` at 127.0.0.1.
fn config(dir: &Path, http_port: u16, dicom_port: u16, calling_aet: &str) -> serde_json::Value {
    json!({
        "Name": "archive-bench reference",
        "StorageDirectory": dir.join("storage"),
        "IndexDirectory": dir.join("index"),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "RemoteAccessAllowed": false,
        "AuthenticationEnabled": false,
        "DicomAet": AET,
        "DicomCheckCalledAet": false,
        "DicomAlwaysAllowStore": false,
        "DicomCheckModalityHost": true,
        "DicomModalities": { "bench": [calling_aet, "127.0.0.1", 104] },
        "Plugins": [DICOMWEB_PLUGIN],
        "DicomWeb": { "Enable": true, "Root": "/dicom-web/" }
    })
}

/// Starts the reference with a fresh storage directory `dir` and waits
/// until its REST API answers.
pub async fn start(dir: &Path, calling_aet: &str) -> Result<Server> {
    std::fs::create_dir_all(dir)?;
    let http_port = free_port()?;
    let mut dicom_port = free_port()?;
    while dicom_port == http_port {
        dicom_port = free_port()?;
    }
    let config_path = dir.join("orthanc.json");
    let text = serde_json::to_string_pretty(&config(dir, http_port, dicom_port, calling_aet))?;
    std::fs::write(&config_path, text)
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    let log: PathBuf = dir.join("orthanc.log");
    let log_file = std::fs::File::create(&log)?;
    let child = Command::new(ORTHANC)
        .arg(&config_path)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .spawn()
        .context("cannot start Orthanc")?;
    let mut server = Server::new(System::Orthanc, child, http_port, dicom_port, AET, log);
    let system = format!("{}/system", server.http_base);
    wait_http_ready(&mut server, &system, Duration::from_secs(60)).await?;
    wait_tcp(dicom_port, Duration::from_secs(30)).await?;
    Ok(server)
}

async fn wait_tcp(port: u16, limit: Duration) -> Result<()> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("nothing listens for DICOM on port {port} after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
