//! One established association: receive messages, dispatch them to the
//! [`ServiceHandler`], answer, until release, abort, idleness or shutdown.
//!
//! Invariants:
//! - the handler sees only complete messages; a peer that stops or breaks
//!   the protocol mid-message is aborted and its partial message dropped;
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

use crate::client::StoreScu;
use crate::command::{Command, CommandField};
use crate::message::{Assembler, Message, MessageError, encode_message, pdvs};
use crate::server::negotiation::{FIND_SOP_CLASSES, GET_SOP_CLASSES, MOVE_SOP_CLASSES};
use crate::server::{
    AssociationInfo, FindMatches, FindRequest, MoveRequest, MoveTarget, Outgoing, Retrieval,
    RetrieveRequest, ServiceHandler, StoreRequest,
};
use crate::status::Status;
use crate::wire::{self, RawPdu, WireError};

/// Most characters of an Error Comment (LO).
const MAX_ERROR_COMMENT: usize = 64;

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
struct Context {
    abstract_syntax: String,
    transfer_syntax: String,
}

/// Serves one association until it ends; never panics on peer input.
pub struct Session {
    pub association: AsyncServerAssociation<TcpStream>,
    pub info: AssociationInfo,
    pub handler: Arc<dyn ServiceHandler>,
    pub idle_timeout: Duration,
    pub max_pdu_length: u32,
    pub max_message_size: usize,
    pub shutdown: CancellationToken,
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
                    for fragment in pdvs(&body) {
                        let message = match fragment.and_then(|f| assembler.push(f)) {
                            Ok(Some(message)) => message,
                            Ok(None) => continue,
                            Err(error) => return error.into(),
                        };
                        let Some(context) = contexts.get(&message.presentation_context_id) else {
                            // The assembler admits accepted contexts only.
                            return MessageError::UnknownContext {
                                id: message.presentation_context_id,
                            }
                            .into();
                        };
                        match self.dispatch(message, context, contexts, assembler).await {
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
    async fn next_pdu(&mut self, interruptible: bool) -> Result<RawPdu, AssociationEnd> {
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

    /// Serves one message. `Ok(true)` when it was a C-STORE.
    async fn dispatch(
        &mut self,
        message: Message,
        context: &Context,
        contexts: &HashMap<u8, Context>,
        assembler: &mut Assembler,
    ) -> Result<bool, AssociationEnd> {
        let Message {
            presentation_context_id: pc,
            command,
            data_set,
        } = message;
        match command.command_field {
            CommandField::CEchoRq => {
                debug!(message_id = command.message_id, "C-ECHO");
                self.respond(pc, &command, Status::SUCCESS, None).await?;
                Ok(false)
            }
            CommandField::CStoreRq => {
                self.store(pc, command, data_set, context).await?;
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

    async fn find(
        &mut self,
        pc: u8,
        command: Command,
        data_set: Option<bytes::Bytes>,
        context: &Context,
        assembler: &mut Assembler,
    ) -> Result<(), AssociationEnd> {
        let span = info_span!("c_find", message_id = command.message_id);
        let refusal = if !FIND_SOP_CLASSES.contains(&context.abstract_syntax.as_str()) {
            Some((
                Status::SOP_CLASS_NOT_SUPPORTED,
                "C-FIND on a context that is not a query model",
            ))
        } else if data_set.is_none() {
            Some((Status::CANNOT_UNDERSTAND, "C-FIND without an identifier"))
        } else {
            None
        };
        if let Some((status, comment)) = refusal {
            warn!(parent: &span, %status, comment, "refusing C-FIND");
            return self.respond(pc, &command, status, Some(comment)).await;
        }
        let request = FindRequest {
            message_id: command.message_id.unwrap_or(0),
            affected_sop_class_uid: context.abstract_syntax.clone(),
            transfer_syntax_uid: context.transfer_syntax.clone(),
            identifier: data_set.unwrap_or_default(),
        };
        let matches = self
            .handler
            .find(&self.info, request)
            .instrument(span.clone())
            .await;
        let (status, comment, sent) = match matches {
            Ok(matches) => self.send_matches(pc, &command, matches, assembler).await?,
            Err(failure) => (failure.status, failure.error_comment, 0),
        };
        info!(parent: &span, %status, matches = sent, "C-FIND answered");
        self.respond(pc, &command, status, comment.as_deref()).await
    }

    /// Sends each match as a pending response until the handler is done,
    /// fails, or the peer cancels; returns the final status to send.
    async fn send_matches(
        &mut self,
        pc: u8,
        command: &Command,
        mut matches: FindMatches,
        assembler: &mut Assembler,
    ) -> Result<(Status, Option<String>, u64), AssociationEnd> {
        let mut sent = 0u64;
        loop {
            // The peer may send a C-CANCEL-RQ at any time, so what it sent
            // is looked at before each match. Reading a PDU is cancel-safe:
            // bytes read stay in the association's buffer.
            let next = tokio::select! {
                biased;
                pdu = self.next_pdu(false) => Err(pdu),
                item = matches.recv() => Ok(item),
            };
            match next {
                Ok(None) => return Ok((Status::SUCCESS, None, sent)),
                Ok(Some(Err(failure))) => return Ok((failure.status, failure.error_comment, sent)),
                Ok(Some(Ok(identifier))) => {
                    let Some(pending) = Command::response_to(command, Status::PENDING) else {
                        return Ok((Status::SUCCESS, None, sent));
                    };
                    let peer_max = self.association.peer_max_pdu_length();
                    for pdu in encode_message(pc, &pending, Some(&identifier), peer_max) {
                        self.association
                            .send(&pdu)
                            .await
                            .map_err(AssociationEnd::Send)?;
                    }
                    sent += 1;
                }
                Err(pdu) => match pdu? {
                    RawPdu::PData(body) => {
                        for fragment in pdvs(&body) {
                            let Some(message) = assembler.push(fragment?)? else {
                                continue;
                            };
                            let cancels_this = message.command.command_field
                                == CommandField::CCancelRq
                                && message.command.message_id_being_responded_to
                                    == command.message_id;
                            if cancels_this {
                                debug!(sent, "C-FIND cancelled by the peer");
                                return Ok((Status::CANCEL, None, sent));
                            }
                            // Without negotiated asynchronous operations a
                            // peer waits for the answer before asking again.
                            return Err(AssociationEnd::UnexpectedPdu(format!(
                                "command {:#06x} while a C-FIND is answered",
                                message.command.command_field.code()
                            )));
                        }
                    }
                    RawPdu::Other(Pdu::AbortRQ { .. }) => {
                        return Err(AssociationEnd::AbortedByPeer);
                    }
                    RawPdu::Other(other) => {
                        return Err(AssociationEnd::UnexpectedPdu(format!(
                            "{} while a C-FIND is answered",
                            other.short_description()
                        )));
                    }
                },
            }
        }
    }

    async fn get(
        &mut self,
        pc: u8,
        command: Command,
        data_set: Option<bytes::Bytes>,
        context: &Context,
        contexts: &HashMap<u8, Context>,
        assembler: &mut Assembler,
    ) -> Result<(), AssociationEnd> {
        let span = info_span!("c_get", message_id = command.message_id);
        let refusal = if !GET_SOP_CLASSES.contains(&context.abstract_syntax.as_str()) {
            Some((
                Status::SOP_CLASS_NOT_SUPPORTED,
                "C-GET on a context that is not a retrieve model",
            ))
        } else if data_set.is_none() {
            Some((Status::CANNOT_UNDERSTAND, "C-GET without an identifier"))
        } else {
            None
        };
        if let Some((status, comment)) = refusal {
            warn!(parent: &span, %status, comment, "refusing C-GET");
            return self.respond(pc, &command, status, Some(comment)).await;
        }
        let request = RetrieveRequest {
            message_id: command.message_id.unwrap_or(0),
            affected_sop_class_uid: context.abstract_syntax.clone(),
            transfer_syntax_uid: context.transfer_syntax.clone(),
            identifier: data_set.unwrap_or_default(),
        };
        let retrieval = self
            .handler
            .get(&self.info, request)
            .instrument(span.clone())
            .await;
        let retrieval = match retrieval {
            Ok(retrieval) => retrieval,
            Err(failure) => {
                info!(parent: &span, status = %failure.status, "C-GET refused");
                return self
                    .respond(
                        pc,
                        &command,
                        failure.status,
                        failure.error_comment.as_deref(),
                    )
                    .await;
            }
        };
        let mut counts = SubOperations::new(retrieval.total);
        let cancelled = self
            .send_instances(
                pc,
                &command,
                retrieval,
                &mut Destination::Peer(contexts),
                assembler,
                &mut counts,
            )
            .instrument(span.clone())
            .await?;
        self.finish_retrieval(pc, &command, &counts, cancelled, context, &span)
            .await
    }

    async fn move_instances(
        &mut self,
        pc: u8,
        command: Command,
        data_set: Option<bytes::Bytes>,
        context: &Context,
        assembler: &mut Assembler,
    ) -> Result<(), AssociationEnd> {
        let destination = command.move_destination.clone().unwrap_or_default();
        let span = info_span!(
            "c_move",
            message_id = command.message_id,
            destination = destination.trim()
        );
        let refusal = if !MOVE_SOP_CLASSES.contains(&context.abstract_syntax.as_str()) {
            Some((
                Status::SOP_CLASS_NOT_SUPPORTED,
                "C-MOVE on a context that is not a retrieve model",
            ))
        } else if data_set.is_none() {
            Some((Status::CANNOT_UNDERSTAND, "C-MOVE without an identifier"))
        } else if destination.trim().is_empty() {
            Some((
                Status::MOVE_DESTINATION_UNKNOWN,
                "C-MOVE without a destination",
            ))
        } else {
            None
        };
        if let Some((status, comment)) = refusal {
            warn!(parent: &span, %status, comment, "refusing C-MOVE");
            return self.respond(pc, &command, status, Some(comment)).await;
        }
        let request = MoveRequest {
            retrieve: RetrieveRequest {
                message_id: command.message_id.unwrap_or(0),
                affected_sop_class_uid: context.abstract_syntax.clone(),
                transfer_syntax_uid: context.transfer_syntax.clone(),
                identifier: data_set.unwrap_or_default(),
            },
            destination_ae_title: destination.trim().to_owned(),
        };
        let target = self
            .handler
            .move_instances(&self.info, request)
            .instrument(span.clone())
            .await;
        let MoveTarget {
            retrieval,
            node,
            proposals,
        } = match target {
            Ok(target) => target,
            Err(failure) => {
                info!(parent: &span, status = %failure.status, "C-MOVE refused");
                return self
                    .respond(
                        pc,
                        &command,
                        failure.status,
                        failure.error_comment.as_deref(),
                    )
                    .await;
            }
        };
        let mut counts = SubOperations::new(retrieval.total);
        if retrieval.total == 0 {
            return self
                .finish_retrieval(pc, &command, &counts, false, context, &span)
                .await;
        }
        let called = node.called_ae_title.clone();
        let scu = match StoreScu::connect(node, &proposals)
            .instrument(span.clone())
            .await
        {
            Ok(scu) => scu,
            Err(error) => {
                warn!(parent: &span, %error, "cannot reach the C-MOVE destination");
                let Some(mut response) =
                    Command::response_to(&command, Status::UNABLE_TO_PERFORM_SUB_OPERATIONS)
                else {
                    return Ok(());
                };
                response.error_comment = Some(
                    format!("cannot reach {called}")
                        .chars()
                        .take(MAX_ERROR_COMMENT)
                        .collect(),
                );
                response.completed_sub_operations = Some(0);
                response.warning_sub_operations = Some(0);
                response.failed_sub_operations =
                    Some(u16::try_from(retrieval.total).unwrap_or(u16::MAX));
                return self.send_command(pc, &response, None).await;
            }
        };
        let mut destination = Destination::Node(Box::new(Node {
            scu: Some(scu),
            originator: (
                self.info.calling_ae_title.trim().to_owned(),
                command.message_id.unwrap_or(0),
            ),
        }));
        let cancelled = self
            .send_instances(
                pc,
                &command,
                retrieval,
                &mut destination,
                assembler,
                &mut counts,
            )
            .instrument(span.clone())
            .await?;
        if let Destination::Node(node) = destination
            && let Some(scu) = node.scu
        {
            scu.release().await;
        }
        self.finish_retrieval(pc, &command, &counts, cancelled, context, &span)
            .await
    }

    /// The final response of a C-GET or C-MOVE: its status and counts, and
    /// the instances not sent as the Failed SOP Instance UID List.
    async fn finish_retrieval(
        &mut self,
        pc: u8,
        command: &Command,
        counts: &SubOperations,
        cancelled: bool,
        context: &Context,
        span: &tracing::Span,
    ) -> Result<(), AssociationEnd> {
        let status = counts.final_status(cancelled);
        info!(
            parent: span,
            %status,
            completed = counts.completed,
            failed = counts.failed.len(),
            warning = counts.warning,
            "retrieval answered"
        );
        let Some(mut response) = Command::response_to(command, status) else {
            return Ok(());
        };
        counts.write_to(&mut response, cancelled);
        let identifier = (!counts.failed.is_empty())
            .then(|| failed_uid_list(&counts.failed, &context.transfer_syntax));
        self.send_command(pc, &response, identifier.as_deref())
            .await
    }

    /// Sends each instance of `retrieval` to `destination` as a C-STORE
    /// sub-operation, and a pending response to `command` after it;
    /// returns whether the peer cancelled.
    async fn send_instances(
        &mut self,
        pc: u8,
        command: &Command,
        mut retrieval: Retrieval,
        destination: &mut Destination<'_>,
        assembler: &mut Assembler,
        counts: &mut SubOperations,
    ) -> Result<bool, AssociationEnd> {
        let mut message_id: u16 = 0;
        let mut cancelled = false;
        while !cancelled {
            let next = tokio::select! {
                biased;
                pdu = self.next_pdu(false) => Err(pdu),
                item = retrieval.instances.recv() => Ok(item),
            };
            let outgoing = match next {
                Err(pdu) => {
                    cancelled = self.cancel_among(pdu?, command, assembler, None).await?.0;
                    continue;
                }
                Ok(None) => break,
                Ok(Some(Err(sop_instance_uid))) => {
                    counts.failed.push(sop_instance_uid);
                    continue;
                }
                Ok(Some(Ok(outgoing))) => outgoing,
            };
            message_id = message_id.wrapping_add(1);
            let status = match destination {
                Destination::Peer(contexts) => {
                    self.store_on_this_association(
                        &outgoing,
                        contexts,
                        message_id,
                        command,
                        assembler,
                        &mut cancelled,
                    )
                    .await?
                }
                Destination::Node(node) => node.store(&*self.handler, &outgoing).await,
            };
            match status {
                Some(status) if status.is_success() => counts.completed += 1,
                Some(status) if status.class() == crate::StatusClass::Warning => {
                    counts.warning += 1
                }
                _ => counts.failed.push(outgoing.sop_instance_uid.clone()),
            }
            if !cancelled && counts.remaining() > 0 {
                let Some(mut pending) = Command::response_to(command, Status::PENDING) else {
                    continue;
                };
                counts.write_to(&mut pending, false);
                self.send_command(pc, &pending, None).await?;
            }
        }
        Ok(cancelled)
    }

    /// Sends `outgoing` to the peer as a C-STORE-RQ on a context it
    /// accepted for its SOP class, in its stored transfer syntax if the
    /// peer accepted that, else converted, and returns the peer's status.
    /// `None` when no context fits or the conversion fails: a failed
    /// sub-operation. A C-CANCEL-RQ arriving meanwhile sets `cancelled`.
    async fn store_on_this_association(
        &mut self,
        outgoing: &Outgoing,
        contexts: &HashMap<u8, Context>,
        message_id: u16,
        command: &Command,
        assembler: &mut Assembler,
        cancelled: &mut bool,
    ) -> Result<Option<Status>, AssociationEnd> {
        let mut candidates: Vec<(&u8, &Context)> = contexts
            .iter()
            .filter(|(_, c)| c.abstract_syntax == outgoing.sop_class_uid)
            .collect();
        candidates.sort_by_key(|(id, c)| (c.transfer_syntax != outgoing.transfer_syntax_uid, **id));
        let Some(&(&pc, context)) = candidates.first() else {
            warn!(
                sop_class = outgoing.sop_class_uid,
                sop_instance_uid = outgoing.sop_instance_uid,
                "the peer accepted no context for this SOP class; sub-operation failed"
            );
            return Ok(None);
        };
        let converted;
        let dataset = if context.transfer_syntax == outgoing.transfer_syntax_uid {
            &outgoing.dataset
        } else {
            match self
                .handler
                .transcode(outgoing, &context.transfer_syntax)
                .await
            {
                Ok(bytes) => {
                    converted = bytes;
                    &converted
                }
                Err(reason) => {
                    warn!(reason, "sub-operation failed");
                    return Ok(None);
                }
            }
        };
        let mut store = Command::new(CommandField::CStoreRq);
        store.affected_sop_class_uid = Some(outgoing.sop_class_uid.clone());
        store.affected_sop_instance_uid = Some(outgoing.sop_instance_uid.clone());
        store.message_id = Some(message_id);
        store.priority = Some(0);
        self.send_command(pc, &store, Some(dataset)).await?;
        // Wait for the peer's C-STORE-RSP (or its cancel).
        loop {
            let pdu = self.next_pdu(false).await?;
            let (cancel, status) = self
                .cancel_among(pdu, command, assembler, Some(message_id))
                .await?;
            *cancelled |= cancel;
            if status.is_some() {
                return Ok(status);
            }
        }
    }

    /// Reads `pdu` while a C-GET runs: whether it holds a C-CANCEL-RQ for
    /// `command`, and the status of a C-STORE-RSP to `store_message_id`.
    async fn cancel_among(
        &mut self,
        pdu: RawPdu,
        command: &Command,
        assembler: &mut Assembler,
        store_message_id: Option<u16>,
    ) -> Result<(bool, Option<Status>), AssociationEnd> {
        let body = match pdu {
            RawPdu::PData(body) => body,
            RawPdu::Other(Pdu::AbortRQ { .. }) => return Err(AssociationEnd::AbortedByPeer),
            RawPdu::Other(other) => {
                return Err(AssociationEnd::UnexpectedPdu(format!(
                    "{} while a C-GET is answered",
                    other.short_description()
                )));
            }
        };
        let mut cancelled = false;
        let mut status = None;
        for fragment in pdvs(&body) {
            let Some(message) = assembler.push(fragment?)? else {
                continue;
            };
            let c = &message.command;
            match c.command_field {
                CommandField::CCancelRq
                    if c.message_id_being_responded_to == command.message_id =>
                {
                    debug!("C-GET cancelled by the peer");
                    cancelled = true;
                }
                CommandField::CStoreRsp
                    if store_message_id.is_some()
                        && c.message_id_being_responded_to == store_message_id =>
                {
                    status = Some(c.status.unwrap_or(Status::CANNOT_UNDERSTAND));
                }
                field => {
                    return Err(AssociationEnd::UnexpectedPdu(format!(
                        "command {:#06x} while a C-GET is answered",
                        field.code()
                    )));
                }
            }
        }
        Ok((cancelled, status))
    }

    async fn send_command(
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

    async fn respond(
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

/// Where a retrieval's C-STORE sub-operations go.
enum Destination<'a> {
    /// The requesting peer, on its own association (C-GET).
    Peer(&'a HashMap<u8, Context>),
    /// Another node, on an association we opened (C-MOVE). Boxed: one
    /// per C-MOVE, and much larger than a reference.
    Node(Box<Node>),
}

/// A C-MOVE destination while instances are sent to it.
struct Node {
    /// `None` once the association with it has failed: the remaining
    /// sub-operations fail without another attempt.
    scu: Option<StoreScu>,
    /// The AE title and message ID of the C-MOVE, for each C-STORE-RQ.
    originator: (String, u16),
}

impl Node {
    /// Sends `outgoing` (converted if the node did not accept its stored
    /// syntax) and returns the node's status; `None` when it could not be
    /// sent.
    async fn store(&mut self, handler: &dyn ServiceHandler, outgoing: &Outgoing) -> Option<Status> {
        let scu = self.scu.as_mut()?;
        let Some((pc, ts)) =
            scu.context_for(&outgoing.sop_class_uid, &outgoing.transfer_syntax_uid)
        else {
            warn!(
                sop_class = outgoing.sop_class_uid,
                "the destination accepted no context for this SOP class; sub-operation failed"
            );
            return None;
        };
        let converted;
        let dataset = if ts == outgoing.transfer_syntax_uid {
            &outgoing.dataset
        } else {
            match handler.transcode(outgoing, &ts).await {
                Ok(bytes) => {
                    converted = bytes;
                    &converted
                }
                Err(reason) => {
                    warn!(reason, "sub-operation failed");
                    return None;
                }
            }
        };
        let (ae_title, message_id) = (&self.originator.0, self.originator.1);
        match scu
            .store(
                pc,
                &outgoing.sop_class_uid,
                &outgoing.sop_instance_uid,
                dataset,
                Some((ae_title, message_id)),
            )
            .await
        {
            Ok(status) => Some(status),
            Err(error) => {
                warn!(%error, "sending to the C-MOVE destination failed; the rest fail too");
                self.scu = None;
                None
            }
        }
    }
}

/// The sub-operation counts of a retrieval (PS3.4 C.4.2.1.4, C.4.3.1.4).
struct SubOperations {
    total: usize,
    completed: usize,
    warning: usize,
    /// SOP Instance UIDs that could not be sent.
    failed: Vec<String>,
}

impl SubOperations {
    fn new(total: usize) -> SubOperations {
        SubOperations {
            total,
            completed: 0,
            warning: 0,
            failed: Vec::new(),
        }
    }

    fn remaining(&self) -> usize {
        self.total
            .saturating_sub(self.completed + self.warning + self.failed.len())
    }

    fn final_status(&self, cancelled: bool) -> Status {
        if cancelled {
            Status::CANCEL
        } else if self.failed.is_empty() && self.warning == 0 {
            Status::SUCCESS
        } else if self.completed == 0 && self.warning == 0 {
            Status::UNABLE_TO_PERFORM_SUB_OPERATIONS
        } else {
            Status::SUB_OPERATIONS_COMPLETE_WITH_FAILURES
        }
    }

    /// Counts go into responses as US: a retrieval of more than 65 535
    /// instances reports 65 535.
    fn write_to(&self, response: &mut Command, with_remaining: bool) {
        let us = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
        let pending = response.status == Some(Status::PENDING);
        if pending || with_remaining {
            response.remaining_sub_operations = Some(us(self.remaining()));
        }
        response.completed_sub_operations = Some(us(self.completed));
        response.failed_sub_operations = Some(us(self.failed.len()));
        response.warning_sub_operations = Some(us(self.warning));
    }
}

/// An identifier holding only the Failed SOP Instance UID List (0008,0058)
/// in `transfer_syntax` (implicit or explicit VR little endian: the
/// syntaxes of a retrieve context).
fn failed_uid_list(uids: &[String], transfer_syntax: &str) -> Vec<u8> {
    let mut value = uids.join("\\").into_bytes();
    if value.len() % 2 == 1 {
        value.push(0);
    }
    let mut out = Vec::with_capacity(value.len() + 12);
    out.extend_from_slice(&0x0008u16.to_le_bytes());
    out.extend_from_slice(&0x0058u16.to_le_bytes());
    if transfer_syntax == uids::IMPLICIT_VR_LITTLE_ENDIAN {
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    } else {
        // UI has a 16-bit length: a list too long for it is cut short.
        value.truncate(usize::from(u16::MAX) - 1);
        out.extend_from_slice(b"UI");
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    }
    out.extend_from_slice(&value);
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_status_follows_the_sub_operations() {
        let mut counts = SubOperations::new(3);
        assert_eq!(counts.remaining(), 3);
        counts.completed = 3;
        assert_eq!(counts.final_status(false), Status::SUCCESS);
        assert_eq!(counts.final_status(true), Status::CANCEL);
        counts.completed = 2;
        counts.failed.push("1.2.3".into());
        assert_eq!(
            counts.final_status(false),
            Status::SUB_OPERATIONS_COMPLETE_WITH_FAILURES
        );
        let all_failed = SubOperations {
            failed: vec!["1".into(), "2".into()],
            ..SubOperations::new(2)
        };
        assert_eq!(
            all_failed.final_status(false),
            Status::UNABLE_TO_PERFORM_SUB_OPERATIONS
        );
        let mut response = Command::new(CommandField::CGetRsp);
        response.status = Some(Status::PENDING);
        counts.completed = 1;
        counts.write_to(&mut response, false);
        assert_eq!(response.remaining_sub_operations, Some(1));
        assert_eq!(response.completed_sub_operations, Some(1));
        assert_eq!(response.failed_sub_operations, Some(1));
    }

    #[test]
    fn failed_uid_lists_are_encoded_in_either_little_endian_syntax() {
        let uids = ["1.2.3".to_owned(), "1.2.45".to_owned()];
        let implicit = failed_uid_list(&uids, uids::IMPLICIT_VR_LITTLE_ENDIAN);
        assert_eq!(&implicit[..4], &[0x08, 0x00, 0x58, 0x00]);
        assert_eq!(u32::from_le_bytes(implicit[4..8].try_into().unwrap()), 12);
        assert_eq!(&implicit[8..], b"1.2.3\\1.2.45");
        let explicit = failed_uid_list(&uids, uids::EXPLICIT_VR_LITTLE_ENDIAN);
        assert_eq!(&explicit[4..6], b"UI");
        assert_eq!(u16::from_le_bytes([explicit[6], explicit[7]]), 12);
        let odd = failed_uid_list(&["1.2".to_owned()], uids::EXPLICIT_VR_LITTLE_ENDIAN);
        assert_eq!(&odd[8..], b"1.2\0", "UIDs are padded with NUL");
    }
}
