//! C-FIND latency over the loaded tiny studies: one association, one
//! query at a time, each timed from the request to the final response,
//! every match received. The same queries go to both systems.

use std::time::{Duration, Instant};

use ::dimse::command::{Command, CommandField};
use ::dimse::message::encode_message;
use anyhow::{Context, Result, bail, ensure};
use dicom_ul::Pdu;
use dicom_ul::association::AsyncClientAssociation;
use dicom_ul::pdu::{PDataValueType, PresentationContextResultReason};
use tokio::net::TcpStream;

use crate::data::{DATE_SPAN_DAYS, day, tiny_study};
use crate::stats::{Latencies, Lcg};

const STUDY_ROOT_FIND: &str = "1.2.840.10008.5.1.4.1.2.2.1";
const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";

/// The kinds of C-FIND timed, at study level.
pub const KINDS: [&str; 2] = ["PatientID exact", "StudyDate one day"];

/// One study-level identifier in explicit VR little endian: the matching
/// key and the return keys a worklist of studies shows.
fn identifier(matching: (u16, u16, &[u8; 2], &str)) -> Vec<u8> {
    let mut keys: Vec<(u16, u16, &[u8; 2], String)> = vec![
        (0x0008, 0x0020, b"DA", String::new()),
        (0x0008, 0x0052, b"CS", "STUDY".into()),
        (0x0008, 0x0061, b"CS", String::new()),
        (0x0010, 0x0010, b"PN", String::new()),
        (0x0010, 0x0020, b"LO", String::new()),
        (0x0020, 0x000D, b"UI", String::new()),
        (0x0020, 0x1208, b"IS", String::new()),
    ];
    let (group, element, vr, value) = matching;
    match keys.iter_mut().find(|k| (k.0, k.1) == (group, element)) {
        Some(key) => key.3 = value.to_owned(),
        None => keys.push((group, element, vr, value.to_owned())),
    }
    keys.sort_by_key(|k| (k.0, k.1));
    let mut out = Vec::new();
    for (group, element, vr, value) in keys {
        let mut value = value.into_bytes();
        if value.len() % 2 == 1 {
            value.push(b' ');
        }
        out.extend_from_slice(&group.to_le_bytes());
        out.extend_from_slice(&element.to_le_bytes());
        out.extend_from_slice(vr);
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        out.extend_from_slice(&value);
    }
    out
}

/// The identifier for search `kind`, and the fewest and most matches it
/// must return over `studies` loaded tiny studies.
fn query(kind: usize, rng: &mut Lcg, studies: u64) -> (Vec<u8>, usize, usize) {
    match kind {
        0 => {
            let s = tiny_study(rng.below(studies));
            (identifier((0x0010, 0x0020, b"LO", &s.patient_id)), 1, 1)
        }
        _ => {
            let date = day(rng.below(DATE_SPAN_DAYS)).to_dicom();
            (
                identifier((0x0008, 0x0020, b"DA", &date)),
                0,
                studies as usize,
            )
        }
    }
}

/// One association for Study Root C-FIND.
struct FindScu {
    association: AsyncClientAssociation<TcpStream>,
    context: u8,
    message_id: u16,
}

impl FindScu {
    async fn connect(port: u16, calling: &str, called: &str) -> Result<FindScu> {
        let association = dicom_ul::ClientAssociationOptions::new()
            .calling_ae_title(calling)
            .called_ae_title(called)
            .with_presentation_context(STUDY_ROOT_FIND, vec![EXPLICIT_VR_LE])
            .establish_async(("127.0.0.1", port))
            .await
            .with_context(|| format!("cannot associate with {called} for C-FIND"))?;
        let context = association
            .presentation_contexts()
            .iter()
            .find(|pc| pc.reason == PresentationContextResultReason::Acceptance)
            .map(|pc| pc.id)
            .with_context(|| format!("{called} refused Study Root C-FIND"))?;
        Ok(FindScu {
            association,
            context,
            message_id: 0,
        })
    }

    /// Sends one query and reads every response; the number of matches.
    async fn find(&mut self, identifier: &[u8]) -> Result<usize> {
        self.message_id = self.message_id.wrapping_add(1);
        let mut request = Command::new(CommandField::CFindRq);
        request.affected_sop_class_uid = Some(STUDY_ROOT_FIND.into());
        request.message_id = Some(self.message_id);
        request.priority = Some(0);
        let max = self.association.acceptor_max_pdu_length();
        for pdu in encode_message(self.context, &request, Some(identifier), max) {
            self.association.send(&pdu).await?;
        }
        let mut matches = 0;
        let mut command = Vec::new();
        loop {
            let Pdu::PData { data } = self.association.receive().await? else {
                bail!("the server sent something other than C-FIND responses");
            };
            for value in data {
                if value.value_type != PDataValueType::Command {
                    continue;
                }
                command.extend_from_slice(&value.data);
                if !value.is_last {
                    continue;
                }
                let response = Command::decode(&command)?;
                command.clear();
                match response.status.map(|s| s.0) {
                    Some(0xFF00 | 0xFF01) => matches += 1,
                    Some(0x0000) => return Ok(matches),
                    other => bail!("C-FIND failed with status {other:04X?}"),
                }
            }
        }
    }

    async fn release(self) {
        let _ = self.association.release().await;
    }
}

/// Runs every kind of C-FIND `rounds` times, interleaved, after one
/// untimed round, against the server's DIMSE port.
pub async fn searches(
    port: u16,
    calling: &str,
    called: &str,
    studies: u64,
    rounds: usize,
) -> Result<Vec<Latencies>> {
    let mut scu = FindScu::connect(port, calling, called).await?;
    let mut rng = Lcg::new(studies ^ 0xF1D);
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); KINDS.len()];
    for round in 0..=rounds {
        for (kind, kind_samples) in samples.iter_mut().enumerate() {
            let (identifier, least, most) = query(kind, &mut rng, studies);
            let t = Instant::now();
            let n = scu.find(&identifier).await?;
            let elapsed = t.elapsed();
            ensure!(
                (least..=most).contains(&n),
                "C-FIND {} returned {n} studies, expected {least} to {most}",
                KINDS[kind]
            );
            if round > 0 {
                kind_samples.push(elapsed);
            }
        }
    }
    scu.release().await;
    Ok(samples.into_iter().map(Latencies::new).collect())
}
