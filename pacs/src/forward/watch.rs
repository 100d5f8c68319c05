//! Uploads on slow links, bounded by progress rather than by a deadline.
//!
//! A study on a 512 kbit/s link takes minutes per request, so no fixed
//! limit on a whole request fits every link: it either cuts good uploads
//! that are merely slow (every retry stops at the same large instance)
//! or waits far too long on a dead one. An upload here is given up only
//! when no byte of its body has moved for a while, or when the answer
//! does not come once all of it has left.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use pacs_core::forward::now_millis;

/// How long a body may stand still mid-upload: long enough for a radio
/// hop that fades for a moment, short enough that a dead link is let go
/// (the next attempt resumes or resends).
pub const STALL: Duration = Duration::from_secs(20);

/// How long an upload may stand still.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// While the body is being sent: no chunk taken by the connection for
    /// this long means the link stalled.
    pub stall: Duration,
    /// Once the whole body has been handed to the connection: the answer's
    /// headers must come within this long. On a slow link the last
    /// megabytes may still sit in the socket's buffer then, so this
    /// includes [`ANSWER_SLACK`] beside the far end's own time; a link
    /// that dies meanwhile is noticed sooner by TCP (the client's
    /// `tcp_user_timeout`).
    pub answer: Duration,
}

/// What the answer limit allows for the socket's buffer to drain: a few
/// megabytes at about 150 kbit/s.
pub const ANSWER_SLACK: Duration = Duration::from_secs(240);

/// Why an upload was given up.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("no progress for {} s", .0.as_secs())]
    Stalled(Duration),
    #[error("no answer {} s after the upload ended", .0.as_secs())]
    NoAnswer(Duration),
    #[error("{}", super::session::error_chain(.0))]
    Http(#[from] reqwest::Error),
}

/// Sends `request` with `body`, watched as [`Limits`] says.
pub async fn send<S, T, E>(
    request: reqwest::RequestBuilder,
    body: S,
    limits: Limits,
) -> Result<reqwest::Response, UploadError>
where
    S: Stream<Item = Result<T, E>> + Send + 'static,
    T: 'static,
    Bytes: From<T>,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    let progress = Progress::default();
    let watched = Watched {
        inner: Box::pin(body),
        progress: progress.clone(),
    };
    let request = request.body(reqwest::Body::wrap_stream(watched)).send();
    tokio::select! {
        response = request => Ok(response?),
        error = progress.stalled(limits) => Err(error),
    }
}

/// Reads a whole (small) answer, within `limit`.
pub async fn text(response: reqwest::Response, limit: Duration) -> Result<String, UploadError> {
    match tokio::time::timeout(limit, response.text()).await {
        Ok(text) => Ok(text?),
        Err(_) => Err(UploadError::NoAnswer(limit)),
    }
}

/// When the body last moved and whether all of it has left.
#[derive(Debug, Clone)]
struct Progress {
    moved: Arc<AtomicI64>,
    finished: Arc<AtomicBool>,
}

impl Default for Progress {
    fn default() -> Progress {
        Progress {
            moved: Arc::new(AtomicI64::new(now_millis())),
            finished: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl Progress {
    /// Returns once the upload has stood still for longer than `limits`
    /// allow; never, while it moves.
    async fn stalled(&self, limits: Limits) -> UploadError {
        let tick = limits.stall.min(Duration::from_secs(1));
        loop {
            tokio::time::sleep(tick).await;
            let idle = now_millis() - self.moved.load(Ordering::Relaxed);
            let (limit, error) = if self.finished.load(Ordering::Relaxed) {
                (limits.answer, UploadError::NoAnswer(limits.answer))
            } else {
                (limits.stall, UploadError::Stalled(limits.stall))
            };
            if idle > limit.as_millis() as i64 {
                return error;
            }
        }
    }
}

/// A body stream that notes each chunk the connection takes, and its end.
struct Watched<T, E> {
    inner: Pin<Box<dyn Stream<Item = Result<T, E>> + Send>>,
    progress: Progress,
}

impl<T, E> Stream for Watched<T, E> {
    type Item = Result<T, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = self.inner.poll_next_unpin(cx);
        if let Poll::Ready(item) = &next {
            self.progress.moved.store(now_millis(), Ordering::Relaxed);
            if item.is_none() {
                self.progress.finished.store(true, Ordering::Relaxed);
            }
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that reads requests at `rate` bytes a second and, once the
    /// body is in (or never), answers.
    async fn slow_server(rate: usize, answer: bool) -> std::net::SocketAddr {
        // A small receive window, as a slow link's: the body waits on the
        // sending side, taken by the connection only as it drains.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(64 << 10).unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(1).unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; rate / 100];
            let mut seen: Vec<u8> = Vec::new();
            loop {
                let n = socket.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                seen.extend_from_slice(&buf[..n]);
                // The body's last chunk, then the chunked encoding's end.
                if seen.ends_with(b"END\r\n0\r\n\r\n") {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if answer {
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await;
            }
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        addr
    }

    fn body(len: usize) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
        let mut data = vec![b'x'; len];
        data.extend_from_slice(b"END");
        let chunks: Vec<Bytes> = data.chunks(16 << 10).map(Bytes::copy_from_slice).collect();
        futures::stream::iter(chunks.into_iter().map(Ok))
    }

    /// An upload that keeps moving, slowly, is never cut, however long it
    /// takes as a whole: here far longer than the stall limit.
    #[tokio::test]
    async fn a_slow_upload_that_moves_is_not_cut() {
        let addr = slow_server(2 << 20, true).await;
        let limits = Limits {
            stall: Duration::from_millis(1500),
            answer: Duration::from_secs(20),
        };
        let request = reqwest::Client::new().post(format!("http://{addr}/"));
        // 12 MiB at 2 MiB/s at most: six seconds or more, four stall
        // limits, most of it with the sockets' buffers full.
        let started = std::time::Instant::now();
        let response = send(request, body(12 << 20), limits)
            .await
            .expect("delivered");
        assert!(
            started.elapsed() > limits.stall * 3,
            "the upload outlasted the stall limit several times over"
        );
        assert_eq!(text(response, limits.answer).await.unwrap(), "ok");
    }

    /// A link that stops moving mid-body (the far end reads no more) is
    /// given up after the stall limit, long before the body could end.
    #[tokio::test]
    async fn a_stalled_upload_is_given_up() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (_socket, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let limits = Limits {
            stall: Duration::from_secs(1),
            answer: Duration::from_secs(10),
        };
        let request = reqwest::Client::new().post(format!("http://{addr}/"));
        // Far more than the sockets' buffers hold.
        let error = send(request, body(128 << 20), limits).await.unwrap_err();
        assert!(matches!(error, UploadError::Stalled(_)), "{error}");
    }

    /// A far end that takes everything but never answers is given up
    /// after the answer limit, and said so.
    #[tokio::test]
    async fn a_missing_answer_is_given_up() {
        let addr = slow_server(64 << 20, false).await;
        let limits = Limits {
            stall: Duration::from_secs(10),
            answer: Duration::from_secs(1),
        };
        let request = reqwest::Client::new().post(format!("http://{addr}/"));
        let error = send(request, body(1 << 20), limits).await.unwrap_err();
        assert!(matches!(error, UploadError::NoAnswer(_)), "{error}");
    }
}
