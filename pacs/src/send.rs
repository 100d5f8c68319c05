//! `pacs send`: files and folders to another DICOM node over C-STORE (one
//! association) or to a DICOMweb endpoint over STOW-RS (batched
//! requests), with a progress bar and a summary. Over C-STORE each data set
//! goes as it is in its file when the node accepts that transfer syntax,
//! else converted to one it accepted.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use pacs_core::layout::{Part10Header, read_part10_header};
use sha2::Digest;

use crate::config::{DicomNode, SendConfig};
use crate::forward::config::{Credentials, Target, without_credentials};
use crate::forward::session::{self, LinkError, Outgoing, Peers};

/// The most of a file read to find its file meta group; real groups are a
/// few hundred bytes.
const HEADER_PREFIX: u64 = 64 * 1024;

/// Where to send, and what to call it in the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub name: String,
    pub target: Target,
}

impl Destination {
    /// `http(s)://…` (a DICOMweb base URL, with a user and password in it
    /// for HTTP Basic, or the bearer token `token`), a configured
    /// forwarding destination's name, a configured DICOM node's AE title,
    /// or `AET@HOST:PORT`.
    pub fn parse(
        text: &str,
        config: &SendConfig,
        token: Option<Credentials>,
    ) -> Result<Destination> {
        if text.starts_with("http://") || text.starts_with("https://") {
            // The text is not repeated: it may hold a password.
            let (url, basic) = without_credentials(text.trim_end_matches('/'))
                .context("the destination is not a valid URL")?;
            if basic.is_some() && token.is_some() {
                bail!("give a user and password in the URL or a bearer token, not both");
            }
            return Ok(Destination {
                name: url.clone(),
                target: Target::DicomWeb {
                    url,
                    auth: basic.or(token),
                },
            });
        }
        if let Some(d) = config.forward.destinations.iter().find(|d| d.name == text) {
            let mut target = d.target.clone();
            if let (Target::DicomWeb { auth, .. }, Some(given)) = (&mut target, token) {
                *auth = Some(given);
            }
            return Ok(Destination {
                name: text.to_owned(),
                target,
            });
        }
        if let Some((ae_title, address)) = text.split_once('@') {
            if !crate::config::valid_ae_title(ae_title) {
                bail!("{ae_title:?} is not a valid AE title");
            }
            let Some((host, port)) = address.rsplit_once(':').and_then(|(host, port)| {
                let port = port.parse::<u16>().ok().filter(|p| *p > 0)?;
                (!host.is_empty()).then_some((host, port))
            }) else {
                bail!("{address:?} is not HOST:PORT");
            };
            return Ok(Destination {
                name: ae_title.to_owned(),
                target: Target::Dicom(DicomNode {
                    ae_title: ae_title.to_owned(),
                    host: host.to_owned(),
                    port,
                }),
            });
        }
        let node = config
            .dicom_nodes
            .iter()
            .find(|n| n.ae_title.trim() == text)
            .with_context(|| {
                format!(
                    "{text} is not a configured DICOM node ([[dicom_nodes]]) or forwarding destination; give AET@HOST:PORT or a DICOMweb URL to send elsewhere"
                )
            })?;
        Ok(Destination {
            name: node.ae_title.trim().to_owned(),
            target: Target::Dicom(node.clone()),
        })
    }
}

/// What a send did.
#[derive(Debug, Default)]
pub struct Summary {
    pub sent: usize,
    /// Accepted with a warning status, by file.
    pub warnings: Vec<(PathBuf, String)>,
    pub failed: Vec<(PathBuf, String)>,
}

/// A file to send, as its file meta group describes it.
struct File {
    path: PathBuf,
    header: Part10Header,
}

/// Reads the file meta group from the start of `path`.
fn header_of(path: &Path) -> Result<Part10Header, String> {
    let mut prefix = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(HEADER_PREFIX).read_to_end(&mut prefix))
        .map_err(|e| format!("cannot read it: {e}"))?;
    let header = read_part10_header(&prefix).map_err(|e| format!("not a DICOM file: {e}"))?;
    if header.media_storage_sop_class_uid.is_empty()
        || header.media_storage_sop_instance_uid.is_empty()
    {
        return Err("its file meta group names no SOP class or instance".into());
    }
    Ok(header)
}

/// Sends the files found to `destination`; a folder that could not be
/// listed is among the failures.
pub async fn send(
    found: crate::import::Collected,
    destination: &Destination,
    peers: &Peers,
    progress: bool,
) -> Result<Summary> {
    let crate::import::Collected { files, unlisted } = found;
    let mut summary = Summary {
        failed: unlisted,
        ..Summary::default()
    };
    let mut outgoing = Vec::with_capacity(files.len());
    for path in files {
        match header_of(&path) {
            Ok(header) => outgoing.push(File { path, header }),
            Err(reason) => summary.failed.push((path, reason)),
        }
    }
    if outgoing.is_empty() {
        return Ok(summary);
    }
    let kinds: Vec<(&str, &str)> = outgoing
        .iter()
        .map(|f| {
            (
                f.header.media_storage_sop_class_uid.as_str(),
                f.header.transfer_syntax_uid.as_str(),
            )
        })
        .collect();
    let mut session = session::open(&destination.target, peers, &kinds)
        .await
        .map_err(|LinkError(e)| anyhow::anyhow!(e))?;
    let bar = crate::import::progress_bar(outgoing.len(), progress);
    let mut broken: Option<String> = None;
    let mut queue = outgoing.into_iter().peekable();
    while queue.peek().is_some() {
        let mut batch: Vec<(PathBuf, Outgoing)> = Vec::new();
        let mut bytes = 0u64;
        // Asked each time: a session may lower it (after a 413).
        let batch_bytes = session.batch_bytes();
        while bytes < batch_bytes
            && let Some(file) = queue.next()
        {
            bar.inc(1);
            if let Some(reason) = &broken {
                summary.failed.push((file.path, reason.clone()));
                continue;
            }
            match tokio::fs::read(&file.path).await {
                Ok(object) => {
                    bytes += object.len() as u64;
                    let h = file.header;
                    let sha256 = object
                        .get(h.dataset_offset..)
                        .map(|d| hex::encode(sha2::Sha256::digest(d)))
                        .unwrap_or_default();
                    batch.push((
                        file.path,
                        Outgoing {
                            sop_class_uid: h.media_storage_sop_class_uid,
                            sop_instance_uid: h.media_storage_sop_instance_uid,
                            transfer_syntax_uid: h.transfer_syntax_uid,
                            object: Bytes::from(object),
                            sha256,
                            pixels: None,
                        },
                    ));
                }
                Err(e) => summary
                    .failed
                    .push((file.path, format!("cannot read it: {e}"))),
            }
        }
        if batch.is_empty() {
            continue;
        }
        let (paths, batch): (Vec<PathBuf>, Vec<Outgoing>) = batch.into_iter().unzip();
        match session.send(&batch).await {
            Ok(results) => {
                for (path, result) in paths.into_iter().zip(results) {
                    match result {
                        Ok(sent) => {
                            summary.sent += 1;
                            if let Some(w) = sent.warning {
                                summary.warnings.push((path, w));
                            }
                        }
                        Err(why) => summary.failed.push((path, why)),
                    }
                }
            }
            Err(LinkError(reason)) => {
                // Nothing more can go now.
                for path in paths {
                    summary.failed.push((path, reason.clone()));
                }
                broken = Some(format!("not sent: {reason}"));
            }
        }
    }
    bar.finish_and_clear();
    if broken.is_none() {
        session.close().await;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(ae_title: &str, host: &str, port: u16) -> DicomNode {
        DicomNode {
            ae_title: ae_title.into(),
            host: host.into(),
            port,
        }
    }

    #[test]
    fn destinations_are_configured_nodes_urls_or_literal() {
        let config = SendConfig {
            ae_title: "PACS".into(),
            dicom_nodes: vec![node("WS1", "10.0.0.7", 104)],
            forward: Default::default(),
            max_pdu_length: 16384,
            timeout: std::time::Duration::from_secs(10),
        };
        let parse = |text: &str| Destination::parse(text, &config, None);
        assert_eq!(
            parse("WS1").unwrap().target,
            Target::Dicom(node("WS1", "10.0.0.7", 104))
        );
        assert_eq!(
            parse("ORTHANC@127.0.0.1:4242").unwrap().target,
            Target::Dicom(node("ORTHANC", "127.0.0.1", 4242))
        );
        let web = Destination::parse(
            "https://centre.example.org/dicom-web/",
            &config,
            Some(Credentials::Bearer("t".into())),
        )
        .unwrap();
        assert_eq!(
            web.target,
            Target::DicomWeb {
                url: "https://centre.example.org/dicom-web".into(),
                auth: Some(Credentials::Bearer("t".into()))
            }
        );
        assert!(parse("WS2").is_err());
        assert!(parse("WS@host").is_err());
        assert!(parse("WS@host:0").is_err());
        assert!(parse("A_TITLE_FAR_TOO_LONG@h:1").is_err());
    }
}
