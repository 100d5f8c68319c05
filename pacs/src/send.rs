//! `pacs send`: files and folders to another DICOM node over C-STORE, one
//! association, with a progress bar and a summary. Each data set goes as
//! it is in its file when the node accepts that transfer syntax, else
//! converted to one it accepted.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use dimse::client::{StoreScu, StoreScuOptions};
use dimse::{Status, StatusClass};
use pacs_core::layout::{Part10Header, read_part10_header};

use crate::config::DicomNode;

/// The most of a file read to find its file meta group; real groups are a
/// few hundred bytes.
const HEADER_PREFIX: u64 = 64 * 1024;

/// Where to send: a configured node by AE title, or `AET@HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub ae_title: String,
    /// `HOST:PORT`.
    pub address: String,
}

impl Destination {
    pub fn parse(text: &str, nodes: &[DicomNode]) -> Result<Destination> {
        if let Some((ae_title, address)) = text.split_once('@') {
            if !crate::config::valid_ae_title(ae_title) {
                bail!("{ae_title:?} is not a valid AE title");
            }
            if !address.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
            }) {
                bail!("{address:?} is not HOST:PORT");
            }
            return Ok(Destination {
                ae_title: ae_title.to_owned(),
                address: address.to_owned(),
            });
        }
        let node = nodes
            .iter()
            .find(|n| n.ae_title.trim() == text)
            .with_context(|| {
                format!(
                    "{text} is not a configured DICOM node ([[dicom_nodes]] in the configuration); give AET@HOST:PORT to send elsewhere"
                )
            })?;
        Ok(Destination {
            ae_title: node.ae_title.trim().to_owned(),
            address: format!("{}:{}", node.host.trim(), node.port),
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
struct Outgoing {
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

/// Sends `files` to `destination` as `calling_ae_title`.
pub async fn send(
    files: Vec<PathBuf>,
    destination: &Destination,
    calling_ae_title: &str,
    max_pdu_length: u32,
    timeout: Duration,
    progress: bool,
) -> Result<Summary> {
    let mut summary = Summary::default();
    let mut outgoing = Vec::with_capacity(files.len());
    for path in files {
        match header_of(&path) {
            Ok(header) => outgoing.push(Outgoing { path, header }),
            Err(reason) => summary.failed.push((path, reason)),
        }
    }
    if outgoing.is_empty() {
        return Ok(summary);
    }
    let options = StoreScuOptions {
        address: destination.address.clone(),
        calling_ae_title: calling_ae_title.to_owned(),
        called_ae_title: destination.ae_title.clone(),
        max_pdu_length,
        timeout,
    };
    let proposals = dimse::client::proposals(outgoing.iter().map(|f| {
        (
            f.header.media_storage_sop_class_uid.as_str(),
            f.header.transfer_syntax_uid.as_str(),
        )
    }));
    let mut scu = StoreScu::connect(options, &proposals).await?;
    let bar = crate::import::progress_bar(outgoing.len(), progress);
    let mut broken: Option<String> = None;
    for file in outgoing {
        bar.inc(1);
        if let Some(reason) = &broken {
            summary.failed.push((file.path, reason.clone()));
            continue;
        }
        match send_one(&mut scu, &file).await {
            Ok(status) if status.is_success() => summary.sent += 1,
            Ok(status) if status.class() == StatusClass::Warning => {
                summary.sent += 1;
                summary
                    .warnings
                    .push((file.path, format!("accepted with warning {status}")));
            }
            Ok(status) => summary
                .failed
                .push((file.path, format!("refused with status {status}"))),
            Err(SendError::File(reason)) => summary.failed.push((file.path, reason)),
            Err(SendError::Association(reason)) => {
                // Nothing more can go over this association.
                broken = Some(format!("not sent: {reason}"));
                summary.failed.push((file.path, reason));
            }
        }
    }
    bar.finish_and_clear();
    if broken.is_none() {
        scu.release().await;
    }
    Ok(summary)
}

enum SendError {
    /// This file could not be sent; the next may be.
    File(String),
    /// The association failed.
    Association(String),
}

async fn send_one(scu: &mut StoreScu, file: &Outgoing) -> Result<Status, SendError> {
    let header = &file.header;
    let class = &header.media_storage_sop_class_uid;
    let stored_ts = &header.transfer_syntax_uid;
    let (pc, ts) = scu.context_for(class, stored_ts).ok_or_else(|| {
        SendError::File(format!(
            "the node accepted no context for SOP class {class}"
        ))
    })?;
    let bytes = tokio::fs::read(&file.path)
        .await
        .map_err(|e| SendError::File(format!("cannot read it: {e}")))?;
    let dataset = bytes
        .get(header.dataset_offset..)
        .ok_or_else(|| SendError::File("truncated after its file meta group".into()))?;
    let converted;
    let dataset = if &ts == stored_ts {
        dataset
    } else {
        converted = pacs_core::transcode::dataset_to(
            dataset,
            class,
            &header.media_storage_sop_instance_uid,
            stored_ts,
            &ts,
        )
        .map_err(|e| SendError::File(e.to_string()))?;
        &converted[..]
    };
    scu.store(
        pc,
        class,
        &header.media_storage_sop_instance_uid,
        dataset,
        None,
    )
    .await
    .map_err(|e| SendError::Association(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_configured_nodes_or_literal() {
        let nodes = vec![DicomNode {
            ae_title: "WS1".into(),
            host: "10.0.0.7".into(),
            port: 104,
        }];
        assert_eq!(
            Destination::parse("WS1", &nodes).unwrap(),
            Destination {
                ae_title: "WS1".into(),
                address: "10.0.0.7:104".into()
            }
        );
        assert_eq!(
            Destination::parse("ORTHANC@127.0.0.1:4242", &[])
                .unwrap()
                .address,
            "127.0.0.1:4242"
        );
        assert!(Destination::parse("WS2", &nodes).is_err());
        assert!(Destination::parse("WS@host", &[]).is_err());
        assert!(Destination::parse("WS@host:0", &[]).is_err());
        assert!(Destination::parse("A_TITLE_FAR_TOO_LONG@h:1", &[]).is_err());
    }
}
