//! A poor network link between two processes on loopback: a TCP proxy with
//! a bandwidth shared by all connections in each direction, a one-way
//! delay, losses, and outages switched on and off by the test.
//!
//! The kernel's own tools for this (`tc netem` in a network namespace) are
//! not available everywhere tests run, so the link is made here, at the
//! level of the bytes a connection carries. Loss cannot drop bytes from a
//! TCP stream; it shows the way TCP shows it, as a stall of the connection
//! that lost a segment for one round trip while it is sent again. An outage
//! is a black hole: connections stay open and nothing moves, as when a
//! radio link drops, and what was in flight moves on when it comes back. A
//! break is the other kind of outage, as when a VPN reconnects: every
//! connection is cut and new ones are closed as soon as they open.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// What the link is like.
#[derive(Debug, Clone, Copy)]
pub struct LinkSpec {
    /// Bytes per second in each direction, shared by every connection.
    pub bytes_per_sec: u64,
    /// Delay one way (half the round trip).
    pub one_way_delay: Duration,
    /// Chance that a 1460-byte segment is lost (0 to 1).
    pub loss: f64,
}

impl LinkSpec {
    /// `mbit` Mbit/s, `rtt` round trip, `loss` per segment.
    pub fn new(mbit: f64, rtt: Duration, loss: f64) -> LinkSpec {
        LinkSpec {
            bytes_per_sec: (mbit * 1e6 / 8.0) as u64,
            one_way_delay: rtt / 2,
            loss,
        }
    }
}

const SEGMENT: usize = 1460;
const CHUNK: usize = 16 * 1024;
/// Chunks a direction holds in flight: the link's buffer.
const QUEUE: usize = 32;

struct Direction {
    /// When the shared wire is next free.
    next_free: Mutex<Instant>,
    bytes: AtomicU64,
}

struct Shared {
    spec: LinkSpec,
    down: AtomicBool,
    broken: AtomicBool,
    up: Direction,
    downstream: Direction,
}

/// A running link; stopped when dropped.
pub struct Link {
    /// Where to connect to reach the target through the link.
    pub port: u16,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Link {
    /// Starts a link on a free loopback port to `target`.
    pub fn start(target: SocketAddr, spec: LinkSpec) -> Result<Link, String> {
        let shared = Arc::new(Shared {
            spec,
            down: AtomicBool::new(false),
            broken: AtomicBool::new(false),
            up: Direction {
                next_free: Mutex::new(Instant::now()),
                bytes: AtomicU64::new(0),
            },
            downstream: Direction {
                next_free: Mutex::new(Instant::now()),
                bytes: AtomicU64::new(0),
            },
        });
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
            .map_err(|e| format!("cannot bind the link: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("cannot set up the link: {e}"))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("cannot read the link's port: {e}"))?
            .port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("bad-link".into())
            .spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                else {
                    return;
                };
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(listener) else {
                        return;
                    };
                    let mut seed = 1u64;
                    tokio::select! {
                        _ = stopped => {}
                        _ = async {
                            loop {
                                let Ok((client, _)) = listener.accept().await else { continue };
                                if s.broken.load(Ordering::SeqCst) {
                                    // Closed as soon as it opened.
                                    drop(client);
                                    continue;
                                }
                                seed += 1;
                                tokio::spawn(carry(client, target, s.clone(), seed));
                            }
                        } => {}
                    }
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(|e| format!("cannot start the link: {e}"))?;
        Ok(Link {
            port,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Takes the link down (nothing moves) or brings it back.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// Breaks the link (every connection it carries is cut, new ones are
    /// closed at once) or mends it.
    pub fn set_broken(&self, broken: bool) {
        self.shared.broken.store(broken, Ordering::SeqCst);
    }

    /// Bytes carried towards the target so far.
    pub fn upstream_bytes(&self) -> u64 {
        self.shared.up.bytes.load(Ordering::SeqCst)
    }

    /// Bytes carried back from the target so far.
    pub fn downstream_bytes(&self) -> u64 {
        self.shared.downstream.bytes.load(Ordering::SeqCst)
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn carry(client: TcpStream, target: SocketAddr, shared: Arc<Shared>, seed: u64) {
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = pump(client_read, server_write, shared.clone(), true, seed);
    let down = pump(
        server_read,
        client_write,
        shared.clone(),
        false,
        seed ^ 0x5555,
    );
    // A break drops both directions, which closes both sockets.
    tokio::select! {
        _ = async { tokio::join!(up, down) } => {}
        _ = until_broken(&shared) => {}
    }
}

async fn until_broken(shared: &Shared) {
    while !shared.broken.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Aborts a task when dropped, so that a direction cut by a break leaves
/// no reader behind holding its socket.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Moves bytes one way: a reader stamps each chunk with when it may
/// arrive; a writer waits for that, for the link to be up, for its turn
/// on the shared wire, and for any loss to be repaired.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    shared: Arc<Shared>,
    upstream: bool,
    seed: u64,
) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(Instant, Vec<u8>)>(QUEUE);
    let delay = shared.spec.one_way_delay;
    let reader = AbortOnDrop(tokio::spawn(async move {
        let mut buf = vec![0u8; CHUNK];
        loop {
            match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx
                        .send((Instant::now() + delay, buf[..n].to_vec()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    }));
    let mut rng = SmallRng::seed_from_u64(seed);
    let direction = if upstream {
        &shared.up
    } else {
        &shared.downstream
    };
    let spec = shared.spec;
    while let Some((due, chunk)) = rx.recv().await {
        tokio::time::sleep_until(due).await;
        while shared.down.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The shared wire: each chunk takes its time on it, in turn.
        let on_wire = Duration::from_secs_f64(chunk.len() as f64 / spec.bytes_per_sec as f64);
        let done = {
            let mut next_free = direction.next_free.lock().await;
            let start = (*next_free).max(Instant::now());
            *next_free = start + on_wire;
            *next_free
        };
        tokio::time::sleep_until(done).await;
        // A lost segment stalls this connection for a round trip.
        let segments = chunk.len().div_ceil(SEGMENT);
        let lost = (0..segments).any(|_| rng.random::<f64>() < spec.loss);
        if lost {
            tokio::time::sleep(delay * 2).await;
        }
        if to.write_all(&chunk).await.is_err() {
            break;
        }
        direction
            .bytes
            .fetch_add(chunk.len() as u64, Ordering::SeqCst);
    }
    let _ = to.shutdown().await;
    drop(reader);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server on loopback, for the link to lead to.
    async fn echo_server() -> Result<SocketAddr, String> {
        let echo = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let target = echo.local_addr().map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            while let Ok((mut s, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        Ok(target)
    }

    #[test]
    fn the_link_carries_bytes_at_its_rate_and_holds_them_while_down() -> Result<(), String> {
        let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let target = echo_server().await?;
            let link = Link::start(target, LinkSpec::new(8.0, Duration::from_millis(100), 0.0))?;
            let mut s = TcpStream::connect(("127.0.0.1", link.port))
                .await
                .map_err(|e| e.to_string())?;
            let data = vec![7u8; 200_000];
            let start = std::time::Instant::now();
            let (mut r, mut w) = s.split();
            let send = async {
                w.write_all(&data).await.map_err(|e| e.to_string())?;
                Ok::<_, String>(())
            };
            let mut back = vec![0u8; data.len()];
            let receive = async { r.read_exact(&mut back).await.map_err(|e| e.to_string()) };
            let (a, b) = tokio::join!(send, receive);
            a?;
            b?;
            let took = start.elapsed();
            // 200 kB at 1 MB/s each way, plus a round trip.
            assert!(took >= Duration::from_millis(250), "{took:?}");
            assert!(took < Duration::from_secs(5), "{took:?}");
            assert_eq!(back, data);
            assert_eq!(link.upstream_bytes(), 200_000);

            link.set_down(true);
            w.write_all(b"held").await.map_err(|e| e.to_string())?;
            let mut four = [0u8; 4];
            let waited =
                tokio::time::timeout(Duration::from_millis(500), r.read_exact(&mut four)).await;
            assert!(waited.is_err(), "nothing moves while the link is down");
            link.set_down(false);
            tokio::time::timeout(Duration::from_secs(5), r.read_exact(&mut four))
                .await
                .map_err(|_| "the bytes came when the link was back".to_string())?
                .map_err(|e| e.to_string())?;
            assert_eq!(&four, b"held");
            Ok(())
        })
    }

    #[test]
    fn a_break_cuts_connections_until_the_link_is_mended() -> Result<(), String> {
        let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let target = echo_server().await?;
            let link = Link::start(target, LinkSpec::new(100.0, Duration::from_millis(2), 0.0))?;
            let connect = || TcpStream::connect(("127.0.0.1", link.port));
            // Reads what comes back within a second: the echo, or nothing
            // (end of stream or an error) on a cut connection.
            async fn echo_of(s: &mut TcpStream, data: &[u8]) -> Option<Vec<u8>> {
                s.write_all(data).await.ok()?;
                let mut back = vec![0u8; data.len()];
                tokio::time::timeout(Duration::from_secs(1), s.read_exact(&mut back))
                    .await
                    .ok()?
                    .ok()?;
                Some(back)
            }
            let mut open = connect().await.map_err(|e| e.to_string())?;
            assert_eq!(
                echo_of(&mut open, b"before").await.as_deref(),
                Some(&b"before"[..])
            );

            link.set_broken(true);
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut rest = Vec::new();
            let end = tokio::time::timeout(Duration::from_secs(1), open.read_to_end(&mut rest))
                .await
                .map_err(|_| "the open connection was not cut".to_string())?;
            assert!(end.is_err() || rest.is_empty(), "{end:?} {rest:?}");
            let mut fresh = connect().await.map_err(|e| e.to_string())?;
            assert_eq!(
                echo_of(&mut fresh, b"during").await,
                None,
                "a new connection is closed"
            );

            link.set_broken(false);
            let mut mended = connect().await.map_err(|e| e.to_string())?;
            assert_eq!(
                echo_of(&mut mended, b"after").await.as_deref(),
                Some(&b"after"[..])
            );
            Ok(())
        })
    }
}
