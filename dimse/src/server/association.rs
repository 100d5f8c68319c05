//! One established association: receive messages, dispatch them to the
//! [`ServiceHandler`], answer, until release, abort, idleness or shutdown.
//!
//! Invariants:
//! - the handler sees only complete messages, except that a C-STORE's data
//!   set may also be given to a sink piece by piece as it arrives; a peer
//!   that stops or breaks the protocol mid-message is aborted and its
//!   partial message (and sink) dropped;
//! - once the handler has been called for a C-STORE its response is sent,
//!   even when shutdown is requested meanwhile;
//! - a C-FIND's matches are sent as they are produced, while the peer may
//!   cancel it (C-CANCEL-RQ); it ends with exactly one final response;
//! - a C-GET sends its instances as C-STORE sub-operations on this
//!   association, one at a time, each answered before the next, with a
//!   pending response after each and one final response with the counts;
//! - on shutdown an association with no message in progress is aborted at
//!   once; one with a message in progress is aborted right after answering it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use dicom_dictionary_std::uids;
use dicom_ul::Pdu;
use dicom_ul::association::{Association, AsyncAssociation, AsyncServerAssociation};
use dicom_ul::pdu::PresentationContextResultReason;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::command::{Command, CommandField};
use crate::message::{Assembler, DropReason, Dropped, Message, MessageError, encode_message, pdvs};
use crate::server::{
    AssociationInfo, DataSetSink, ServiceHandler, StoreAnnouncement, StoreRequest,
};
use crate::status::Status;
use crate::wire::{self, RawPdu, WireError};

/// Most characters of an Error Comment (LO).
pub(super) const MAX_ERROR_COMMENT: usize = 64;

/// How an association ended.
#[derive(Debug, thiserror::Error)]
pub enum AssociationEnd {
    #[error("released by the peer")]
    Released,
    #[error("aborted by the peer")]
    AbortedByPeer,
    #[error("peer closed the connection without releasing")]
    ConnectionClosed,
    #[error("no PDU for {0:?}")]
    Idle(Duration),
    #[error("server shutting down")]
    Shutdown,
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error(transparent)]
    Protocol(#[from] MessageError),
    #[error("unexpected {0} PDU")]
    UnexpectedPdu(String),
    #[error("could not send to the peer: {0}")]
    Send(#[source] dicom_ul::association::Error),
}

/// The negotiated presentation context a message arrived on.
#[derive(Clone)]
pub(super) struct Context {
    pub abstract_syntax: String,
    pub transfer_syntax: String,
}

/// Serves one association until it ends; never panics on peer input.
pub struct Session {
    pub association: AsyncServerAssociation<TcpStream>,
    pub info: AssociationInfo,
    pub handler: Arc<dyn ServiceHandler>,
    pub idle_timeout: Duration,
    pub max_pdu_length: u32,
    pub max_message_size: usize,
    pub memory_budget: Option<memory_budget::MemoryBudget>,
    pub shutdown: CancellationToken,
    /// SOP classes the peer takes the SCP role for (role selection): a
    /// C-GET sends instances of these only.
    pub peer_scp_classes: std::collections::HashSet<String>,
}

impl Session {
    pub async fn run(mut self) {
        let contexts: HashMap<u8, Context> = self
            .association
            .presentation_contexts()
            .iter()
            .filter(|pc| pc.reason == PresentationContextResultReason::Acceptance)
            .map(|pc| {
                let context = Context {
                    abstract_syntax: trim_uid(&pc.abstract_syntax),
                    transfer_syntax: trim_uid(&pc.transfer_syntax),
                };
                (pc.id, context)
            })
            .collect();
        info!(
            accepted_contexts = contexts.len(),
            peer_max_pdu = self.association.peer_max_pdu_length(),
            "association established"
        );
        let mut assembler = Assembler::new(contexts.keys().copied(), self.max_message_size);
        if let Some(budget) = &self.memory_budget {
            assembler = assembler.with_budget(budget.clone());
        }
        let mut stored = 0u64;
        let end = self.serve(&contexts, &mut assembler, &mut stored).await;
        let should_abort = !matches!(
            end,
            AssociationEnd::Released
                | AssociationEnd::AbortedByPeer
                | AssociationEnd::ConnectionClosed
        );
        match &end {
            AssociationEnd::Released => info!(stored, "association released"),
            AssociationEnd::Shutdown => info!(stored, "association aborted for shutdown"),
            AssociationEnd::AbortedByPeer | AssociationEnd::ConnectionClosed => {
                info!(stored, reason = %end, "association ended by the peer")
            }
            _ => warn!(stored, reason = %end, "aborting association"),
        }
        if should_abort {
            // Best effort: the peer may be gone already.
            let _ = self.association.abort().await;
        }
    }

    async fn serve(
        &mut self,
        contexts: &HashMap<u8, Context>,
        assembler: &mut Assembler,
        stored: &mut u64,
    ) -> AssociationEnd {
        // Per presentation context, the sink of a C-STORE data set that is
        // arriving: given each data fragment, then the request.
        let mut sinks: HashMap<u8, Box<dyn DataSetSink>> = HashMap::new();
        loop {
            if self.shutdown.is_cancelled() && assembler.is_idle() {
                return AssociationEnd::Shutdown;
            }
            let pdu = match self.next_pdu(assembler.is_idle()).await {
                Ok(pdu) => pdu,
                Err(end) => return end,
            };
            match pdu {
                RawPdu::PData(body) => {
                    let body = body.freeze();
                    for fragment in pdvs(&body) {
                        let fragment = match fragment {
                            Ok(fragment) => fragment,
                            Err(error) => return error.into(),
                        };
                        let id = fragment.presentation_context_id;
                        let message = match assembler.push(fragment) {
                            Ok(message) => message,
                            Err(error) => return error.into(),
                        };
                        if !fragment.is_command {
                            if message.as_ref().is_some_and(|m| m.dropped.is_some())
                                || assembler.is_dropping(id)
                            {
                                // Too large to store: what the sink began
                                // is dropped with it.
                                sinks.remove(&id);
                            } else if let Some(sink) = sinks.get_mut(&id) {
                                sink.push(body.slice_ref(fragment.data));
                            }
                        } else if message.is_none()
                            && let Some(command) = assembler.awaiting_data_set(id)
                            && let Some(sink) = self.begin_store(command, contexts.get(&id))
                        {
                            sinks.insert(id, sink);
                        }
                        let Some(message) = message else {
                            continue;
                        };
                        let sink = sinks.remove(&id);
                        let Some(context) = contexts.get(&message.presentation_context_id) else {
                            // The assembler admits accepted contexts only.
                            return MessageError::UnknownContext {
                                id: message.presentation_context_id,
                            }
                            .into();
                        };
                        match self
                            .dispatch(message, context, contexts, assembler, sink)
                            .await
                        {
                            Ok(was_store) => *stored += u64::from(was_store),
                            Err(end) => return end,
                        }
                    }
                }
                RawPdu::Other(Pdu::ReleaseRQ) => {
                    if !assembler.is_idle() {
                        warn!("release requested with a message half received; dropping it");
                    }
                    return match self.association.send(&Pdu::ReleaseRP).await {
                        Ok(()) => AssociationEnd::Released,
                        Err(error) => AssociationEnd::Send(error),
                    };
                }
                RawPdu::Other(Pdu::AbortRQ { source }) => {
                    debug!(?source, "A-ABORT received");
                    return AssociationEnd::AbortedByPeer;
                }
                RawPdu::Other(other) => {
                    return AssociationEnd::UnexpectedPdu(other.short_description().to_string());
                }
            }
        }
    }

    /// Reads the next PDU within the idle timeout. While no message is in
    /// progress, shutdown interrupts the wait.
    pub(super) async fn next_pdu(&mut self, interruptible: bool) -> Result<RawPdu, AssociationEnd> {
        let idle = self.idle_timeout;
        let max = self.max_pdu_length;
        let (socket, buffer) = self.association.get_mut();
        quick_ack(socket);
        let read = tokio::time::timeout(idle, wire::read_pdu(socket, buffer, max));
        let outcome = if interruptible {
            tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => return Err(AssociationEnd::Shutdown),
                outcome = read => outcome,
            }
        } else {
            read.await
        };
        match outcome {
            Err(_) => Err(AssociationEnd::Idle(idle)),
            Ok(Err(WireError::Closed)) => Err(AssociationEnd::ConnectionClosed),
            Ok(Err(error)) => Err(error.into()),
            Ok(Ok(pdu)) => Ok(pdu),
        }
    }

    /// Offers the handler a C-STORE's data set as it arrives, for a
    /// command the store would not refuse before looking at its data.
    fn begin_store(
        &self,
        command: &Command,
        context: Option<&Context>,
    ) -> Option<Box<dyn DataSetSink>> {
        let context = context?;
        if command.command_field != CommandField::CStoreRq
            || context.abstract_syntax == uids::VERIFICATION
        {
            return None;
        }
        let announced = StoreAnnouncement {
            message_id: command.message_id.unwrap_or(0),
            affected_sop_class_uid: command.affected_sop_class_uid.clone()?,
            affected_sop_instance_uid: command.affected_sop_instance_uid.clone()?,
            transfer_syntax_uid: context.transfer_syntax.clone(),
        };
        self.handler.begin_store(&self.info, &announced)
    }

    /// Serves one message. `Ok(true)` when it was a C-STORE. `sink`: what
    /// the handler was given a C-STORE's data set in, as it arrived.
    async fn dispatch(
        &mut self,
        message: Message,
        context: &Context,
        contexts: &HashMap<u8, Context>,
        assembler: &mut Assembler,
        sink: Option<Box<dyn DataSetSink>>,
    ) -> Result<bool, AssociationEnd> {
        let Message {
            presentation_context_id: pc,
            command,
            data_set,
            dropped,
            held: _held,
        } = message;
        // (`_held` keeps the data set's part of the memory budget until
        // the request is served)
        if let Some(Dropped { size, reason }) = dropped {
            if command.command_field == CommandField::CStoreRq {
                let comment = match reason {
                    DropReason::TooLarge => {
                        warn!(
                            message_id = command.message_id,
                            size,
                            limit = self.max_message_size,
                            "refusing a C-STORE data set over the size limit"
                        );
                        format!(
                            "the data set is larger than the {} bytes this archive accepts",
                            self.max_message_size
                        )
                    }
                    DropReason::OutOfMemory => {
                        warn!(
                            message_id = command.message_id,
                            size,
                            "refusing a C-STORE data set: the memory for uploads in progress is taken"
                        );
                        "the archive is receiving as much as its memory allows; \
                         send the instance again shortly"
                            .to_owned()
                    }
                };
                self.respond(
                    pc,
                    &command,
                    Status::REFUSED_OUT_OF_RESOURCES,
                    Some(&comment),
                )
                .await?;
                return Ok(false);
            }
            return Err(MessageError::MessageTooLarge {
                size,
                limit: self.max_message_size,
            }
            .into());
        }
        match command.command_field {
            CommandField::CEchoRq => {
                debug!(message_id = command.message_id, "C-ECHO");
                self.respond(pc, &command, Status::SUCCESS, None).await?;
                Ok(false)
            }
            CommandField::CStoreRq => {
                self.store(pc, command, data_set, context, sink).await?;
                Ok(true)
            }
            CommandField::CFindRq => {
                self.find(pc, command, data_set, context, assembler).await?;
                Ok(false)
            }
            CommandField::CGetRq => {
                self.get(pc, command, data_set, context, contexts, assembler)
                    .await?;
                Ok(false)
            }
            CommandField::CMoveRq => {
                self.move_instances(pc, command, data_set, context, assembler)
                    .await?;
                Ok(false)
            }
            CommandField::CCancelRq => {
                debug!("C-CANCEL with nothing to cancel");
                Ok(false)
            }
            field if field.is_request() => {
                warn!(command_field = field.code(), "unsupported operation");
                self.respond(pc, &command, Status::UNRECOGNIZED_OPERATION, None)
                    .await?;
                Ok(false)
            }
            field => {
                warn!(
                    command_field = field.code(),
                    "ignoring a response sent to us"
                );
                Ok(false)
            }
        }
    }

    async fn store(
        &mut self,
        pc: u8,
        command: Command,
        data_set: Option<bytes::Bytes>,
        context: &Context,
        sink: Option<Box<dyn DataSetSink>>,
    ) -> Result<(), AssociationEnd> {
        let sop_class = command.affected_sop_class_uid.clone().unwrap_or_default();
        let sop_instance = command
            .affected_sop_instance_uid
            .clone()
            .unwrap_or_default();
        let span = info_span!(
            "c_store",
            message_id = command.message_id,
            sop_instance_uid = %sop_instance,
        );
        let refusal = if context.abstract_syntax == uids::VERIFICATION {
            Some((
                Status::SOP_CLASS_NOT_SUPPORTED,
                "C-STORE on the Verification context",
            ))
        } else if sop_class.is_empty() || sop_instance.is_empty() {
            Some((
                Status::CANNOT_UNDERSTAND,
                "missing affected SOP class or instance UID",
            ))
        } else if data_set.is_none() {
            Some((Status::CANNOT_UNDERSTAND, "C-STORE without a data set"))
        } else {
            None
        };
        if let Some((status, comment)) = refusal {
            warn!(parent: &span, %status, comment, "refusing C-STORE");
            return self.respond(pc, &command, status, Some(comment)).await;
        }
        if sop_class != context.abstract_syntax {
            warn!(
                parent: &span,
                sop_class,
                context = context.abstract_syntax,
                "C-STORE SOP class differs from its presentation context"
            );
        }
        let request = StoreRequest {
            message_id: command.message_id.unwrap_or(0),
            affected_sop_class_uid: sop_class,
            affected_sop_instance_uid: sop_instance,
            transfer_syntax_uid: context.transfer_syntax.clone(),
            move_originator_ae_title: command.move_originator_ae_title.clone(),
            dataset: data_set.unwrap_or_default(),
            sink,
        };
        let size = request.dataset.len();
        let response = self
            .handler
            .store(&self.info, request)
            .instrument(span.clone())
            .await;
        debug!(parent: &span, size, status = %response.status, "C-STORE handled");
        let comment = response.error_comment.as_deref().filter(|c| !c.is_empty());
        self.respond(pc, &command, response.status, comment).await
    }

    pub(super) async fn send_command(
        &mut self,
        pc: u8,
        command: &Command,
        data_set: Option<&[u8]>,
    ) -> Result<(), AssociationEnd> {
        let peer_max = self.association.peer_max_pdu_length();
        for pdu in encode_message(pc, command, data_set, peer_max) {
            self.association
                .send(&pdu)
                .await
                .map_err(AssociationEnd::Send)?;
        }
        Ok(())
    }

    pub(super) async fn respond(
        &mut self,
        pc: u8,
        request: &Command,
        status: Status,
        error_comment: Option<&str>,
    ) -> Result<(), AssociationEnd> {
        let Some(mut response) = Command::response_to(request, status) else {
            return Ok(());
        };
        if !status.is_success() {
            response.error_comment =
                error_comment.map(|c| c.chars().take(MAX_ERROR_COMMENT).collect());
        }
        let peer_max = self.association.peer_max_pdu_length();
        for pdu in encode_message(pc, &response, None, peer_max) {
            self.association
                .send(&pdu)
                .await
                .map_err(AssociationEnd::Send)?;
        }
        Ok(())
    }
}

fn trim_uid(uid: &str) -> String {
    uid.trim_end_matches(['\0', ' ']).to_string()
}

/// Acknowledges incoming segments at once instead of delaying the ACK.
///
/// Many storage SCUs (dcmtk's storescu among them) leave Nagle's algorithm
/// on: the last, short segment of each data set then waits for our ACK of
/// the previous one, and a delayed ACK costs milliseconds per instance.
/// Linux clears the flag as it acts on it, so it is set before every read.
fn quick_ack(socket: &tokio::net::TcpStream) {
    #[cfg(target_os = "linux")]
    {
        if let Err(error) = socket2::SockRef::from(socket).set_tcp_quickack(true) {
            debug!(%error, "cannot set TCP_QUICKACK");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = socket;
}
