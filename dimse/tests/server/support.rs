//! Shared fixtures: a recording handler, a server on 127.0.0.1:0, dcmtk
//! runners, generated DICOM files and a raw upper-layer peer.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::BytesMut;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use dicom_ul::Pdu;
use dicom_ul::pdu::{AssociationRQ, PresentationContextProposed, UserVariableItem};
use dimse::wire::{RawPdu, WireError};
use dimse::{
    AssociationInfo, AssociationRequest, DataSetSink, DimseServer, ServerConfig, ServiceHandler,
    Status, StoreAnnouncement, StoreRequest, StoreResponse,
};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Always the distribution's dcmtk: other tools with these names may be on PATH.
pub const ECHOSCU: &str = "/usr/bin/echoscu";
pub const STORESCU: &str = "/usr/bin/storescu";

pub const OUR_AE: &str = "PACS";
pub const SCU_AE: &str = "TESTSCU";

/// Upper bound for any single step of a test.
pub const STEP: Duration = Duration::from_secs(60);

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
}

/// One C-STORE as the handler saw it.
#[derive(Debug)]
pub struct Received {
    pub calling_ae_title: String,
    pub request: StoreRequest,
    /// What the sink was given: the announcement and each piece, when
    /// the recorder takes data sets as they arrive.
    pub streamed: Option<(StoreAnnouncement, Vec<bytes::Bytes>)>,
}

/// Records a data set's pieces as they arrive; counts itself dropped
/// unless it came back with its request.
pub struct PieceRecorder {
    announced: StoreAnnouncement,
    pieces: Vec<bytes::Bytes>,
    dropped: Arc<std::sync::atomic::AtomicUsize>,
    returned: bool,
}

impl DataSetSink for PieceRecorder {
    fn push(&mut self, piece: bytes::Bytes) {
        self.pieces.push(piece);
    }
}

impl Drop for PieceRecorder {
    fn drop(&mut self) {
        if !self.returned {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// A handler that records what it receives and answers a fixed status.
pub struct Recorder {
    pub admit_only: Option<String>,
    pub response: StoreResponse,
    pub delay: Option<Duration>,
    pub received: Mutex<Vec<Received>>,
    /// Cancelled when the first C-STORE reaches the handler.
    pub first_store: CancellationToken,
    /// Drop data sets after recording (throughput runs).
    pub discard_data: bool,
    /// Take data sets piece by piece as they arrive.
    pub streams: bool,
    /// Sinks dropped without coming back in a request.
    pub sinks_dropped: Arc<std::sync::atomic::AtomicUsize>,
}

impl Recorder {
    pub fn new() -> Self {
        Recorder {
            admit_only: None,
            response: StoreResponse {
                status: Status::SUCCESS,
                error_comment: None,
            },
            delay: None,
            received: Mutex::new(Vec::new()),
            first_store: CancellationToken::new(),
            discard_data: false,
            streams: false,
            sinks_dropped: Arc::default(),
        }
    }

    pub fn streaming() -> Self {
        let mut recorder = Recorder::new();
        recorder.streams = true;
        recorder
    }

    pub fn answering(status: Status, comment: &str) -> Self {
        let mut recorder = Recorder::new();
        recorder.response = StoreResponse {
            status,
            error_comment: Some(comment.to_string()),
        };
        recorder
    }

    pub fn take(&self) -> Vec<Received> {
        std::mem::take(&mut *self.received.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn count(&self) -> usize {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

#[async_trait]
impl ServiceHandler for Recorder {
    fn admit(&self, request: &AssociationRequest) -> Result<(), String> {
        match &self.admit_only {
            Some(only) if *only != request.calling_ae_title => {
                Err(format!("unknown calling AE {}", request.calling_ae_title))
            }
            _ => Ok(()),
        }
    }

    fn begin_store(
        &self,
        _association: &AssociationInfo,
        announced: &StoreAnnouncement,
    ) -> Option<Box<dyn DataSetSink>> {
        self.streams.then(|| {
            Box::new(PieceRecorder {
                announced: announced.clone(),
                pieces: Vec::new(),
                dropped: Arc::clone(&self.sinks_dropped),
                returned: false,
            }) as Box<dyn DataSetSink>
        })
    }

    async fn store(
        &self,
        association: &AssociationInfo,
        mut request: StoreRequest,
    ) -> StoreResponse {
        self.first_store.cancel();
        let streamed = request.sink.take().map(|sink| {
            let mut sink = (sink as Box<dyn std::any::Any>)
                .downcast::<PieceRecorder>()
                .unwrap_or_else(|_| panic!("the sink comes back as it was made"));
            sink.returned = true;
            (sink.announced.clone(), std::mem::take(&mut sink.pieces))
        });
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        if self.discard_data {
            request.dataset = bytes::Bytes::new();
        }
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Received {
                calling_ae_title: association.calling_ae_title.clone(),
                request,
                streamed,
            });
        self.response.clone()
    }
}

pub fn config() -> ServerConfig {
    let mut config = ServerConfig::new(OUR_AE);
    config.idle_timeout = Duration::from_secs(20);
    config
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<()>,
}

impl TestServer {
    pub async fn start(config: ServerConfig, handler: Arc<Recorder>) -> TestServer {
        init_tracing();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("bound address");
        let shutdown = CancellationToken::new();
        let server = DimseServer::new(config, handler);
        let task = tokio::spawn(server.serve(listener, shutdown.clone()));
        TestServer {
            addr,
            shutdown,
            task,
        }
    }

    pub fn port(&self) -> String {
        self.addr.port().to_string()
    }

    /// Cancels and waits for `serve` to return.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("serve returns after shutdown")
            .expect("serve does not panic");
    }
}

/// Exit status and combined output of a dcmtk run.
pub struct ToolOutput {
    pub success: bool,
    pub text: String,
}

pub async fn run_tool(program: &str, args: &[&str]) -> ToolOutput {
    let mut command = tokio::process::Command::new(program);
    command.args(args).kill_on_drop(true);
    let output = tokio::time::timeout(STEP, command.output())
        .await
        .unwrap_or_else(|_| panic!("{program} finished in time"))
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    ToolOutput {
        success: output.status.success(),
        text,
    }
}

pub async fn storescu(server: &TestServer, extra: &[&str], files: &[PathBuf]) -> ToolOutput {
    let port = server.port();
    let mut args: Vec<&str> = vec!["-v", "-aet", SCU_AE, "-aec", OUR_AE];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["127.0.0.1", &port]);
    let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(files.iter().map(String::as_str));
    run_tool(STORESCU, &args).await
}

/// A CT image, `rows`×64 16-bit, written with transfer syntax `ts`.
/// Returns the path and the data set bytes as they appear in the file.
pub fn write_ct(
    dir: &Path,
    name: &str,
    ts: &str,
    instance_uid: &str,
    rows: u16,
) -> (PathBuf, Vec<u8>) {
    let columns: u16 = 64;
    let pixels: Vec<u16> = (0..u32::from(rows) * u32::from(columns))
        .map(|i| (i % 4096) as u16)
        .collect();
    let mut object = InMemDicomObject::new_empty();
    let mut put = |tag, vr, value: PrimitiveValue| {
        object.put(DataElement::new(tag, vr, value));
    };
    put(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE.into());
    put(tags::SOP_INSTANCE_UID, VR::UI, instance_uid.into());
    put(tags::MODALITY, VR::CS, "CT".into());
    put(tags::PATIENT_NAME, VR::PN, "Test^Dimse".into());
    put(tags::PATIENT_ID, VR::LO, "DIMSE-1".into());
    put(
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        "1.2.826.0.1.3680043.10.543.1".into(),
    );
    put(
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        "1.2.826.0.1.3680043.10.543.1.1".into(),
    );
    put(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16));
    put(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2".into(),
    );
    put(tags::ROWS, VR::US, PrimitiveValue::from(rows));
    put(tags::COLUMNS, VR::US, PrimitiveValue::from(columns));
    put(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16u16));
    put(tags::BITS_STORED, VR::US, PrimitiveValue::from(12u16));
    put(tags::HIGH_BIT, VR::US, PrimitiveValue::from(11u16));
    put(
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(0u16),
    );
    put(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(pixels.into()));
    let file = object
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(ts))
        .expect("valid file meta");
    let path = dir.join(name);
    file.write_to_file(&path).expect("file written");
    let bytes = std::fs::read(&path).expect("file readable");
    let data_set = data_set_of_file(&bytes).to_vec();
    (path, data_set)
}

/// The data set of a Part 10 file: after preamble, magic and the meta group,
/// whose length (0002,0000) is the first element (explicit VR LE).
pub fn data_set_of_file(bytes: &[u8]) -> &[u8] {
    assert_eq!(&bytes[128..132], b"DICM");
    let group_length = u32::from_le_bytes([bytes[140], bytes[141], bytes[142], bytes[143]]);
    &bytes[144 + group_length as usize..]
}

pub fn associate_rq(calling: &str, called: &str, contexts: &[(u8, &str, &[&str])]) -> Pdu {
    Pdu::AssociationRQ(AssociationRQ {
        protocol_version: 1,
        calling_ae_title: calling.to_string(),
        called_ae_title: called.to_string(),
        application_context_name: "1.2.840.10008.3.1.1.1".to_string(),
        presentation_contexts: contexts
            .iter()
            .map(
                |(id, abstract_syntax, transfer_syntaxes)| PresentationContextProposed {
                    id: *id,
                    abstract_syntax: abstract_syntax.to_string(),
                    transfer_syntaxes: transfer_syntaxes.iter().map(|ts| ts.to_string()).collect(),
                },
            )
            .collect(),
        user_variables: vec![UserVariableItem::MaxLength(16_384)],
    })
}

/// A peer speaking the upper layer by hand.
pub struct RawPeer {
    pub stream: TcpStream,
    pub buffer: BytesMut,
}

impl RawPeer {
    pub async fn connect(server: &TestServer) -> RawPeer {
        let stream = TcpStream::connect(server.addr).await.expect("connect");
        RawPeer {
            stream,
            buffer: BytesMut::new(),
        }
    }

    /// Connects and sends an A-ASSOCIATE-RQ for Verification and CT storage
    /// (contexts 1 and 3, implicit VR LE); returns the answer.
    pub async fn associate(server: &TestServer, calling: &str) -> (RawPeer, Pdu) {
        let mut peer = RawPeer::connect(server).await;
        let implicit: &[&str] = &[uids::IMPLICIT_VR_LITTLE_ENDIAN];
        peer.send(&associate_rq(
            calling,
            OUR_AE,
            &[
                (1, uids::VERIFICATION, implicit),
                (3, uids::CT_IMAGE_STORAGE, implicit),
            ],
        ))
        .await;
        let answer = peer.receive().await.expect("an answer to A-ASSOCIATE-RQ");
        (peer, answer)
    }

    pub async fn send(&mut self, pdu: &Pdu) {
        let mut bytes = Vec::new();
        dicom_ul::write_pdu(&mut bytes, pdu).expect("encodable PDU");
        self.send_bytes(&bytes).await;
    }

    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("send");
    }

    /// The next PDU, within [`STEP`].
    pub async fn receive(&mut self) -> Result<Pdu, WireError> {
        let read = dimse::wire::read_pdu(&mut self.stream, &mut self.buffer, 1 << 24);
        match tokio::time::timeout(STEP, read)
            .await
            .expect("a PDU or EOF in time")?
        {
            RawPdu::Other(pdu) => Ok(pdu),
            RawPdu::PData(body) => Ok(Pdu::PData {
                data: dimse::message::pdvs(&body)
                    .map(|f| {
                        let f = f.expect("well-formed PDV");
                        dicom_ul::pdu::PDataValue {
                            presentation_context_id: f.presentation_context_id,
                            value_type: if f.is_command {
                                dicom_ul::pdu::PDataValueType::Command
                            } else {
                                dicom_ul::pdu::PDataValueType::Data
                            },
                            is_last: f.is_last,
                            data: f.data.to_vec(),
                        }
                    })
                    .collect(),
            }),
        }
    }

    /// Waits for the server to abort: an A-ABORT, then end of stream (or
    /// the end of stream alone). Panics on anything else.
    pub async fn expect_abort_within(&mut self, limit: Duration) {
        let outcome = tokio::time::timeout(limit, async {
            loop {
                match self.receive().await {
                    Ok(Pdu::AbortRQ { .. }) => continue,
                    Ok(other) => panic!("expected abort, got {other:?}"),
                    Err(_) => return,
                }
            }
        })
        .await;
        assert!(outcome.is_ok(), "server did not abort within {limit:?}");
    }
}
