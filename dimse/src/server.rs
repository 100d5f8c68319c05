//! The association acceptor.
//!
//! [`DimseServer::serve`] accepts TCP connections and runs each on its own
//! task: peek and judge the A-ASSOCIATE-RQ ([`negotiation`]), let
//! `dicom-ul` establish the association, then serve messages
//! (the private `association` module). The protocol knows nothing of storage: every service
//! decision is the [`ServiceHandler`]'s.

mod association;
pub mod negotiation;
mod query_retrieve;
mod sub_operations;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use dicom_ul::association::server::ServerAssociationOptions;
use dicom_ul::pdu::{AssociationRJServiceUserReason, MAXIMUM_PDU_SIZE, MINIMUM_PDU_SIZE};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, Span, debug, field, info, info_span, warn};

use crate::status::Status;
use association::Session;
use negotiation::{Admission, PeekError, serves_abstract_syntax};

/// Settings of the acceptor.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Our AE title (called AE title that peers must use).
    pub ae_title: String,
    /// Maximum PDU length we accept and announce.
    pub max_pdu_length: u32,
    /// An association idle for longer than this (no PDU at all) is aborted.
    pub idle_timeout: Duration,
    /// Maximum number of associations served at once; further peers are
    /// rejected (transient, "local limit exceeded").
    pub max_associations: usize,
    /// Whether the called AE title must equal `ae_title`; when false any
    /// called AE title is accepted (the handler may still refuse).
    pub require_called_ae_title: bool,
    /// Most bytes of one message (command and data set) we hold while it
    /// arrives; a larger one aborts the association. Bounds the memory a
    /// peer can make us allocate.
    pub max_message_size: usize,
    /// Shared by every association: data sets arriving are covered by it
    /// as they grow, and one it cannot cover is refused with 0xA700 (out
    /// of resources) while the association goes on. `None`: only
    /// `max_message_size` bounds each association.
    pub memory_budget: Option<memory_budget::MemoryBudget>,
}

impl ServerConfig {
    /// Defaults that suit one machine: 1 MiB PDUs, 5 minutes idle timeout,
    /// 64 associations, messages up to 2 GiB.
    pub fn new(ae_title: impl Into<String>) -> Self {
        ServerConfig {
            ae_title: ae_title.into(),
            max_pdu_length: DEFAULT_MAX_PDU_LENGTH,
            idle_timeout: Duration::from_secs(300),
            max_associations: 64,
            require_called_ae_title: true,
            max_message_size: 2 << 30,
            memory_budget: None,
        }
    }
}

/// Maximum PDU length we announce unless configured otherwise.
pub const DEFAULT_MAX_PDU_LENGTH: u32 = 1 << 20;

/// What a peer asked for when it opened an association.
#[derive(Debug, Clone)]
pub struct AssociationRequest {
    pub calling_ae_title: String,
    pub called_ae_title: String,
    pub peer_addr: SocketAddr,
}

/// An established association, as handlers see it.
#[derive(Debug, Clone)]
pub struct AssociationInfo {
    /// Process-unique id, for logs.
    pub id: u64,
    pub calling_ae_title: String,
    pub called_ae_title: String,
    pub peer_addr: SocketAddr,
}

/// One C-STORE request, its data set complete.
pub struct StoreRequest {
    pub message_id: u16,
    pub affected_sop_class_uid: String,
    pub affected_sop_instance_uid: String,
    /// Transfer syntax of `dataset`, from the presentation context.
    pub transfer_syntax_uid: String,
    pub move_originator_ae_title: Option<String>,
    /// The data set exactly as received (no file meta group).
    pub dataset: Bytes,
    /// The sink [`ServiceHandler::begin_store`] returned for this request,
    /// which has been given every piece of `dataset`.
    pub sink: Option<Box<dyn DataSetSink>>,
}

impl std::fmt::Debug for StoreRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreRequest")
            .field("message_id", &self.message_id)
            .field("affected_sop_class_uid", &self.affected_sop_class_uid)
            .field("affected_sop_instance_uid", &self.affected_sop_instance_uid)
            .field("transfer_syntax_uid", &self.transfer_syntax_uid)
            .field("move_originator_ae_title", &self.move_originator_ae_title)
            .field("dataset", &format_args!("{} bytes", self.dataset.len()))
            .field("sink", &self.sink.is_some())
            .finish()
    }
}

/// A C-STORE command that has arrived, its data set not yet.
#[derive(Debug, Clone)]
pub struct StoreAnnouncement {
    pub message_id: u16,
    pub affected_sop_class_uid: String,
    pub affected_sop_instance_uid: String,
    /// Transfer syntax the data set will be in.
    pub transfer_syntax_uid: String,
}

/// Takes a C-STORE's data set piece by piece as its PDUs arrive, so that a
/// handler can start on it (write it, hash it) before it is complete. See
/// [`ServiceHandler::begin_store`].
pub trait DataSetSink: std::any::Any + Send {
    /// The next piece of the data set, in order. Must not wait: the
    /// association reads the next PDU only after this returns.
    fn push(&mut self, piece: Bytes);
}

/// The answer to a C-STORE.
#[derive(Debug, Clone)]
pub struct StoreResponse {
    pub status: Status,
    /// Free text for the peer's log (Error Comment, at most 64 characters).
    pub error_comment: Option<String>,
}

/// One C-FIND, C-GET or C-MOVE request, its identifier complete.
#[derive(Debug)]
pub struct QueryRequest {
    pub message_id: u16,
    /// The query/retrieve information model (Patient Root, Study Root...).
    pub affected_sop_class_uid: String,
    /// Transfer syntax of `identifier`, and of a C-FIND's answers.
    pub transfer_syntax_uid: String,
    /// The identifier exactly as received: what to match, or the unique
    /// keys of what to send.
    pub identifier: Bytes,
}

/// The end of a C-FIND or C-GET other than success: its status and a
/// comment for the peer's log.
#[derive(Debug, Clone)]
pub struct QueryFailure {
    pub status: Status,
    pub error_comment: Option<String>,
}

/// The matches of a C-FIND as the handler produces them: each item is
/// one identifier, encoded in the request's transfer syntax, sent to the
/// peer as a pending response as soon as it arrives. An `Err` item ends
/// the query with that failure; the channel closing ends it with success.
/// When the peer cancels, the receiver is dropped, which tells the
/// producer to stop.
pub type FindMatches = tokio::sync::mpsc::Receiver<Result<Bytes, QueryFailure>>;

/// One instance a retrieval sends with a C-STORE sub-operation.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    /// Transfer syntax of `dataset`.
    pub transfer_syntax_uid: String,
    /// The data set (no file meta group).
    pub dataset: Bytes,
}

/// What a C-GET or C-MOVE sends: the SOP Instance UIDs of every instance
/// (for the sub-operation counts, and the failed list when none can be
/// sent), then each one as it is read, in that order. An `Err` item is an
/// instance that could not be read, by SOP Instance UID: a failed
/// sub-operation. The receiver is dropped when the peer cancels.
pub struct Retrieval {
    pub sop_instance_uids: Vec<String>,
    pub instances: tokio::sync::mpsc::Receiver<Result<Outgoing, String>>,
}

/// One C-MOVE request: a retrieval and where to send it.
#[derive(Debug)]
pub struct MoveRequest {
    pub retrieve: QueryRequest,
    /// The Move Destination AE title, trimmed.
    pub destination_ae_title: String,
}

/// Where a C-MOVE's instances go and what to propose to that node: for
/// each SOP class, the transfer syntaxes in order of preference.
pub struct MoveTarget {
    pub retrieval: Retrieval,
    pub node: crate::client::StoreScuOptions,
    pub proposals: Vec<(String, Vec<String>)>,
}

/// The services behind the acceptor.
#[async_trait]
pub trait ServiceHandler: Send + Sync + 'static {
    /// Decides whether a peer may open an association. `Err` carries the
    /// reason for our log; the peer gets an A-ASSOCIATE-RJ.
    fn admit(&self, request: &AssociationRequest) -> Result<(), String>;

    /// Called once a C-STORE's command has arrived, before its data set.
    /// A handler that returns a sink is given each piece of the data set
    /// as it arrives, then the sink itself in [`StoreRequest::sink`]; a
    /// message the peer abandons drops it. By default there is none.
    fn begin_store(
        &self,
        association: &AssociationInfo,
        announced: &StoreAnnouncement,
    ) -> Option<Box<dyn DataSetSink>> {
        let _ = (association, announced);
        None
    }

    /// Handles one C-STORE.
    async fn store(&self, association: &AssociationInfo, request: StoreRequest) -> StoreResponse;

    /// Starts one C-FIND. By default queries are not served.
    async fn find(
        &self,
        association: &AssociationInfo,
        request: QueryRequest,
    ) -> Result<FindMatches, QueryFailure> {
        let _ = (association, request);
        Err(QueryFailure {
            status: Status::SOP_CLASS_NOT_SUPPORTED,
            error_comment: Some("queries are not served here".into()),
        })
    }

    /// Starts one C-GET. By default retrievals are not served.
    async fn get(
        &self,
        association: &AssociationInfo,
        request: QueryRequest,
    ) -> Result<Retrieval, QueryFailure> {
        let _ = (association, request);
        Err(QueryFailure {
            status: Status::SOP_CLASS_NOT_SUPPORTED,
            error_comment: Some("retrievals are not served here".into()),
        })
    }

    /// Starts one C-MOVE: the instances and the node they go to. By
    /// default retrievals are not served.
    async fn move_instances(
        &self,
        association: &AssociationInfo,
        request: MoveRequest,
    ) -> Result<MoveTarget, QueryFailure> {
        let _ = (association, request);
        Err(QueryFailure {
            status: Status::SOP_CLASS_NOT_SUPPORTED,
            error_comment: Some("retrievals are not served here".into()),
        })
    }

    /// `outgoing`'s data set in transfer syntax `to`, for a peer that did
    /// not accept the stored one. By default nothing is converted.
    async fn transcode(&self, outgoing: &Outgoing, to: &str) -> Result<Bytes, String> {
        Err(format!(
            "{} is stored in {}, which the peer did not accept, and cannot be converted to {to}",
            outgoing.sop_instance_uid, outgoing.transfer_syntax_uid
        ))
    }
}

/// Source of [`AssociationInfo::id`].
static NEXT_ASSOCIATION_ID: AtomicU64 = AtomicU64::new(1);

/// The acceptor. See the module docs.
pub struct DimseServer {
    config: ServerConfig,
    handler: Arc<dyn ServiceHandler>,
}

impl DimseServer {
    /// `config.max_pdu_length` is clamped to what the upper layer allows.
    pub fn new(mut config: ServerConfig, handler: Arc<dyn ServiceHandler>) -> Self {
        config.max_pdu_length = config
            .max_pdu_length
            .clamp(MINIMUM_PDU_SIZE, MAXIMUM_PDU_SIZE);
        DimseServer { config, handler }
    }

    /// Accepts associations on `listener` until `shutdown` is cancelled,
    /// then stops accepting, lets associations with a message in progress
    /// answer it, aborts the rest, and returns when every connection task
    /// has ended.
    pub async fn serve(self, listener: TcpListener, shutdown: CancellationToken) {
        let shared = Arc::new(self);
        let slots = Arc::new(Semaphore::new(shared.config.max_associations));
        let waiting = Arc::new(Semaphore::new(waiting_limit(
            shared.config.max_associations,
        )));
        let tasks = TaskTracker::new();
        if let Ok(address) = listener.local_addr() {
            info!(%address, ae_title = shared.config.ae_title, "DIMSE server listening");
        }
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let (socket, peer_addr) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off.
                    warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let id = NEXT_ASSOCIATION_ID.fetch_add(1, Ordering::Relaxed);
            let span = info_span!(
                "association",
                assoc_id = id,
                peer_aet = field::Empty,
                peer_addr = %peer_addr
            );
            // A connection that has not asked to associate holds no
            // association slot, only a place among those waiting, so
            // silent connections cannot lock modalities out.
            let Ok(waiting) = waiting.clone().try_acquire_owned() else {
                warn!(%peer_addr, "too many connections waiting to associate; closing");
                drop(socket);
                continue;
            };
            let connection = Connection {
                server: shared.clone(),
                id,
                peer_addr,
                slots: slots.clone(),
                waiting: Some(waiting),
                shutdown: shutdown.clone(),
            };
            tasks.spawn(connection.run(socket).instrument(span));
        }
        drop(listener);
        tasks.close();
        debug!(open = tasks.len(), "waiting for associations to end");
        tasks.wait().await;
        info!("DIMSE server stopped");
    }
}

/// One accepted TCP connection, before and during its association.
struct Connection {
    server: Arc<DimseServer>,
    id: u64,
    peer_addr: SocketAddr,
    /// One per association served; taken once the request is in.
    slots: Arc<Semaphore>,
    /// Held until the association request has arrived.
    waiting: Option<OwnedSemaphorePermit>,
    shutdown: CancellationToken,
}

/// How long a new connection has to send its A-ASSOCIATE-RQ (PS3.8's
/// ARTIM timer), unless the idle timeout is shorter.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Connections that may wait for their A-ASSOCIATE-RQ at once; more are
/// closed as they come.
fn waiting_limit(max_associations: usize) -> usize {
    max_associations.saturating_mul(4).max(16)
}

impl Connection {
    async fn run(mut self, mut socket: TcpStream) {
        let config = &self.server.config;
        // Responses are small and latency-bound: do not let Nagle hold them.
        if let Err(error) = socket.set_nodelay(true) {
            debug!(%error, "could not set TCP_NODELAY");
        }
        let request_timeout = config.idle_timeout.min(REQUEST_TIMEOUT);
        let peek = tokio::time::timeout(request_timeout, negotiation::peek_associate_rq(&socket));
        let peeked = tokio::select! {
            _ = self.shutdown.cancelled() => return,
            peeked = peek => peeked,
        };
        let peeked = match peeked {
            Err(_) => {
                info!(timeout = ?request_timeout, "no A-ASSOCIATE-RQ in time; closing");
                return;
            }
            Ok(Err(PeekError::Closed)) => {
                debug!("connection closed before associating");
                return;
            }
            Ok(Err(error)) => {
                warn!(%error, "refusing connection");
                let _ = negotiation::abort_raw(&mut socket).await;
                return;
            }
            Ok(Ok(peeked)) => peeked,
        };
        let request = &peeked.request;
        Span::current().record("peer_aet", request.calling_ae_title.as_str());

        self.waiting = None;
        let Ok(_slot) = self.slots.clone().try_acquire_owned() else {
            warn!(
                max_associations = config.max_associations,
                "association limit reached; rejecting (transient)"
            );
            let reject = negotiation::reject_local_limit(&mut socket, peeked.wire_length);
            let _ = tokio::time::timeout(config.idle_timeout, reject).await;
            return;
        };

        let association_request = AssociationRequest {
            calling_ae_title: request.calling_ae_title.clone(),
            called_ae_title: request.called_ae_title.clone(),
            peer_addr: self.peer_addr,
        };
        let admission = self.admit(&association_request);

        let mut options = ServerAssociationOptions::new()
            .ae_access_control(admission)
            .with_negotiation(negotiation::Roles)
            .ae_title(config.ae_title.clone())
            .max_pdu_length(config.max_pdu_length)
            // Not strict: the request, peeked and bounded above, may be
            // longer than the maximum we announce (which bounds P-DATA-TF
            // only). Every later PDU is read by `wire::read_pdu`, which
            // holds the peer to that maximum.
            .strict(false)
            .promiscuous(false)
            .read_timeout(config.idle_timeout)
            .write_timeout(config.idle_timeout)
            .with_abstract_syntax(dicom_dictionary_std::uids::VERIFICATION);
        for context in &request.presentation_contexts {
            let uid = context.abstract_syntax.trim_end_matches(['\0', ' ']);
            if serves_abstract_syntax(uid) {
                options = options.with_abstract_syntax(uid.to_string());
            } else {
                info!(abstract_syntax = uid, "abstract syntax not supported");
            }
        }
        for ts in negotiation::transfer_syntaxes(request) {
            options = options.with_transfer_syntax(ts);
        }

        let association = match options.establish_async(socket).await {
            Ok(association) => association,
            Err(error) => {
                warn!(%error, "association not established");
                return;
            }
        };
        let info = AssociationInfo {
            id: self.id,
            calling_ae_title: association_request.calling_ae_title,
            called_ae_title: association_request.called_ae_title,
            peer_addr: self.peer_addr,
        };
        Session {
            association,
            info,
            handler: self.server.handler.clone(),
            idle_timeout: config.idle_timeout,
            max_pdu_length: config.max_pdu_length,
            max_message_size: config.max_message_size,
            memory_budget: config.memory_budget.clone(),
            shutdown: self.shutdown.clone(),
            peer_scp_classes: negotiation::peer_scp_classes(request),
        }
        .run()
        .await;
    }

    /// Our called AE title rule first, then the handler's.
    fn admit(&self, request: &AssociationRequest) -> Admission {
        let config = &self.server.config;
        if config.require_called_ae_title && request.called_ae_title != config.ae_title {
            warn!(
                called_ae_title = request.called_ae_title,
                "rejecting association: called AE title is not ours"
            );
            return Admission(Err(
                AssociationRJServiceUserReason::CalledAETitleNotRecognized,
            ));
        }
        match self.server.handler.admit(request) {
            Ok(()) => Admission(Ok(())),
            Err(reason) => {
                warn!(reason, "rejecting association: not admitted");
                Admission(Err(
                    AssociationRJServiceUserReason::CallingAETitleNotRecognized,
                ))
            }
        }
    }
}
