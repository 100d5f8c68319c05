//! Streaming `multipart/related` writer for responses (WADO-RS).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use futures::Stream;
use rand::distr::{Alphanumeric, SampleString};

use super::{MultipartError, validate_boundary};

/// Length of generated boundaries: 40 alphanumerics, about 238 random bits,
/// so a collision with content cannot happen in practice.
const BOUNDARY_LEN: usize = 40;

/// The content of an [`OutgoingPart`].
pub enum PartBody<E> {
    /// Content already in memory.
    Full(Bytes),
    /// Content produced as it is sent (a large instance read from storage).
    Streamed(Pin<Box<dyn Stream<Item = Result<Bytes, E>> + Send>>),
}

/// One part of a response body: its content type, extra header fields
/// (`Content-Location`, ...) and content.
pub struct OutgoingPart<E> {
    content_type: String,
    headers: Vec<(String, String)>,
    body: PartBody<E>,
}

impl<E> OutgoingPart<E> {
    /// A part whose content is already in memory.
    pub fn new(content_type: impl Into<String>, body: Bytes) -> Self {
        Self {
            content_type: content_type.into(),
            headers: Vec::new(),
            body: PartBody::Full(body),
        }
    }

    /// A part whose content is streamed; an error from `body` ends the whole
    /// response body with that error (the client sees a truncated message).
    pub fn streamed<S>(content_type: impl Into<String>, body: S) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    {
        Self {
            content_type: content_type.into(),
            headers: Vec::new(),
            body: PartBody::Streamed(Box::pin(body)),
        }
    }

    /// Adds a header field written after `Content-Type`. CR and LF in the
    /// name or value are replaced by spaces, so a value cannot inject
    /// header lines or delimiters.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The part's content type and content, for a response that is this
    /// part alone.
    pub fn into_content(self) -> (String, PartBody<E>) {
        (self.content_type, self.body)
    }

    /// The delimiter line and header block that precede this part's content.
    fn head(&self, boundary: &str, first: bool) -> Bytes {
        let mut out = BytesMut::with_capacity(128 + boundary.len());
        if !first {
            out.put_slice(b"\r\n");
        }
        out.put_slice(b"--");
        out.put_slice(boundary.as_bytes());
        out.put_slice(b"\r\nContent-Type: ");
        put_field_text(&mut out, &self.content_type);
        out.put_slice(b"\r\n");
        for (name, value) in &self.headers {
            put_field_text(&mut out, name);
            out.put_slice(b": ");
            put_field_text(&mut out, value);
            out.put_slice(b"\r\n");
        }
        out.put_slice(b"\r\n");
        out.freeze()
    }
}

/// Writes header text with CR and LF replaced by spaces.
fn put_field_text(out: &mut BytesMut, text: &str) {
    let bytes = text.as_bytes();
    if memchr::memchr2(b'\r', b'\n', bytes).is_none() {
        out.put_slice(bytes);
        return;
    }
    for &b in bytes {
        out.put_u8(if b == b'\r' || b == b'\n' { b' ' } else { b });
    }
}

/// Produces `multipart/related` response bodies with a fresh random
/// boundary.
#[derive(Debug, Clone)]
pub struct MultipartWriter {
    boundary: String,
    type_param: String,
}

impl MultipartWriter {
    /// A writer for parts of media type `type_param` (for example
    /// `application/dicom`), with a random 40-character boundary.
    pub fn new(type_param: &str) -> Self {
        Self {
            boundary: Alphanumeric.sample_string(&mut rand::rng(), BOUNDARY_LEN),
            type_param: type_param.to_owned(),
        }
    }

    /// A writer with a chosen boundary (reproducible output in tests).
    pub fn with_boundary(type_param: &str, boundary: &str) -> Result<Self, MultipartError> {
        validate_boundary(boundary)?;
        Ok(Self {
            boundary: boundary.to_owned(),
            type_param: type_param.to_owned(),
        })
    }

    /// The boundary separating parts.
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// The response `Content-Type`:
    /// `multipart/related; type="application/dicom"; boundary=...`.
    pub fn content_type(&self) -> String {
        let boundary = if self.boundary.bytes().all(|b| b.is_ascii_alphanumeric()) {
            self.boundary.clone()
        } else {
            format!("\"{}\"", self.boundary)
        };
        format!(
            "multipart/related; type=\"{}\"; boundary={boundary}",
            self.type_param
        )
    }

    /// The body made of `parts`, streamed: each part's content is passed
    /// through as it is produced, never assembled in memory. An error from
    /// `parts` or from a part's stream is yielded and ends the body without
    /// the close delimiter, so the client sees a truncated message.
    pub fn body<P, E>(&self, parts: P) -> MultipartBody<P, E>
    where
        P: Stream<Item = Result<OutgoingPart<E>, E>>,
    {
        MultipartBody {
            boundary: self.boundary.clone(),
            parts: Box::pin(parts),
            state: BodyState::NextPart,
            first: true,
        }
    }
}

/// What a [`MultipartBody`] yields next.
enum BodyState<E> {
    /// Ask the parts stream for the next part.
    NextPart,
    /// Yield this in-memory content, then move to the next part.
    Content(Bytes),
    /// Pass this part's content stream through.
    Streaming(Pin<Box<dyn Stream<Item = Result<Bytes, E>> + Send>>),
    /// Finished (after the close delimiter or an error).
    Done,
}

/// The streamed body made by [`MultipartWriter::body`].
pub struct MultipartBody<P, E> {
    boundary: String,
    parts: Pin<Box<P>>,
    state: BodyState<E>,
    first: bool,
}

impl<P, E> Stream for MultipartBody<P, E>
where
    P: Stream<Item = Result<OutgoingPart<E>, E>>,
{
    type Item = Result<Bytes, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Every field is Unpin (the streams are boxed).
        let this = self.get_mut();
        loop {
            match std::mem::replace(&mut this.state, BodyState::Done) {
                BodyState::Done => return Poll::Ready(None),
                BodyState::Content(content) => {
                    this.state = BodyState::NextPart;
                    if !content.is_empty() {
                        return Poll::Ready(Some(Ok(content)));
                    }
                }
                BodyState::Streaming(mut stream) => match stream.as_mut().poll_next(cx) {
                    Poll::Ready(Some(Ok(chunk))) => {
                        this.state = BodyState::Streaming(stream);
                        if !chunk.is_empty() {
                            return Poll::Ready(Some(Ok(chunk)));
                        }
                    }
                    Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                    Poll::Ready(None) => this.state = BodyState::NextPart,
                    Poll::Pending => {
                        this.state = BodyState::Streaming(stream);
                        return Poll::Pending;
                    }
                },
                BodyState::NextPart => match this.parts.as_mut().poll_next(cx) {
                    Poll::Ready(Some(Ok(part))) => {
                        let head = part.head(&this.boundary, this.first);
                        this.first = false;
                        this.state = match part.body {
                            PartBody::Full(content) => BodyState::Content(content),
                            PartBody::Streamed(stream) => BodyState::Streaming(stream),
                        };
                        return Poll::Ready(Some(Ok(head)));
                    }
                    Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                    Poll::Ready(None) => {
                        let close = if this.first { "" } else { "\r\n" };
                        let close = format!("{close}--{}--\r\n", this.boundary);
                        return Poll::Ready(Some(Ok(Bytes::from(close))));
                    }
                    Poll::Pending => {
                        this.state = BodyState::NextPart;
                        return Poll::Pending;
                    }
                },
            }
        }
    }
}
