//! The storage service class user: an association this archive opens to
//! another DICOM node to send it instances (the destination of a C-MOVE).
//!
//! One instance at a time: each C-STORE-RQ waits for its response before
//! the next is sent, as a node that did not negotiate asynchronous
//! operations expects. Every wait is bounded by the configured timeout, so
//! a node that stops answering fails the sub-operation instead of holding
//! the association forever.

use std::time::Duration;

use dicom_ul::Pdu;
use dicom_ul::association::AsyncClientAssociation;
use dicom_ul::pdu::{PDataValueType, PresentationContextResultReason};
use tokio::net::TcpStream;

use crate::command::{Command, CommandField};
use crate::message::encode_message;
use crate::status::Status;

/// Most bytes of a C-STORE response command we accept.
const MAX_RESPONSE_SIZE: usize = 64 * 1024;

/// The presentation contexts to propose for instances given as (SOP
/// class, transfer syntax) pairs: per SOP class, each syntax its instances
/// are in, then explicit and implicit VR little endian, which every node
/// accepts, so that an instance can still be converted and sent.
pub fn proposals<'a>(
    instances: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<(String, Vec<String>)> {
    use dicom_dictionary_std::uids;
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (class, ts) in instances {
        let index = match out.iter().position(|(c, _)| c == class) {
            Some(i) => i,
            None => {
                out.push((class.to_owned(), Vec::new()));
                out.len() - 1
            }
        };
        let syntaxes = &mut out[index].1;
        if !syntaxes.iter().any(|s| s == ts) {
            syntaxes.push(ts.to_owned());
        }
    }
    for (_, syntaxes) in &mut out {
        for ts in [
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
            uids::IMPLICIT_VR_LITTLE_ENDIAN,
        ] {
            if !syntaxes.iter().any(|s| s == ts) {
                syntaxes.push(ts.to_owned());
            }
        }
    }
    out
}

/// How to reach and address the other node.
#[derive(Debug, Clone)]
pub struct StoreScuOptions {
    /// `HOST:PORT`.
    pub address: String,
    pub calling_ae_title: String,
    pub called_ae_title: String,
    pub max_pdu_length: u32,
    /// Bound on connecting, on each PDU sent and on each answer awaited
    /// (not on a whole exchange, which on a slow link may take minutes).
    pub timeout: Duration,
}

/// Why a store to another node failed.
#[derive(Debug, thiserror::Error)]
pub enum ScuError {
    #[error("cannot associate with {called} at {address}: {reason}")]
    Associate {
        called: String,
        address: String,
        reason: String,
    },
    #[error("{called} accepted no presentation context for SOP class {sop_class}")]
    NoContext { called: String, sop_class: String },
    /// The node answered, and took none of the SOP classes and transfer
    /// syntaxes proposed.
    #[error("{called} accepts none of the SOP classes and transfer syntaxes proposed")]
    NothingAccepted { called: String },
    #[error("{called} did not answer within {timeout:?}")]
    Timeout { called: String, timeout: Duration },
    #[error("the association with {called} failed: {reason}")]
    Association { called: String, reason: String },
}

/// An open association to another node.
pub struct StoreScu {
    association: AsyncClientAssociation<TcpStream>,
    options: StoreScuOptions,
    next_message_id: u16,
}

impl StoreScu {
    /// Associates with the node, proposing for each SOP class the given
    /// transfer syntaxes (first preferred).
    pub async fn connect(
        options: StoreScuOptions,
        proposals: &[(String, Vec<String>)],
    ) -> Result<StoreScu, ScuError> {
        let mut request = dicom_ul::ClientAssociationOptions::new()
            .calling_ae_title(options.calling_ae_title.clone())
            .called_ae_title(options.called_ae_title.clone())
            .max_pdu_length(options.max_pdu_length)
            .read_timeout(options.timeout)
            .write_timeout(options.timeout)
            .connection_timeout(options.timeout);
        for (sop_class, syntaxes) in proposals {
            request = request.with_presentation_context(sop_class.clone(), syntaxes.clone());
        }
        let established =
            tokio::time::timeout(options.timeout, request.establish_async(&options.address)).await;
        let association = match established {
            Err(_) => {
                return Err(ScuError::Timeout {
                    called: options.called_ae_title.clone(),
                    timeout: options.timeout,
                });
            }
            Ok(Err(dicom_ul::association::Error::NoAcceptedPresentationContexts { .. })) => {
                return Err(ScuError::NothingAccepted {
                    called: options.called_ae_title.clone(),
                });
            }
            Ok(Err(e)) => {
                return Err(ScuError::Associate {
                    called: options.called_ae_title.clone(),
                    address: options.address.clone(),
                    reason: e.to_string(),
                });
            }
            Ok(Ok(association)) => association,
        };
        Ok(StoreScu {
            association,
            options,
            next_message_id: 1,
        })
    }

    /// The context to send a `sop_class` instance on and its transfer
    /// syntax: `preferred` when the node accepted it, else the first
    /// accepted one.
    pub fn context_for(&self, sop_class: &str, preferred: &str) -> Option<(u8, String)> {
        let mut accepted: Vec<(u8, String)> = self
            .association
            .presentation_contexts()
            .iter()
            .filter(|pc| pc.reason == PresentationContextResultReason::Acceptance)
            .filter(|pc| pc.abstract_syntax.trim_end_matches(['\0', ' ']) == sop_class)
            .map(|pc| {
                (
                    pc.id,
                    pc.transfer_syntax.trim_end_matches(['\0', ' ']).to_owned(),
                )
            })
            .collect();
        accepted.sort_by_key(|(id, ts)| (ts != preferred, *id));
        accepted.into_iter().next()
    }

    /// Sends one instance on context `pc` and returns the node's status.
    /// `move_originator` is the AE title and message ID of the C-MOVE this
    /// store serves.
    pub async fn store(
        &mut self,
        pc: u8,
        sop_class_uid: &str,
        sop_instance_uid: &str,
        dataset: &[u8],
        move_originator: Option<(&str, u16)>,
    ) -> Result<Status, ScuError> {
        let message_id = self.next_message_id;
        self.next_message_id = self.next_message_id.wrapping_add(1).max(1);
        let mut command = Command::new(CommandField::CStoreRq);
        command.affected_sop_class_uid = Some(sop_class_uid.to_owned());
        command.affected_sop_instance_uid = Some(sop_instance_uid.to_owned());
        command.message_id = Some(message_id);
        command.priority = Some(0);
        if let Some((ae_title, id)) = move_originator {
            command.move_originator_ae_title = Some(ae_title.to_owned());
            command.move_originator_message_id = Some(id);
        }
        // The limit is on each PDU and on the answer, not on the whole
        // exchange: a large instance on a slow link that keeps moving
        // takes as long as it needs; a link that stops is let go.
        let timeout = self.options.timeout;
        let peer_max = self.association.acceptor_max_pdu_length();
        for pdu in encode_message(pc, &command, Some(dataset), peer_max) {
            match tokio::time::timeout(timeout, self.association.send(&pdu)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(self.failed(e.to_string())),
                Err(_) => return Err(self.timed_out()),
            }
        }
        match tokio::time::timeout(timeout, self.response_to(message_id)).await {
            Ok(result) => result,
            Err(_) => Err(self.timed_out()),
        }
    }

    fn timed_out(&self) -> ScuError {
        ScuError::Timeout {
            called: self.options.called_ae_title.clone(),
            timeout: self.options.timeout,
        }
    }

    /// Reads PDUs until the C-STORE-RSP to `message_id` is complete.
    async fn response_to(&mut self, message_id: u16) -> Result<Status, ScuError> {
        let mut command_bytes = Vec::new();
        loop {
            let pdu = self
                .association
                .receive()
                .await
                .map_err(|e| self.failed(e.to_string()))?;
            let Pdu::PData { data } = pdu else {
                return Err(self.failed(format!(
                    "it sent {} instead of a C-STORE response",
                    pdu.short_description()
                )));
            };
            for value in data {
                if value.value_type != PDataValueType::Command {
                    return Err(self.failed("it sent a data set with a C-STORE response".into()));
                }
                command_bytes.extend_from_slice(&value.data);
                if command_bytes.len() > MAX_RESPONSE_SIZE {
                    return Err(self.failed("its C-STORE response is too large".into()));
                }
                if !value.is_last {
                    continue;
                }
                let response = Command::decode(&command_bytes)
                    .map_err(|e| self.failed(format!("undecodable C-STORE response: {e}")))?;
                command_bytes.clear();
                if response.command_field == CommandField::CStoreRsp
                    && response.message_id_being_responded_to == Some(message_id)
                {
                    return Ok(response.status.unwrap_or(Status::CANNOT_UNDERSTAND));
                }
                return Err(self.failed(format!(
                    "it answered command {:#06x} to a C-STORE",
                    response.command_field.code()
                )));
            }
        }
    }

    fn failed(&self, reason: String) -> ScuError {
        ScuError::Association {
            called: self.options.called_ae_title.clone(),
            reason,
        }
    }

    /// Releases the association (aborting it if the node does not answer).
    pub async fn release(self) {
        let timeout = self.options.timeout;
        let association = self.association;
        if tokio::time::timeout(timeout, association.release())
            .await
            .is_err()
        {
            tracing::debug!("release not answered in time");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposals_add_the_uncompressed_syntaxes_once_per_class() {
        let ct = "1.2.840.10008.5.1.4.1.1.2";
        let dx = "1.2.840.10008.5.1.4.1.1.1.1";
        let jls = "1.2.840.10008.1.2.4.80";
        let explicit = "1.2.840.10008.1.2.1";
        let implicit = "1.2.840.10008.1.2";
        let got = proposals([(ct, jls), (ct, explicit), (dx, implicit), (ct, jls)]);
        assert_eq!(
            got,
            vec![
                (
                    ct.to_owned(),
                    vec![jls.to_owned(), explicit.to_owned(), implicit.to_owned()]
                ),
                (
                    dx.to_owned(),
                    vec![implicit.to_owned(), explicit.to_owned()]
                ),
            ]
        );
    }
}
