//! Query/retrieve on an established association: C-FIND (matches sent
//! as pending responses, cancellable), C-GET (C-STORE sub-operations on
//! the same association) and C-MOVE (sub-operations on an association we
//! open to the destination), each ending with exactly one final response.

use std::collections::HashMap;

use dicom_ul::Pdu;
use tracing::{Instrument, debug, info, info_span, warn};

use super::association::{AssociationEnd, Context, MAX_ERROR_COMMENT, Session};
use super::sub_operations::{SubOperations, failed_uid_list};
use crate::client::{ScuError, StoreScu};
use crate::command::{Command, CommandField};
use crate::message::{Assembler, pdvs};
use crate::server::negotiation::{FIND_SOP_CLASSES, GET_SOP_CLASSES, MOVE_SOP_CLASSES};
use crate::server::{
    FindMatches, MoveRequest, MoveTarget, Outgoing, QueryRequest, Retrieval, ServiceHandler,
};
use crate::status::Status;
use crate::wire::RawPdu;

impl Session {
    pub(super) async fn find(
        &mut self,
        pc: u8,
        command: Command,
        data_set: Option<bytes::Bytes>,
        context: &Context,
        assembler: &mut Assembler,
    ) -> Result<(), AssociationEnd> {
        let span = info_span!("c_find", message_id = command.message_id);
        let Some(request) = self
            .admit(pc, &command, data_set, context, &FIND_SOP_CLASSES, &span)
            .await?
        else {
            return Ok(());
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
                    self.send_command(pc, &pending, Some(&identifier)).await?;
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
                            if message.command.command_field == CommandField::CCancelRq {
                                // A cancel of a request already answered,
                                // or never made: nothing to stop.
                                ignore_stray_cancel(&message.command);
                                continue;
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

    pub(super) async fn get(
        &mut self,
        pc: u8,
        command: Command,
        data_set: Option<bytes::Bytes>,
        context: &Context,
        contexts: &HashMap<u8, Context>,
        assembler: &mut Assembler,
    ) -> Result<(), AssociationEnd> {
        let span = info_span!("c_get", message_id = command.message_id);
        let Some(request) = self
            .admit(pc, &command, data_set, context, &GET_SOP_CLASSES, &span)
            .await?
        else {
            return Ok(());
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
        let mut counts = SubOperations::new(retrieval.sop_instance_uids.len());
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

    pub(super) async fn move_instances(
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
        let Some(retrieve) = self
            .admit(pc, &command, data_set, context, &MOVE_SOP_CLASSES, &span)
            .await?
        else {
            return Ok(());
        };
        if destination.trim().is_empty() {
            let comment = "C-MOVE without a destination";
            warn!(parent: &span, comment, "refusing C-MOVE");
            let status = Status::MOVE_DESTINATION_UNKNOWN;
            return self.respond(pc, &command, status, Some(comment)).await;
        }
        let request = MoveRequest {
            retrieve,
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
        let mut counts = SubOperations::new(retrieval.sop_instance_uids.len());
        if retrieval.sop_instance_uids.is_empty() {
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
                let said = match error {
                    ScuError::NothingAccepted { .. } => {
                        format!("{called} takes none of these SOP classes")
                    }
                    _ => format!("cannot reach {called}"),
                };
                response.error_comment = Some(said.chars().take(MAX_ERROR_COMMENT).collect());
                counts.failed = retrieval.sop_instance_uids;
                counts.write_to(&mut response, false);
                let identifier = failed_uid_list(&counts.failed, &context.transfer_syntax);
                return self.send_command(pc, &response, Some(&identifier)).await;
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

    /// The request a query or retrieve `command` on `context` makes, or
    /// `None` after refusing it (one final response): when the context is
    /// not one of the service's `models` (SOP class not supported), or
    /// there is no identifier (cannot understand).
    async fn admit(
        &mut self,
        pc: u8,
        command: &Command,
        data_set: Option<bytes::Bytes>,
        context: &Context,
        models: &[&str],
        span: &tracing::Span,
    ) -> Result<Option<QueryRequest>, AssociationEnd> {
        let service = match command.command_field {
            CommandField::CFindRq => "C-FIND",
            CommandField::CGetRq => "C-GET",
            _ => "C-MOVE",
        };
        let refusal = if !models.contains(&context.abstract_syntax.as_str()) {
            Some((
                Status::SOP_CLASS_NOT_SUPPORTED,
                format!("{service} on a context that is not one of its models"),
            ))
        } else if data_set.is_none() {
            Some((
                Status::CANNOT_UNDERSTAND,
                format!("{service} without an identifier"),
            ))
        } else {
            None
        };
        if let Some((status, comment)) = refusal {
            warn!(parent: span, %status, comment, "refusing {service}");
            self.respond(pc, command, status, Some(&comment)).await?;
            return Ok(None);
        }
        Ok(Some(QueryRequest {
            message_id: command.message_id.unwrap_or(0),
            affected_sop_class_uid: context.abstract_syntax.clone(),
            transfer_syntax_uid: context.transfer_syntax.clone(),
            identifier: data_set.unwrap_or_default(),
        }))
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
        // Only where the peer took the SCP role: a context for the class
        // proposed without role selection is one it may store on, not
        // one it will be stored to.
        if !self.peer_scp_classes.contains(&outgoing.sop_class_uid) {
            warn!(
                sop_class = outgoing.sop_class_uid,
                sop_instance_uid = outgoing.sop_instance_uid,
                "the peer did not take the SCP role for this SOP class (role selection); \
                 sub-operation failed"
            );
            return Ok(None);
        }
        let mut candidates: Vec<(&u8, &Context)> = contexts
            .iter()
            .filter(|(_, c)| c.abstract_syntax == outgoing.sop_class_uid)
            .collect();
        // The stored syntax first; else one the instance can be converted
        // to without loss (a lossy one only if the peer took nothing else,
        // and the conversion then refuses it).
        candidates.sort_by_key(|(id, c)| {
            (
                c.transfer_syntax != outgoing.transfer_syntax_uid,
                super::negotiation::is_lossy(&c.transfer_syntax),
                **id,
            )
        });
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
                CommandField::CCancelRq => ignore_stray_cancel(c),
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
}

/// Logs a C-CANCEL-RQ that names no operation in progress. PS3.7 has
/// the peer cancel only what it is waiting for, but a cancel that crosses
/// the final response on the wire names an operation just finished; it
/// stops nothing and is no reason to abort the association.
fn ignore_stray_cancel(cancel: &Command) {
    debug!(
        message_id = ?cancel.message_id_being_responded_to,
        "C-CANCEL-RQ for no operation in progress; ignored"
    );
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
