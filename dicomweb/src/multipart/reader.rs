//! Streaming `multipart/related` reader for request bodies (STOW-RS).

use bytes::{Buf, Bytes, BytesMut};
use futures::{Stream, StreamExt};
use memchr::memmem;
use memory_budget::{Held, MemoryBudget};

use super::MultipartError;

/// Longest run of transport padding (spaces, tabs) accepted after a
/// boundary; a longer run means the candidate is not a delimiter line.
const MAX_TRANSPORT_PADDING: usize = 1024;

/// How much of an oversized part's content is kept, at most: enough for
/// the Part 10 preamble and file meta group, so that a caller can name the
/// instance it refuses.
pub const OVERSIZED_HEAD_BYTES: usize = 8 * 1024;

/// Bounds on what a peer may make the reader hold or do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest body of a single part, in bytes. A part is held in memory
    /// whole, so this bounds the memory of one request. A larger part is
    /// skipped without being held and reported as [`Item::TooLarge`].
    pub max_part_size: u64,
    /// Largest header block of a single part, in bytes.
    pub max_header_bytes: usize,
    /// Most parts in one body, oversized ones included.
    pub max_parts: usize,
}

impl Default for Limits {
    /// 1 GiB parts, 16 KiB of headers, 100 000 parts.
    fn default() -> Self {
        Self {
            max_part_size: 1 << 30,
            max_header_bytes: 16 * 1024,
            max_parts: 100_000,
        }
    }
}

/// One complete part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Header fields in order; names lower-cased, values trimmed and
    /// unfolded.
    pub headers: Vec<(String, String)>,
    /// The part's content, without the CRLF that precedes the next
    /// delimiter.
    pub body: Bytes,
}

impl Part {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The part's `Content-Type`, if it has one. RFC 2046 defaults a missing
    /// one to `text/plain`; DICOMweb callers usually default it to the
    /// multipart `type` parameter instead, so that choice is left to them.
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }
}

/// A part whose content is larger than [`Limits::max_part_size`]. Its
/// content was discarded as it streamed by; the body goes on after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OversizedPart {
    /// Header fields, as in [`Part::headers`].
    pub headers: Vec<(String, String)>,
    /// The first bytes of the content: [`OVERSIZED_HEAD_BYTES`] or the
    /// limit, whichever is less.
    pub head: Bytes,
    /// The size of the whole content, in bytes.
    pub size: u64,
    /// The limit it exceeds.
    pub limit: u64,
}

impl OversizedPart {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The part's `Content-Type`, if it has one.
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }
}

/// The part a body broke off in: begun with a delimiter, never ended by
/// one. From [`MultipartReader::unfinished`] after the read failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnfinishedPart {
    /// Header fields, as in [`Part::headers`]; empty when the body broke
    /// off inside them.
    pub headers: Vec<(String, String)>,
    /// The first bytes of the content that arrived, at most
    /// [`OVERSIZED_HEAD_BYTES`]: enough for a DICOM file's meta group.
    pub head: Bytes,
    /// Content bytes that arrived, in all.
    pub received: u64,
}

/// What the reader found between two delimiters. A part too large to hold
/// is an item rather than an error because the reader can go on past it:
/// every [`MultipartError`] ends the read, an oversized part does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A complete part.
    Part(Part),
    /// A part over [`Limits::max_part_size`], skipped.
    TooLarge(OversizedPart),
    /// A part the reader's memory budget could not cover, skipped; its
    /// `limit` is the whole budget. Transient: it may fit later.
    NoRoom(OversizedPart),
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Where the reader is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Skipping the preamble, looking for the first delimiter.
    Preamble,
    /// Just after a delimiter line: a part's header block follows.
    Headers,
    /// Inside a part's body, looking for the next delimiter.
    Body,
    /// Inside a part's body past the size limit: discarding content up to
    /// the next delimiter.
    Oversized,
    /// The close delimiter was seen, or an error ended the read.
    Done,
}

/// A delimiter found in the buffer.
struct Delimiter {
    /// Offset of its leading CR.
    start: usize,
    /// Offset just past its line (past `--` for the close delimiter).
    end: usize,
    /// Whether it is the close delimiter (`--boundary--`).
    close: bool,
}

/// What follows `CRLF--boundary` in the buffer.
enum Tail {
    /// `--`: the close delimiter.
    Close,
    /// Transport padding and CRLF, this many bytes.
    Line(usize),
    /// Not enough bytes yet to tell.
    Incomplete,
    /// Something else: the match is part of the content, not a delimiter.
    NotDelimiter,
}

/// Reads a `multipart/related` body part by part from a stream of chunks.
///
/// Memory is bounded by [`Limits::max_part_size`] plus one chunk: the
/// preamble is discarded as it streams by, each part is handed out as soon
/// as its delimiter is seen, an oversized part is discarded as it streams by
/// once it passes the limit, and the epilogue is never read.
pub struct MultipartReader<S> {
    body: S,
    /// Unconsumed bytes; in [`State::Body`] it starts at the part's content.
    buf: BytesMut,
    /// Searches for `CRLF "--" boundary`.
    finder: memmem::Finder<'static>,
    /// Where the next delimiter search starts in `buf`; bytes before it are
    /// known not to start a delimiter.
    scan_from: usize,
    state: State,
    limits: Limits,
    parts_read: usize,
    headers: Vec<(String, String)>,
    /// In [`State::Oversized`]: the kept head of the part's content.
    oversized_head: Bytes,
    /// In [`State::Oversized`]: content bytes discarded so far.
    oversized_skipped: u64,
    /// In [`State::Oversized`]: whether for want of budget, not for size.
    oversized_no_room: bool,
    /// Shared with other readers and receivers: the content of the part
    /// being read is covered by it as it grows.
    budget: Option<MemoryBudget>,
    /// The budget held for the part being read.
    held: Option<Held>,
    /// The budget held for the part last returned, until taken.
    last_held: Option<Held>,
    /// The part the body broke off in, once the read failed.
    unfinished: Option<UnfinishedPart>,
}

impl<S, E> MultipartReader<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
    E: std::error::Error + Send + Sync + 'static,
{
    /// A reader of `body`, whose parts are separated by `boundary` (as
    /// returned by [`super::parse_content_type`]).
    pub fn new(body: S, boundary: &str, limits: Limits) -> Self {
        let mut delimiter = Vec::with_capacity(boundary.len() + 4);
        delimiter.extend_from_slice(b"\r\n--");
        delimiter.extend_from_slice(boundary.as_bytes());
        // The first delimiter may open the body without a CRLF before it;
        // a virtual CRLF lets one search handle both cases.
        let mut buf = BytesMut::with_capacity(64 * 1024);
        buf.extend_from_slice(b"\r\n");
        Self {
            body,
            buf,
            finder: memmem::Finder::new(&delimiter).into_owned(),
            scan_from: 0,
            state: State::Preamble,
            limits,
            parts_read: 0,
            headers: Vec::new(),
            oversized_head: Bytes::new(),
            oversized_skipped: 0,
            oversized_no_room: false,
            budget: None,
            held: None,
            last_held: None,
            unfinished: None,
        }
    }

    /// Parts are also covered by `budget` while they are read; one it
    /// cannot cover is skipped as [`Item::NoRoom`].
    pub fn with_budget(mut self, budget: MemoryBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// The budget held for the part last returned: keep it while that
    /// part's body is in memory. `None` without a budget.
    pub fn take_held(&mut self) -> Option<Held> {
        self.last_held.take()
    }

    /// How many items (parts, oversized ones included) have been returned
    /// so far.
    pub fn parts_read(&self) -> usize {
        self.parts_read
    }

    /// The next part, or `None` after the close delimiter. A part over
    /// [`Limits::max_part_size`] comes as [`Item::TooLarge`] and the parts
    /// after it are read as usual.
    ///
    /// On [`MultipartError::Truncated`] the items already returned are
    /// complete and only the rest of the upload is missing. After any error
    /// the reader is finished and further calls return `Ok(None)`.
    ///
    /// Cancel-safe: dropping the future loses no bytes, since a chunk is
    /// buffered as soon as the body stream yields it.
    pub async fn next_part(&mut self) -> Result<Option<Item>, MultipartError> {
        let result = self.advance().await;
        if let Err(e) = &result {
            if matches!(
                e,
                MultipartError::Truncated
                    | MultipartError::Body(_)
                    | MultipartError::MalformedHeader(_)
                    | MultipartError::HeadersTooLarge { .. }
            ) {
                self.unfinished = self.part_in_progress();
            }
            self.state = State::Done;
        }
        result
    }

    /// After [`MultipartError::Truncated`], [`MultipartError::Body`] or
    /// header fields that could not be read: the part the body broke off
    /// in, if it broke off inside one rather than before the first
    /// delimiter. Its content is incomplete and was not handed out; this
    /// says which part it was.
    pub fn unfinished(&mut self) -> Option<UnfinishedPart> {
        self.unfinished.take()
    }

    fn part_in_progress(&self) -> Option<UnfinishedPart> {
        let (head, received) = match self.state {
            State::Preamble | State::Done => return None,
            State::Headers => (Bytes::new(), 0),
            State::Body => {
                let head = OVERSIZED_HEAD_BYTES.min(self.buf.len());
                (
                    Bytes::copy_from_slice(&self.buf[..head]),
                    self.buf.len() as u64,
                )
            }
            State::Oversized => (
                self.oversized_head.clone(),
                self.oversized_skipped + self.buf.len() as u64,
            ),
        };
        Some(UnfinishedPart {
            headers: self.headers.clone(),
            head,
            received,
        })
    }

    async fn advance(&mut self) -> Result<Option<Item>, MultipartError> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Preamble => match self.find_delimiter() {
                    Some(delimiter) => self.enter_part(delimiter),
                    None => {
                        // Nothing before scan_from can start a delimiter.
                        self.buf.advance(self.scan_from);
                        self.scan_from = 0;
                        self.fill().await?;
                    }
                },
                State::Headers => {
                    // Checked here, once the previous part has been handed
                    // out, so a limit never costs a complete part.
                    if self.parts_read >= self.limits.max_parts {
                        return Err(MultipartError::TooManyParts {
                            limit: self.limits.max_parts,
                        });
                    }
                    if self.read_headers()? {
                        self.state = State::Body;
                        self.held = self.budget.as_ref().map(MemoryBudget::hold);
                    } else {
                        self.fill().await?;
                    }
                }
                State::Body => {
                    let found = self.find_delimiter();
                    // Content known so far: up to the delimiter, or up to
                    // where one may still begin.
                    let content = found.as_ref().map_or(self.scan_from, |d| d.start);
                    if content as u64 > self.limits.max_part_size {
                        self.begin_oversized(false);
                        continue;
                    }
                    // What the buffer occupies: the part's content, any
                    // bytes read past it, and room to grow (see `fill`).
                    if let Some(held) = &mut self.held
                        && !held.cover(self.buf.capacity())
                    {
                        self.begin_oversized(true);
                        continue;
                    }
                    match found {
                        Some(delimiter) => {
                            let body = self.buf.split_to(delimiter.start).freeze();
                            let headers = std::mem::take(&mut self.headers);
                            self.end_part(&delimiter);
                            self.last_held = self.held.take();
                            return Ok(Some(Item::Part(Part { headers, body })));
                        }
                        None => self.fill().await?,
                    }
                }
                State::Oversized => {
                    let found = self.find_delimiter();
                    let content = found.as_ref().map_or(self.scan_from, |d| d.start);
                    self.oversized_skipped += content as u64;
                    self.buf.advance(content);
                    match found {
                        Some(delimiter) => {
                            self.end_part(&delimiter);
                            let no_room = std::mem::take(&mut self.oversized_no_room);
                            let part = OversizedPart {
                                headers: std::mem::take(&mut self.headers),
                                head: std::mem::take(&mut self.oversized_head),
                                size: std::mem::take(&mut self.oversized_skipped),
                                limit: match (&self.budget, no_room) {
                                    (Some(budget), true) => budget.total(),
                                    _ => self.limits.max_part_size,
                                },
                            };
                            return Ok(Some(if no_room {
                                Item::NoRoom(part)
                            } else {
                                Item::TooLarge(part)
                            }));
                        }
                        None => {
                            self.scan_from = 0;
                            self.fill().await?;
                        }
                    }
                }
            }
        }
    }

    /// Consumes a delimiter (which must start at 0 or be preceded only by
    /// discardable bytes) and moves to the next part or to the end.
    fn enter_part(&mut self, delimiter: Delimiter) {
        self.buf.advance(delimiter.end);
        self.scan_from = 0;
        if delimiter.close {
            // The epilogue is ignored: never read, never buffered.
            self.buf = BytesMut::new();
            self.state = State::Done;
            return;
        }
        self.state = State::Headers;
    }

    /// Consumes the delimiter that ends a part whose content has been
    /// taken from the front of the buffer (`delimiter` is still relative to
    /// where that content started).
    fn end_part(&mut self, delimiter: &Delimiter) {
        let consumed = delimiter.start;
        self.enter_part(Delimiter {
            start: 0,
            end: delimiter.end - consumed,
            close: delimiter.close,
        });
        self.parts_read += 1;
    }

    /// Switches the current part, already past the limit (or past what
    /// the budget covers: `no_room`), to being discarded: keeps its head,
    /// drops the content known not to start a delimiter, and gives back
    /// the memory the part held.
    fn begin_oversized(&mut self, no_room: bool) {
        self.oversized_no_room = no_room;
        let limit = usize::try_from(self.limits.max_part_size).unwrap_or(usize::MAX);
        let head = OVERSIZED_HEAD_BYTES.min(limit).min(self.buf.len());
        self.oversized_head = Bytes::copy_from_slice(&self.buf[..head]);
        self.oversized_skipped = self.scan_from as u64;
        let rest = &self.buf[self.scan_from..];
        let mut fresh = BytesMut::with_capacity(rest.len().max(64 * 1024));
        fresh.extend_from_slice(rest);
        self.buf = fresh;
        self.held = None;
        self.scan_from = 0;
        self.state = State::Oversized;
    }

    /// Appends the next non-empty chunk to the buffer; a body that ends here
    /// ends before the close delimiter.
    async fn fill(&mut self) -> Result<(), MultipartError> {
        loop {
            match self.body.next().await {
                Some(Ok(chunk)) if chunk.is_empty() => continue,
                Some(Ok(chunk)) => {
                    if self.state == State::Body && !self.room_for(chunk.len()) {
                        self.begin_oversized(true);
                    }
                    self.buf.extend_from_slice(&chunk);
                    return Ok(());
                }
                Some(Err(e)) => return Err(MultipartError::Body(Box::new(e))),
                None => return Err(MultipartError::Truncated),
            }
        }
    }

    /// Makes room for `more` bytes in the buffer of the part being read,
    /// growing it (by doubling) only as far as the budget covers. `false`
    /// when it cannot: the buffer is as it was.
    fn room_for(&mut self, more: usize) -> bool {
        let need = self.buf.len() + more;
        let Some(held) = &mut self.held else {
            return true;
        };
        if need <= self.buf.capacity() {
            return true;
        }
        let grown = need.max(self.buf.capacity().saturating_mul(2));
        if !held.cover(grown) {
            return false;
        }
        self.buf.reserve(grown - self.buf.len());
        true
    }

    /// Looks for the next delimiter from `scan_from`. `None` means more
    /// bytes are needed; `scan_from` then marks the earliest offset that may
    /// still begin one.
    fn find_delimiter(&mut self) -> Option<Delimiter> {
        let needle_len = self.finder.needle().len();
        loop {
            let Some(found) = self.finder.find(&self.buf[self.scan_from..]) else {
                let keep = needle_len - 1;
                self.scan_from = self.scan_from.max(self.buf.len().saturating_sub(keep));
                return None;
            };
            let start = self.scan_from + found;
            let after = start + needle_len;
            match classify_tail(&self.buf[after..]) {
                Tail::Close => {
                    return Some(Delimiter {
                        start,
                        end: after + 2,
                        close: true,
                    });
                }
                Tail::Line(len) => {
                    return Some(Delimiter {
                        start,
                        end: after + len,
                        close: false,
                    });
                }
                Tail::Incomplete => {
                    self.scan_from = start;
                    return None;
                }
                Tail::NotDelimiter => self.scan_from = start + 1,
            }
        }
    }

    /// Parses the header block at the start of the buffer if it is complete;
    /// `false` means more bytes are needed.
    fn read_headers(&mut self) -> Result<bool, MultipartError> {
        let limit = self.limits.max_header_bytes;
        if self.buf.starts_with(b"\r\n") {
            let delimiter = self.finder.needle();
            let known = delimiter.len().min(self.buf.len());
            let ends_here = if self.buf[..known] != delimiter[..known] {
                false
            } else if known < delimiter.len() {
                return Ok(false);
            } else {
                match classify_tail(&self.buf[known..]) {
                    Tail::Incomplete => return Ok(false),
                    Tail::Close | Tail::Line(_) => true,
                    Tail::NotDelimiter => false,
                }
            };
            self.headers.clear();
            self.scan_from = 0;
            // Either the next delimiter follows at once, and the part has
            // neither header fields nor content (RFC 2046: the CRLF is the
            // delimiter's), or this CRLF ends an empty header block.
            if !ends_here {
                self.buf.advance(2);
            }
            return Ok(true);
        }
        let from = self.scan_from;
        match memmem::find(&self.buf[from..], b"\r\n\r\n") {
            Some(found) => {
                let end = from + found + 4;
                if end > limit {
                    return Err(MultipartError::HeadersTooLarge { limit });
                }
                self.headers = parse_headers(&self.buf[..end - 2])?;
                self.buf.advance(end);
                self.scan_from = 0;
                Ok(true)
            }
            None => {
                if self.buf.len() > limit {
                    return Err(MultipartError::HeadersTooLarge { limit });
                }
                self.scan_from = self.buf.len().saturating_sub(3);
                Ok(false)
            }
        }
    }
}

/// Decides whether the bytes after `CRLF--boundary` make it a delimiter.
fn classify_tail(rest: &[u8]) -> Tail {
    match rest {
        [] | [b'-'] => return Tail::Incomplete,
        [b'-', b'-', ..] => return Tail::Close,
        [b'-', ..] => return Tail::NotDelimiter,
        _ => {}
    }
    let padding = rest
        .iter()
        .take(MAX_TRANSPORT_PADDING + 1)
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    if padding > MAX_TRANSPORT_PADDING {
        return Tail::NotDelimiter;
    }
    match &rest[padding..] {
        [] | [b'\r'] => Tail::Incomplete,
        [b'\r', b'\n', ..] => Tail::Line(padding + 2),
        _ => Tail::NotDelimiter,
    }
}

/// Parses header lines (each ending in CRLF). Folded continuation lines
/// (starting with a space or tab) are joined to the previous field with one
/// space; whitespace around names and values is dropped.
fn parse_headers(block: &[u8]) -> Result<Vec<(String, String)>, MultipartError> {
    let text = String::from_utf8_lossy(block);
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        if line.starts_with([' ', '\t']) {
            let Some((_, value)) = headers.last_mut() else {
                return Err(MultipartError::MalformedHeader(
                    "continuation line before any header field".into(),
                ));
            };
            let more = line.trim_matches([' ', '\t']);
            if !more.is_empty() {
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(more);
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(MultipartError::MalformedHeader(format!(
                "line without a colon: {:?}",
                shorten(line)
            )));
        };
        let name = name.trim_end_matches([' ', '\t']);
        let valid_name =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        if !valid_name {
            return Err(MultipartError::MalformedHeader(format!(
                "invalid field name: {:?}",
                shorten(name)
            )));
        }
        headers.push((
            name.to_ascii_lowercase(),
            value.trim_matches([' ', '\t']).to_owned(),
        ));
    }
    Ok(headers)
}

/// At most 80 characters of peer-supplied text, for error messages.
fn shorten(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod throughput {
    use std::time::Instant;

    use bytes::Bytes;
    use futures::{TryStreamExt, executor::block_on, stream};

    use super::{Item, Limits, MultipartReader};
    use crate::multipart::{MultipartWriter, OutgoingPart};

    type Io = std::io::Error;

    /// 128 MiB of 512 KiB parts in 64 KiB chunks. Run in release:
    /// `cargo test -p dicomweb --lib --release -- --ignored throughput`.
    #[test]
    #[ignore = "timing; meaningful only in release builds"]
    fn parses_512_kib_parts_faster_than_1_gb_per_s() {
        let writer = MultipartWriter::new("application/dicom");
        let content: Vec<u8> = (0..512 * 1024u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let parts: Vec<Result<OutgoingPart<Io>, Io>> = (0..256)
            .map(|_| {
                Ok(OutgoingPart::new(
                    "application/dicom",
                    Bytes::from(content.clone()),
                ))
            })
            .collect();
        let body: Result<Vec<Bytes>, Io> = block_on(writer.body(stream::iter(parts)).try_collect());
        let body = body.unwrap_or_else(|e| panic!("{e}")).concat();
        let chunks: Vec<Result<Bytes, Io>> = body
            .chunks(64 * 1024)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();

        let started = Instant::now();
        let mut reader =
            MultipartReader::new(stream::iter(chunks), writer.boundary(), Limits::default());
        let mut total = 0;
        block_on(async {
            while let Some(item) = reader.next_part().await.unwrap_or_else(|e| panic!("{e}")) {
                match item {
                    Item::Part(part) => total += part.body.len(),
                    Item::TooLarge(part) | Item::NoRoom(part) => {
                        panic!("{} bytes skipped", part.size)
                    }
                }
            }
        });
        let rate = body.len() as f64 / started.elapsed().as_secs_f64() / 1e9;
        println!("{rate:.2} GB/s");
        assert_eq!(total, 256 * content.len());
        if !cfg!(debug_assertions) {
            assert!(rate > 1.0, "{rate:.2} GB/s");
        }
    }
}

#[cfg(test)]
mod memory {
    use bytes::Bytes;
    use futures::{FutureExt, StreamExt, executor::block_on, stream};

    use super::{Item, Limits, MultipartReader};

    type Io = std::io::Error;

    const CHUNK: usize = 64 * 1024;

    fn limits() -> Limits {
        Limits {
            max_part_size: 256 * 1024,
            ..Limits::default()
        }
    }

    /// A part 1 000 chunks long, then nothing yet: the connection is
    /// still open.
    fn endless_part() -> impl futures::Stream<Item = Result<Bytes, Io>> + Unpin + Send {
        let head = Bytes::from_static(b"--b\r\n\r\n");
        let content = Bytes::from(vec![b'x'; CHUNK]);
        stream::iter(
            std::iter::once(Ok(head))
                .chain(std::iter::repeat_with(move || Ok(content.clone())).take(1_000)),
        )
        .chain(stream::pending())
    }

    #[test]
    fn an_oversized_part_is_discarded_not_buffered() {
        let mut reader = MultipartReader::new(endless_part(), "b", limits());
        // Runs until the body stream has nothing more to give.
        assert!(reader.next_part().now_or_never().is_none());
        let bound = limits().max_part_size as usize + 2 * CHUNK;
        assert!(
            reader.buf.capacity() <= bound,
            "{} bytes held after 62.5 MiB",
            reader.buf.capacity()
        );
    }

    #[test]
    fn the_memory_of_an_oversized_part_is_given_back() {
        let mut body = b"--b\r\n\r\n".to_vec();
        body.extend(std::iter::repeat_n(b'x', 4 << 20));
        body.extend_from_slice(b"\r\n--b\r\n\r\nnext\r\n--b--");
        let chunks: Vec<Result<Bytes, Io>> = body
            .chunks(CHUNK)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let mut reader = MultipartReader::new(stream::iter(chunks), "b", limits());
        block_on(async {
            let first = reader.next_part().await.unwrap_or_else(|e| panic!("{e}"));
            assert!(
                matches!(first, Some(Item::TooLarge(ref p)) if p.size == 4 << 20 && p.head.len() == 8 * 1024),
                "{first:?}"
            );
            assert!(reader.buf.capacity() <= 2 * CHUNK);
            let next = reader.next_part().await.unwrap_or_else(|e| panic!("{e}"));
            assert!(
                matches!(next, Some(Item::Part(ref p)) if p.body == "next"),
                "{next:?}"
            );
        });
    }
}
