//! What we accept at association time: which abstract and transfer
//! syntaxes, which peers, and how we turn peers away.
//!
//! `dicom-ul` negotiates from a fixed list of abstract syntaxes or accepts
//! all of them (promiscuous). We want "every storage SOP class, private
//! ones included, but nothing we do not serve", and a transient rejection
//! when we are full, which its access control cannot express. So the
//! A-ASSOCIATE-RQ is first *peeked* (read without consuming) to decide; the
//! accepted association itself is then established by `dicom-ul` from the
//! same bytes.

use std::collections::HashSet;
use std::time::Duration;

use dicom_core::dictionary::UidDictionary;
use dicom_dictionary_std::StandardSopClassDictionary;
use dicom_dictionary_std::uids;
use dicom_ul::Pdu;
use dicom_ul::association::server::{AccessControl, Negotiation};
use dicom_ul::pdu::{
    AbortRQServiceProviderReason, AbortRQSource, AssociationRJ, AssociationRJResult,
    AssociationRJServiceProviderPresentationReason, AssociationRJServiceUserReason,
    AssociationRJSource, AssociationRQ, RequestorRoles, UserIdentity, UserVariableItem,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::wire::PDU_HEADER_SIZE;

/// Transfer syntaxes we accept, data sets stored as received. Per context
/// `dicom-ul` picks the first one the peer proposes that is in this list.
pub const TRANSFER_SYNTAXES: &[&str] = &[
    uids::IMPLICIT_VR_LITTLE_ENDIAN,
    uids::EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
    uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    uids::JPEG_BASELINE8_BIT,
    uids::JPEG_EXTENDED12_BIT,
    uids::JPEG_LOSSLESS,
    uids::JPEG_LOSSLESS_SV1,
    uids::JPEGLS_LOSSLESS,
    uids::JPEGLS_NEAR_LOSSLESS,
    uids::JPEG2000_LOSSLESS,
    uids::JPEG2000,
    uids::HTJ2K_LOSSLESS,
    uids::HTJ2K_LOSSLESS_RPCL,
    uids::HTJ2K,
    uids::RLE_LOSSLESS,
];

/// The lossy ones among [`TRANSFER_SYNTAXES`]: taken as a sender chose to
/// send, never made by the archive from a better copy.
pub const LOSSY_TRANSFER_SYNTAXES: [&str; 5] = [
    uids::JPEG_BASELINE8_BIT,
    uids::JPEG_EXTENDED12_BIT,
    uids::JPEGLS_NEAR_LOSSLESS,
    uids::JPEG2000,
    uids::HTJ2K,
];

/// Whether `uid` is one of [`LOSSY_TRANSFER_SYNTAXES`].
pub fn is_lossy(uid: &str) -> bool {
    LOSSY_TRANSFER_SYNTAXES.contains(&uid.trim_end_matches(['\0', ' ']))
}

/// The transfer syntaxes to accept on the association `request` asks
/// for. Per context the first one the peer proposes is taken, which
/// keeps a sender's choice for what it stores here. Where the peer is to
/// receive instances (it takes the SCP role of a storage class, for
/// C-GET), a lossy syntax is left out wherever every context proposing
/// it also proposes a lossless one: the peer then gets what is stored,
/// or an uncompressed copy, not a lossy one made on the way.
pub fn transfer_syntaxes(request: &AssociationRQ) -> Vec<&'static str> {
    if peer_scp_classes(request).is_empty() {
        return TRANSFER_SYNTAXES.to_vec();
    }
    let trim = |uid: &str| uid.trim_end_matches(['\0', ' ']).to_owned();
    let lossless = |uid: &String| TRANSFER_SYNTAXES.contains(&uid.as_str()) && !is_lossy(uid);
    let contexts: Vec<Vec<String>> = request
        .presentation_contexts
        .iter()
        .map(|pc| pc.transfer_syntaxes.iter().map(|t| trim(t)).collect())
        .collect();
    TRANSFER_SYNTAXES
        .iter()
        .copied()
        .filter(|&ts| {
            !is_lossy(ts)
                || contexts.iter().any(|proposed| {
                    proposed.iter().any(|t| t == ts) && !proposed.iter().any(lossless)
                })
        })
        .collect()
}

/// Retired in the standard but still sent by older modalities.
pub const EXPLICIT_VR_BIG_ENDIAN: &str = "1.2.840.10008.1.2.2";

/// Root of the standard storage SOP classes (PS3.6 Annex A): anything under
/// it is storage, including classes newer than our dictionary.
const STORAGE_ROOT: &str = "1.2.840.10008.5.1.4.1.1.";
/// Root of every standard UID.
const STANDARD_ROOT: &str = "1.2.840.10008.";

/// Largest A-ASSOCIATE-RQ we accept, whatever maximum PDU length we
/// announce: PS3.8 9.3.1 has that maximum bound P-DATA-TF PDUs only, and a
/// request is sent before the peer knows it. Real requests are a few
/// kilobytes to some tens (128 contexts with several transfer syntaxes
/// each stay well below).
const MAX_ASSOCIATE_RQ_LENGTH: u32 = 256 * 1024;

/// How long to wait between peeks while an A-ASSOCIATE-RQ is incomplete.
const PEEK_RETRY: Duration = Duration::from_millis(2);

/// The query models whose C-FIND we serve.
pub const FIND_SOP_CLASSES: [&str; 2] = [
    uids::PATIENT_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_FIND,
    uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_FIND,
];

/// The query models whose C-GET we serve.
pub const GET_SOP_CLASSES: [&str; 2] = [
    uids::PATIENT_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_GET,
    uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_GET,
];

/// The query models whose C-MOVE we serve.
pub const MOVE_SOP_CLASSES: [&str; 2] = [
    uids::PATIENT_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_MOVE,
    uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_MOVE,
];

/// Role selection (PS3.7 D.3.3.4): a peer may take the SCP role for a
/// storage SOP class, which is how a C-GET's instances reach it on the
/// same association. Every other proposal keeps the default roles.
pub struct Roles;

impl Negotiation for Roles {
    fn negotiate_roles(&self, sop_class_uid: &str, scu: bool, scp: bool) -> Option<RequestorRoles> {
        let uid = sop_class_uid.trim_end_matches(['\0', ' ']);
        (scp && is_storage(uid)).then_some(RequestorRoles { scu, scp })
    }
}

/// The SOP classes for which the requestor of `request` takes the SCP
/// role once [`Roles`] has answered: the only ones on which a C-GET's
/// instances may be sent to it (PS3.4 C.4.3.1).
pub fn peer_scp_classes(request: &AssociationRQ) -> HashSet<String> {
    request
        .user_variables
        .iter()
        .filter_map(|v| match v {
            UserVariableItem::ScuScpRoleSelectionSubItem(uid, roles) => Roles
                .negotiate_roles(uid, roles.scu, roles.scp)
                .filter(|accepted| accepted.scp)
                .map(|_| uid.trim_end_matches(['\0', ' ']).to_owned()),
            _ => None,
        })
        .collect()
}

/// Whether we accept a presentation context for `uid`: Verification, the
/// Patient and Study Root C-FIND, C-GET and C-MOVE models, every standard storage SOP class,
/// and any non-standard (private) UID, which modalities use for vendor
/// storage classes. Standard UIDs we know to be something else (other
/// query/retrieve services, worklist, storage commitment, print, transfer
/// syntaxes...) are refused as "abstract syntax not supported".
pub fn serves_abstract_syntax(uid: &str) -> bool {
    uid == uids::VERIFICATION
        || FIND_SOP_CLASSES.contains(&uid)
        || GET_SOP_CLASSES.contains(&uid)
        || MOVE_SOP_CLASSES.contains(&uid)
        || is_storage(uid)
}

/// A storage SOP class: standard, or private (any non-standard UID).
pub fn is_storage(uid: &str) -> bool {
    if uid.starts_with(STORAGE_ROOT) || !uid.starts_with(STANDARD_ROOT) {
        return true;
    }
    match StandardSopClassDictionary.by_uid(uid) {
        Some(entry) => {
            let name = entry.name;
            name.contains("Storage")
                && !name.contains("Commitment")
                && uid != uids::MEDIA_STORAGE_DIRECTORY_STORAGE
        }
        None => false,
    }
}

/// Why no A-ASSOCIATE-RQ could be read.
#[derive(Debug, thiserror::Error)]
pub enum PeekError {
    #[error("peer closed the connection before associating")]
    Closed,
    #[error("first PDU has type {0:#04x}, not A-ASSOCIATE-RQ")]
    NotAssociateRq(u8),
    #[error("A-ASSOCIATE-RQ announces {length} bytes, more than our maximum of {max}")]
    TooLarge { length: u32, max: u32 },
    #[error("undecodable A-ASSOCIATE-RQ: {0}")]
    Decode(#[source] dicom_ul::pdu::ReadError),
    #[error("network error: {0}")]
    Io(#[from] std::io::Error),
}

/// The peeked request and its size on the wire.
pub struct PeekedRequest {
    pub request: AssociationRQ,
    pub wire_length: usize,
}

/// Waits until the whole first PDU is in the socket's receive buffer and
/// decodes it, leaving it there. The caller bounds the wait with a timeout.
pub async fn peek_associate_rq(socket: &TcpStream) -> Result<PeekedRequest, PeekError> {
    let mut buffer = vec![0u8; PDU_HEADER_SIZE];
    peek_exactly(socket, &mut buffer).await?;
    if buffer[0] != 0x01 {
        return Err(PeekError::NotAssociateRq(buffer[0]));
    }
    let length = u32::from_be_bytes([buffer[2], buffer[3], buffer[4], buffer[5]]);
    if length > MAX_ASSOCIATE_RQ_LENGTH {
        return Err(PeekError::TooLarge {
            length,
            max: MAX_ASSOCIATE_RQ_LENGTH,
        });
    }
    let wire_length = PDU_HEADER_SIZE + length as usize;
    buffer.resize(wire_length, 0);
    peek_exactly(socket, &mut buffer).await?;
    match dicom_ul::read_pdu(&buffer[..], MAX_ASSOCIATE_RQ_LENGTH, true) {
        Ok(Some(Pdu::AssociationRQ(request))) => Ok(PeekedRequest {
            request,
            wire_length,
        }),
        Ok(Some(_)) => Err(PeekError::NotAssociateRq(buffer[0])),
        Ok(None) => Err(PeekError::Closed),
        Err(error) => Err(PeekError::Decode(error)),
    }
}

async fn peek_exactly(socket: &TcpStream, buffer: &mut [u8]) -> Result<(), PeekError> {
    loop {
        let seen = socket.peek(buffer).await?;
        if seen == 0 {
            return Err(PeekError::Closed);
        }
        if seen == buffer.len() {
            return Ok(());
        }
        // Part of the PDU is there; `peek` would return at once again.
        tokio::time::sleep(PEEK_RETRY).await;
    }
}

/// Consumes the peeked request and answers A-ASSOCIATE-RJ transient,
/// "local limit exceeded": we serve as many associations as we may.
pub async fn reject_local_limit(socket: &mut TcpStream, wire_length: usize) -> std::io::Result<()> {
    let mut request = vec![0u8; wire_length];
    socket.read_exact(&mut request).await?;
    let rejection = Pdu::AssociationRJ(AssociationRJ {
        result: AssociationRJResult::Transient,
        source: AssociationRJSource::ServiceProviderPresentation(
            AssociationRJServiceProviderPresentationReason::LocalLimitExceeded,
        ),
    });
    send_pdu(socket, &rejection).await?;
    socket.shutdown().await
}

/// Sends A-ABORT (service provider, reason not specified) on a connection
/// that has no `dicom-ul` association, and closes it.
pub async fn abort_raw(socket: &mut TcpStream) -> std::io::Result<()> {
    let abort = Pdu::AbortRQ {
        source: AbortRQSource::ServiceProvider(AbortRQServiceProviderReason::ReasonNotSpecified),
    };
    send_pdu(socket, &abort).await?;
    socket.shutdown().await
}

async fn send_pdu(socket: &mut TcpStream, pdu: &Pdu) -> std::io::Result<()> {
    let mut bytes = Vec::with_capacity(64);
    dicom_ul::write_pdu(&mut bytes, pdu).map_err(std::io::Error::other)?;
    socket.write_all(&bytes).await
}

/// The admission decision, taken before `dicom-ul` negotiates and replayed
/// through its access control hook so that it sends the A-ASSOCIATE-RJ.
#[derive(Debug, Clone)]
pub struct Admission(pub Result<(), AssociationRJServiceUserReason>);

impl AccessControl for Admission {
    fn check_access(
        &self,
        _this_ae_title: &str,
        _calling_ae_title: &str,
        _called_ae_title: &str,
        _user_identity: Option<&UserIdentity>,
    ) -> Result<(), AssociationRJServiceUserReason> {
        self.0.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_and_private_classes_are_served() {
        assert!(serves_abstract_syntax(uids::VERIFICATION));
        assert!(serves_abstract_syntax(uids::CT_IMAGE_STORAGE));
        assert!(serves_abstract_syntax(uids::ENHANCED_SR_STORAGE));
        assert!(serves_abstract_syntax(uids::HANGING_PROTOCOL_STORAGE));
        assert!(serves_abstract_syntax("1.2.840.10008.5.1.4.1.1.999.1"));
        assert!(serves_abstract_syntax("1.2.840.113619.4.26"));
        assert!(serves_abstract_syntax(
            uids::PATIENT_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_FIND
        ));
        assert!(serves_abstract_syntax(
            uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_FIND
        ));
        assert!(serves_abstract_syntax(
            uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_GET
        ));
    }

    #[test]
    fn peers_may_receive_storage_on_their_own_association() {
        let granted = Roles.negotiate_roles(uids::CT_IMAGE_STORAGE, true, true);
        assert_eq!(
            granted,
            Some(RequestorRoles {
                scu: true,
                scp: true
            })
        );
        // Padded as on the wire.
        let padded = format!("{}\0", uids::DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION);
        assert!(Roles.negotiate_roles(&padded, false, true).is_some());
        // Not a storage class, or no SCP role asked for: default roles.
        assert_eq!(
            Roles.negotiate_roles(
                uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_FIND,
                true,
                true
            ),
            None
        );
        assert_eq!(
            Roles.negotiate_roles(uids::CT_IMAGE_STORAGE, true, false),
            None
        );
    }

    fn request(contexts: &[(&str, &[&str])], peer_scp: &[&str]) -> AssociationRQ {
        use dicom_ul::pdu::PresentationContextProposed;
        AssociationRQ {
            protocol_version: 1,
            calling_ae_title: "PEER".into(),
            called_ae_title: "PACS".into(),
            application_context_name: "1.2.840.10008.3.1.1.1".into(),
            presentation_contexts: contexts
                .iter()
                .enumerate()
                .map(|(i, (class, syntaxes))| PresentationContextProposed {
                    id: (2 * i + 1) as u8,
                    abstract_syntax: (*class).into(),
                    transfer_syntaxes: syntaxes.iter().map(|s| (*s).into()).collect(),
                })
                .collect(),
            user_variables: peer_scp
                .iter()
                .map(|class| {
                    UserVariableItem::ScuScpRoleSelectionSubItem(
                        (*class).into(),
                        RequestorRoles {
                            scu: false,
                            scp: true,
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn a_peer_that_receives_is_offered_no_lossy_copy_where_it_takes_a_lossless_one() {
        let ct = uids::CT_IMAGE_STORAGE;
        let dx = uids::DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION;
        let get = uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_GET;
        let lossy_first = [uids::JPEG_BASELINE8_BIT, uids::EXPLICIT_VR_LITTLE_ENDIAN];
        let accepted = |contexts: &[(&str, &[&str])], peer_scp: &[&str]| {
            transfer_syntaxes(&request(contexts, peer_scp))
        };
        // A C-GET whose CT context proposes JPEG Baseline before explicit
        // VR little endian: the baseline is not accepted.
        let taken = accepted(
            &[
                (get, &[uids::IMPLICIT_VR_LITTLE_ENDIAN]),
                (ct, &lossy_first),
            ],
            &[ct],
        );
        assert!(!taken.contains(&uids::JPEG_BASELINE8_BIT), "{taken:?}");
        assert!(taken.contains(&uids::EXPLICIT_VR_LITTLE_ENDIAN));
        assert!(taken.contains(&uids::JPEG_LOSSLESS_SV1));
        // Where a context offers nothing lossless, its lossy syntax stays.
        let taken = accepted(
            &[(ct, &lossy_first), (dx, &[uids::JPEG_BASELINE8_BIT])],
            &[ct, dx],
        );
        assert!(taken.contains(&uids::JPEG_BASELINE8_BIT), "{taken:?}");
        // A sender storing here keeps its choice.
        let taken = accepted(&[(ct, &lossy_first)], &[]);
        assert_eq!(taken, TRANSFER_SYNTAXES.to_vec());
    }

    #[test]
    fn other_standard_services_are_refused() {
        for uid in [
            uids::COMPOSITE_INSTANCE_ROOT_RETRIEVE_MOVE,
            uids::MODALITY_WORKLIST_INFORMATION_MODEL_FIND,
            uids::STORAGE_COMMITMENT_PUSH_MODEL,
            uids::MODALITY_PERFORMED_PROCEDURE_STEP,
            uids::MEDIA_STORAGE_DIRECTORY_STORAGE,
            uids::HANGING_PROTOCOL_INFORMATION_MODEL_FIND,
            uids::IMPLICIT_VR_LITTLE_ENDIAN,
            "1.2.840.10008.9.9.9",
        ] {
            assert!(!serves_abstract_syntax(uid), "{uid}");
        }
    }
}
