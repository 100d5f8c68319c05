//! Reader and writer tests: round trips through every chunking, RFC 2046
//! corner cases, truncation at every offset, limits, and bodies formatted by
//! other clients.

use bytes::Bytes;
use futures::executor::block_on;
use futures::{Stream, StreamExt, TryStreamExt, stream};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

type Io = std::io::Error;

const B: &str = "b0undary";

mod truncation;

/// `data` as a body stream cut into chunks of `size` bytes.
fn chunked(data: &[u8], size: usize) -> impl Stream<Item = Result<Bytes, Io>> + Unpin + Send {
    let chunks: Vec<_> = data
        .chunks(size.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(chunks)
}

/// `data` cut at the given offsets.
fn split_at(data: &[u8], cuts: &[usize]) -> impl Stream<Item = Result<Bytes, Io>> + Unpin + Send {
    let mut pieces = Vec::new();
    let mut last = 0;
    for &cut in cuts.iter().chain(std::iter::once(&data.len())) {
        pieces.push(Ok(Bytes::copy_from_slice(&data[last..cut])));
        last = cut;
    }
    stream::iter(pieces)
}

/// Reads every item; returns them and the error that ended the read, if
/// any.
fn read_items<S>(body: S, boundary: &str, limits: Limits) -> (Vec<Item>, Option<MultipartError>)
where
    S: Stream<Item = Result<Bytes, Io>> + Unpin + Send,
{
    block_on(async {
        let mut reader = MultipartReader::new(body, boundary, limits);
        let mut items = Vec::new();
        loop {
            match reader.next_part().await {
                Ok(Some(item)) => items.push(item),
                Ok(None) => return (items, None),
                Err(e) => {
                    assert!(matches!(reader.next_part().await, Ok(None)));
                    return (items, Some(e));
                }
            }
        }
    })
}

/// Reads every part of a body with no oversized part.
fn read_stream<S>(body: S, boundary: &str, limits: Limits) -> (Vec<Part>, Option<MultipartError>)
where
    S: Stream<Item = Result<Bytes, Io>> + Unpin + Send,
{
    let (items, err) = read_items(body, boundary, limits);
    let parts = items
        .into_iter()
        .map(|item| match item {
            Item::Part(part) => part,
            Item::TooLarge(part) | Item::NoRoom(part) => panic!("unexpectedly skipped: {part:?}"),
        })
        .collect();
    (parts, err)
}

fn read_ok(data: &[u8], boundary: &str, chunk: usize) -> Vec<Part> {
    match read_stream(chunked(data, chunk), boundary, Limits::default()) {
        (parts, None) => parts,
        (_, Some(e)) => panic!("chunk size {chunk}: {e}"),
    }
}

fn bodies(parts: &[Part]) -> Vec<&[u8]> {
    parts.iter().map(|p| &p.body[..]).collect()
}

/// A body written by [`MultipartWriter`] from in-memory parts.
fn write(writer: &MultipartWriter, parts: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let parts: Vec<Result<OutgoingPart<Io>, Io>> = parts
        .iter()
        .map(|(ct, body)| {
            Ok(OutgoingPart::new(*ct, Bytes::from(body.clone()))
                .with_header("Content-Location", "/studies/1"))
        })
        .collect();
    let chunks: Result<Vec<Bytes>, Io> = block_on(writer.body(stream::iter(parts)).try_collect());
    match chunks {
        Ok(chunks) => chunks.concat(),
        Err(e) => panic!("writer failed: {e}"),
    }
}

/// Content that tries to look like delimiters.
fn nasty_content(boundary: &str) -> Vec<Vec<u8>> {
    vec![
        Vec::new(),
        b"\r\n".to_vec(),
        b"\r".to_vec(),
        b"\n".to_vec(),
        b"\r\n\r\n--".to_vec(),
        format!("--{boundary}").into_bytes(),
        format!("\n--{boundary}\r\n").into_bytes(),
        format!("\r--{boundary}--").into_bytes(),
        format!("\r\n--{}", &boundary[..boundary.len() - 1]).into_bytes(),
        format!("x\r\n-{boundary}\r\ny").into_bytes(),
        b"ends with CR\r".to_vec(),
        b"ends with CRLF-\r\n-".to_vec(),
    ]
}

#[test]
fn content_type_accepts_any_order_quoting_and_case() {
    let cases = [
        r#"multipart/related; type="application/dicom"; boundary=abc"#,
        r#"multipart/related; boundary="abc"; type=application/dicom"#,
        r#"Multipart/Related;BOUNDARY=abc;TYPE="Application/DICOM""#,
        "multipart/related ; type = application/dicom ; boundary = abc ",
    ];
    for case in cases {
        match parse_content_type(case) {
            Ok(ct) => {
                assert_eq!(ct.boundary, "abc", "{case}");
                assert_eq!(
                    ct.type_param.as_deref(),
                    Some("application/dicom"),
                    "{case}"
                );
            }
            Err(e) => panic!("{case}: {e}"),
        }
    }
    let ct = parse_content_type(r#"multipart/related; boundary="Ab C:d=e""#);
    assert!(matches!(ct, Ok(ref c) if c.boundary == "Ab C:d=e" && c.type_param.is_none()));
}

#[test]
fn content_type_rejects_what_cannot_be_read() {
    for bad in [
        "application/dicom",
        "multipart/form-data; boundary=abc",
        r#"multipart/related; type="application/dicom""#,
        r#"multipart/related; boundary="""#,
        r#"multipart/related; boundary="abc ""#,
        "multipart/related; boundary",
        "",
    ] {
        assert!(
            matches!(
                parse_content_type(bad),
                Err(MultipartError::InvalidContentType(_))
            ),
            "{bad:?} should be rejected"
        );
    }
    let long = format!("multipart/related; boundary={}", "x".repeat(201));
    assert!(parse_content_type(&long).is_err());
}

#[test]
fn round_trip_random_parts_through_every_chunk_size() {
    let mut rng = StdRng::seed_from_u64(7);
    let writer = MultipartWriter::new("application/dicom");
    for round in 0..20 {
        let mut parts: Vec<(&str, Vec<u8>)> = Vec::new();
        for _ in 0..rng.random_range(0..6) {
            let mut body = vec![0u8; rng.random_range(0..3000)];
            rng.fill(&mut body[..]);
            // Salt the content with delimiter lookalikes.
            let nasty = nasty_content(writer.boundary());
            let pick = &nasty[rng.random_range(0..nasty.len())];
            let at = rng.random_range(0..=body.len());
            body.splice(at..at, pick.iter().copied());
            parts.push(("application/dicom", body));
        }
        let message = write(&writer, &parts);
        for chunk in [1, 2, 3, 7, 64, 4096, message.len()] {
            let read = read_ok(&message, writer.boundary(), chunk);
            let want: Vec<&[u8]> = parts.iter().map(|(_, b)| &b[..]).collect();
            assert_eq!(bodies(&read), want, "round {round} chunk {chunk}");
            for part in &read {
                assert_eq!(part.content_type(), Some("application/dicom"));
                assert_eq!(part.header("content-location"), Some("/studies/1"));
            }
        }
    }
}

#[test]
fn every_one_and_two_cut_split_reads_the_same() {
    let contents = nasty_content(B);
    let parts: Vec<(&str, Vec<u8>)> = contents.iter().map(|c| ("a/b", c.clone())).collect();
    let writer = MultipartWriter::with_boundary("a/b", B).unwrap_or_else(|e| panic!("{e}"));
    let message = write(&writer, &parts);
    let want: Vec<&[u8]> = contents.iter().map(|c| &c[..]).collect();
    for i in 0..=message.len() {
        let (read, err) = read_stream(split_at(&message, &[i]), B, Limits::default());
        assert!(err.is_none(), "cut {i}: {err:?}");
        assert_eq!(bodies(&read), want, "cut {i}");
    }
    // Two cuts around every position, a few bytes apart.
    for i in 0..message.len() {
        for gap in 1..6 {
            let j = (i + gap).min(message.len());
            let (read, err) = read_stream(split_at(&message, &[i, j]), B, Limits::default());
            assert!(err.is_none(), "cuts {i},{j}: {err:?}");
            assert_eq!(bodies(&read), want, "cuts {i},{j}");
        }
    }
}

#[test]
fn preamble_epilogue_padding_and_missing_headers() {
    let message = format!(
        "This is the preamble. --{B}x is not a delimiter\r\n--{B}y neither\r\n\
         --{B} \t \r\ncontent-type: a/b\r\n\r\none\r\n--{B}\r\n\r\ntwo\
         \r\n--{B}\t\r\n\r\n\r\n--{B}--  \r\nepilogue\r\n--{B}\r\n\r\nnot a part"
    );
    for chunk in [1, 2, 3, 5, 1000] {
        let read = read_ok(message.as_bytes(), B, chunk);
        assert_eq!(
            bodies(&read),
            vec![&b"one"[..], b"two", b""],
            "chunk {chunk}"
        );
        assert_eq!(read[0].content_type(), Some("a/b"));
        assert!(read[1].headers.is_empty() && read[1].content_type().is_none());
    }
}

#[test]
fn a_part_with_neither_headers_nor_content_is_an_empty_part() {
    // RFC 2046: the CRLF before a delimiter is the delimiter's, so a
    // delimiter line followed at once by another delimiter is a part
    // without header fields or content; a lookalike after the CRLF is
    // content after an empty header block.
    for (message, want) in [
        (format!("--{B}\r\n\r\n--{B}--\r\n"), vec![&b""[..]]),
        (
            format!("--{B}\r\n\r\n--{B}\r\n\r\nx\r\n--{B}--"),
            vec![&b""[..], b"x"],
        ),
        (
            format!("--{B}\r\n\r\n--{B}X\r\n--{B}--"),
            vec![format!("--{B}X").as_bytes()],
        ),
    ] {
        for chunk in [1, 2, 3, 1000] {
            let read = read_ok(message.as_bytes(), B, chunk);
            assert_eq!(bodies(&read), want, "{message:?} in chunks of {chunk}");
            assert!(read.iter().all(|p| p.headers.is_empty()));
        }
    }
}

#[test]
fn first_delimiter_may_or_may_not_follow_a_crlf() {
    for message in [
        format!("--{B}\r\n\r\nx\r\n--{B}--"),
        format!("\r\n--{B}\r\n\r\nx\r\n--{B}--"),
        format!("\r\n\r\n--{B}\r\n\r\nx\r\n--{B}--\r\n"),
    ] {
        assert_eq!(bodies(&read_ok(message.as_bytes(), B, 1)), vec![&b"x"[..]]);
    }
}

#[test]
fn boundary_lookalikes_inside_content_are_content() {
    // Each `CRLF--B` here is followed by something other than `--` or
    // padding and CRLF, so none of them is a delimiter.
    let content = format!("a\r\n--{B}X\r\nb\r\n--{B}-\r\nc\r\n--{B} x\r\nd\r\n--{B}\rx\n--{B}\r\n");
    let message = format!("--{B}\r\n\r\n{content}\r\n--{B}\r\n\r\nlast\r\n--{B}--");
    for chunk in [1, 3, 64] {
        let read = read_ok(message.as_bytes(), B, chunk);
        assert_eq!(
            bodies(&read),
            vec![content.as_bytes(), b"last"],
            "chunk {chunk}"
        );
    }
}

#[test]
fn limits_are_enforced_and_named() {
    let message = format!("--{B}\r\nA: 1\r\n\r\n12345\r\n--{B}\r\n\r\n123\r\n--{B}--");
    let limits = |part, header, parts| Limits {
        max_part_size: part,
        max_header_bytes: header,
        max_parts: parts,
    };
    for chunk in [1, 7, 1000] {
        let body = || chunked(message.as_bytes(), chunk);
        let (read, err) = read_stream(body(), B, limits(5, 100, 2));
        assert!(
            err.is_none() && read.len() == 2,
            "exact limits pass: {err:?}"
        );

        let (read, err) = read_items(body(), B, limits(4, 100, 2));
        assert!(err.is_none(), "{err:?}");
        assert_eq!(
            read,
            vec![
                Item::TooLarge(OversizedPart {
                    headers: vec![("a".to_owned(), "1".to_owned())],
                    head: Bytes::from_static(b"1234"),
                    size: 5,
                    limit: 4,
                }),
                Item::Part(Part {
                    headers: Vec::new(),
                    body: Bytes::from_static(b"123"),
                }),
            ],
            "chunk {chunk}"
        );

        // An oversized part counts towards max_parts.
        let (read, err) = read_items(body(), B, limits(4, 100, 1));
        assert!(matches!(read[..], [Item::TooLarge(_)]), "{read:?}");
        assert!(matches!(
            err,
            Some(MultipartError::TooManyParts { limit: 1 })
        ));

        let (_, err) = read_stream(body(), B, limits(5, 7, 2));
        assert!(
            matches!(err, Some(MultipartError::HeadersTooLarge { limit: 7 })),
            "{err:?}"
        );
        assert!(err.is_some_and(|e| e.to_string().contains("max_header_bytes")));

        let (read, err) = read_stream(body(), B, limits(5, 100, 1));
        assert_eq!(read.len(), 1);
        assert!(
            matches!(err, Some(MultipartError::TooManyParts { limit: 1 })),
            "{err:?}"
        );
    }
    // A body that ends inside an oversized part is cut short.
    let endless = stream::iter(
        std::iter::once(Ok(Bytes::from(format!("--{B}\r\n\r\n"))))
            .chain(std::iter::repeat_with(|| Ok(Bytes::from_static(&[b'x'; 1024]))).take(10_000)),
    );
    let (read, err) = read_items(endless, B, limits(64 * 1024, 100, 10));
    assert!(read.is_empty());
    assert!(matches!(err, Some(MultipartError::Truncated)), "{err:?}");
}

/// Three parts, the middle one over a limit of 16 bytes and full of
/// delimiter lookalikes; what the reader must return for them.
fn good_oversized_good() -> (Vec<u8>, Limits, Vec<Item>) {
    let mut big = b"DICM".to_vec();
    for nasty in nasty_content(B) {
        big.extend_from_slice(&nasty);
        big.extend_from_slice(b"0123456789");
    }
    let parts: Vec<(&str, Vec<u8>)> = vec![
        ("a/b", b"first".to_vec()),
        ("a/b", big.clone()),
        ("a/b", b"third".to_vec()),
    ];
    let writer = MultipartWriter::with_boundary("a/b", B).unwrap_or_else(|e| panic!("{e}"));
    let message = write(&writer, &parts);
    let headers = vec![
        ("content-type".to_owned(), "a/b".to_owned()),
        ("content-location".to_owned(), "/studies/1".to_owned()),
    ];
    let part = |body: &'static [u8]| {
        Item::Part(Part {
            headers: headers.clone(),
            body: Bytes::from_static(body),
        })
    };
    let want = vec![
        part(b"first"),
        Item::TooLarge(OversizedPart {
            headers: headers.clone(),
            head: Bytes::copy_from_slice(&big[..16]),
            size: big.len() as u64,
            limit: 16,
        }),
        part(b"third"),
    ];
    let limits = Limits {
        max_part_size: 16,
        ..Limits::default()
    };
    (message, limits, want)
}

#[test]
fn an_oversized_part_is_reported_and_the_parts_after_it_are_read() {
    let (message, limits, want) = good_oversized_good();
    for chunk in 1..=message.len() {
        let (read, err) = read_items(chunked(&message, chunk), B, limits);
        assert!(err.is_none(), "chunk {chunk}: {err:?}");
        assert_eq!(read, want, "chunk {chunk}");
    }
    for i in 0..=message.len() {
        for gap in [1, 2, 5, 17] {
            let j = (i + gap).min(message.len());
            let (read, err) = read_items(split_at(&message, &[i, j]), B, limits);
            assert!(err.is_none(), "cuts {i},{j}: {err:?}");
            assert_eq!(read, want, "cuts {i},{j}");
        }
    }
}

#[test]
fn a_body_that_ends_inside_an_oversized_part_is_truncated() {
    let (message, limits, want) = good_oversized_good();
    let text = String::from_utf8_lossy(&message).into_owned();
    let delimiter = format!("\r\n--{B}\r\n");
    // The oversized part starts after the second delimiter line (the
    // first with a CRLF before it) and is complete once the third one is.
    let second = text.match_indices(&delimiter).next().map(|(at, _)| at);
    let third = text.match_indices(&delimiter).nth(1).map(|(at, _)| at);
    let (Some(second), Some(third)) = (second, third) else {
        panic!("three parts expected in {text:?}");
    };
    for cut in second + delimiter.len()..third + delimiter.len() {
        for chunk in [1, 3, 64] {
            let (read, err) = read_items(chunked(&message[..cut], chunk), B, limits);
            assert_eq!(read, want[..1], "cut {cut} chunk {chunk}");
            assert!(
                matches!(err, Some(MultipartError::Truncated)),
                "cut {cut} chunk {chunk}: {err:?}"
            );
        }
    }
}

#[test]
fn headers_unfold_trim_and_lowercase() {
    let message = format!(
        "--{B}\r\nContent-Type :\t application/dicom \r\nX-Long: first\r\n \t second\r\n\tthird \r\n\
         X-Empty:\r\nCONTENT-LOCATION: /a/b\r\nx-dup: 1\r\nX-Dup: 2\r\n\r\nbody\r\n--{B}--"
    );
    let read = read_ok(message.as_bytes(), B, 3);
    let part = &read[0];
    assert_eq!(
        part.headers,
        vec![
            ("content-type".to_owned(), "application/dicom".to_owned()),
            ("x-long".to_owned(), "first second third".to_owned()),
            ("x-empty".to_owned(), String::new()),
            ("content-location".to_owned(), "/a/b".to_owned()),
            ("x-dup".to_owned(), "1".to_owned()),
            ("x-dup".to_owned(), "2".to_owned()),
        ]
    );
    assert_eq!(part.content_type(), Some("application/dicom"));
    assert_eq!(part.header("X-DUP"), Some("1"));
}

#[test]
fn malformed_headers_are_errors() {
    for head in [
        " folded: first\r\n",
        "no colon here\r\n",
        ": empty name\r\n",
        "bad name: x\r\n",
    ] {
        let message = format!("--{B}\r\n{head}\r\nbody\r\n--{B}--");
        let (read, err) = read_stream(chunked(message.as_bytes(), 5), B, Limits::default());
        assert!(read.is_empty());
        assert!(
            matches!(err, Some(MultipartError::MalformedHeader(_))),
            "{head:?}: {err:?}"
        );
    }
}

#[test]
fn reads_bodies_formatted_like_python_clients() {
    // dicomweb-client (Python, requests): leading CRLF, no trailing CRLF.
    let boundary = "0f3cf5c0-1a4f-4b5e-9e1e-7c5b0a2d9b11";
    let mut body = Vec::new();
    for data in [&b"DICM-one"[..], b"DICM-two"] {
        body.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
        body.extend_from_slice(b"Content-Type: application/dicom\r\n\r\n");
        body.extend_from_slice(data);
    }
    body.extend_from_slice(format!("\r\n--{boundary}--").as_bytes());
    let header = format!(r#"multipart/related; type="application/dicom"; boundary={boundary}"#);
    let ct = parse_content_type(&header).unwrap_or_else(|e| panic!("{e}"));
    let read = read_ok(&body, &ct.boundary, 8192);
    assert_eq!(bodies(&read), vec![&b"DICM-one"[..], b"DICM-two"]);

    // urllib3 encode_multipart_formdata: 32 hex digits, CRLF after each part's
    // content and after the close delimiter.
    let boundary = "3c7a1f0e9b2d4c6a8e0f1a2b3c4d5e6f";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.dcm\"\r\n\
         Content-Type: application/dicom\r\n\r\nDATA\r\n--{boundary}--\r\n"
    );
    let read = read_ok(body.as_bytes(), boundary, 5);
    assert_eq!(bodies(&read), vec![&b"DATA"[..]]);
    assert_eq!(
        read[0].header("content-disposition"),
        Some(r#"form-data; name="file"; filename="a.dcm""#)
    );
}

#[test]
fn writer_content_type_and_random_boundaries() {
    let a = MultipartWriter::new("application/dicom");
    let b = MultipartWriter::new("application/dicom");
    assert!(a.boundary().len() >= 32);
    assert_ne!(a.boundary(), b.boundary());
    let ct = parse_content_type(&a.content_type()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ct.boundary, a.boundary());
    assert_eq!(ct.type_param.as_deref(), Some("application/dicom"));
    assert_eq!(
        a.content_type(),
        format!(
            r#"multipart/related; type="application/dicom"; boundary={}"#,
            a.boundary()
        )
    );
    let odd =
        MultipartWriter::with_boundary("image/jpeg", "a b=c").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        odd.content_type(),
        r#"multipart/related; type="image/jpeg"; boundary="a b=c""#
    );
    assert!(MultipartWriter::with_boundary("a/b", "").is_err());
}

#[test]
fn writer_output_is_exact_and_streams_parts() {
    let writer =
        MultipartWriter::with_boundary("application/dicom", B).unwrap_or_else(|e| panic!("{e}"));
    let streamed = stream::iter(vec![
        Ok(Bytes::from_static(b"ab")),
        Ok(Bytes::new()),
        Ok(Bytes::from_static(b"c")),
    ]);
    let parts: Vec<Result<OutgoingPart<Io>, Io>> = vec![
        Ok(OutgoingPart::new(
            "application/dicom",
            Bytes::from_static(b"one"),
        )),
        Ok(OutgoingPart::streamed("application/dicom", streamed)
            .with_header("Content-Location", "/x\r\nInjected: yes")),
    ];
    let out: Vec<Bytes> = block_on(writer.body(stream::iter(parts)).try_collect())
        .unwrap_or_else(|e: Io| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.concat()).into_owned();
    assert_eq!(
        text,
        format!(
            "--{B}\r\nContent-Type: application/dicom\r\n\r\none\
             \r\n--{B}\r\nContent-Type: application/dicom\r\nContent-Location: /x  Injected: yes\r\n\r\nabc\
             \r\n--{B}--\r\n"
        )
    );
    assert!(out.iter().all(|chunk| !chunk.is_empty()));

    let none: Vec<Result<OutgoingPart<Io>, Io>> = Vec::new();
    let out: Vec<Bytes> = block_on(writer.body(stream::iter(none)).try_collect())
        .unwrap_or_else(|e: Io| panic!("{e}"));
    assert_eq!(out.concat(), format!("--{B}--\r\n").into_bytes());
}

#[test]
fn writer_errors_end_the_body_without_close_delimiter() {
    let writer =
        MultipartWriter::with_boundary("application/dicom", B).unwrap_or_else(|e| panic!("{e}"));
    let failing = stream::iter(vec![
        Ok(Bytes::from_static(b"partial")),
        Err(Io::other("disk")),
    ]);
    let parts: Vec<Result<OutgoingPart<Io>, Io>> = vec![
        Ok(OutgoingPart::new("a/b", Bytes::from_static(b"one"))),
        Ok(OutgoingPart::streamed("a/b", failing)),
        Ok(OutgoingPart::new("a/b", Bytes::from_static(b"never"))),
    ];
    let items: Vec<Result<Bytes, Io>> = block_on(writer.body(stream::iter(parts)).collect());
    assert!(items.last().is_some_and(|r| r.is_err()));
    let sent: Vec<u8> = items
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .flat_map(|b| b.to_vec())
        .collect();
    let (read, err) = read_stream(chunked(&sent, 5), B, Limits::default());
    assert_eq!(bodies(&read), vec![&b"one"[..]]);
    assert!(matches!(err, Some(MultipartError::Truncated)));

    let parts: Vec<Result<OutgoingPart<Io>, Io>> = vec![Err(Io::other("index"))];
    let items: Vec<Result<Bytes, Io>> = block_on(writer.body(stream::iter(parts)).collect());
    assert_eq!(items.len(), 1);
    assert!(items[0].is_err());
}

#[test]
fn epilogue_is_never_read() {
    let items: Vec<Result<Bytes, Io>> = vec![
        Ok(Bytes::from(format!("--{B}\r\n\r\nonly\r\n--{B}"))),
        Ok(Bytes::from_static(b"--")),
        Err(Io::other("the epilogue must not be polled")),
    ];
    let (read, err) = read_stream(stream::iter(items), B, Limits::default());
    assert_eq!(bodies(&read), vec![&b"only"[..]]);
    assert!(err.is_none(), "{err:?}");
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = StdRng::seed_from_u64(11);
    let alphabet = b"\r\n-b0 \t:x";
    let limits = Limits {
        max_part_size: 40,
        max_header_bytes: 20,
        max_parts: 5,
    };
    for _ in 0..20_000 {
        let len = rng.random_range(0..60);
        let data: Vec<u8> = (0..len)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())])
            .collect();
        let chunk = rng.random_range(1..8);
        let (read, err) = read_items(chunked(&data, chunk), "b0", limits);
        let (again, err_again) = read_items(chunked(&data, 64), "b0", limits);
        // Chunking never changes the outcome.
        assert_eq!(read, again, "{data:?}");
        assert_eq!(format!("{err:?}"), format!("{err_again:?}"), "{data:?}");
    }
}

#[test]
fn reader_future_and_body_are_send_for_warp() {
    fn assert_send<T: Send>(_: &T) {}
    let parts: Vec<Result<OutgoingPart<Io>, Io>> = Vec::new();
    assert_send(&MultipartWriter::new("application/dicom").body(stream::iter(parts)));
    let mut reader = MultipartReader::new(chunked(b"", 1), B, Limits::default());
    assert_send(&reader.next_part());
}

/// Two readers sharing a budget: a part the budget cannot cover while
/// another holds it is skipped (the body goes on), and the budget comes
/// back when the part held is let go.
#[test]
fn parts_the_shared_budget_cannot_cover_are_skipped_until_it_is_given_back() {
    // Room for one big part (3 MiB, with what a reader takes ahead), never
    // two, and always for a small one.
    let budget = memory_budget::MemoryBudget::new(5 << 20);
    let big = vec![b'x'; 3 << 20];
    let writer = MultipartWriter::with_boundary("a/b", B).unwrap_or_else(|e| panic!("{e}"));
    let message = write(&writer, &[("a/b", big.clone()), ("a/b", b"small".to_vec())]);
    let reader = || {
        MultipartReader::new(chunked(&message, 64 * 1024), B, Limits::default())
            .with_budget(budget.clone())
    };
    block_on(async {
        let mut first = reader();
        let Ok(Some(Item::Part(held_part))) = first.next_part().await else {
            panic!("the first reader gets its part");
        };
        let held = first.take_held().expect("held while in memory");
        assert!(held.bytes() >= big.len() as u64);
        let mut second = reader();
        match second.next_part().await {
            Ok(Some(Item::NoRoom(part))) => {
                assert_eq!(part.size, big.len() as u64);
                assert_eq!(part.limit, budget.total());
            }
            other => panic!("expected no room, got {:?}", other.map(|i| i.is_some())),
        }
        assert!(
            matches!(second.next_part().await, Ok(Some(Item::Part(ref p))) if p.body == "small"),
            "the body goes on after the skipped part"
        );
        drop((held, held_part, first, second));
        assert_eq!(budget.available(), budget.total());
        let mut third = reader();
        assert!(
            matches!(third.next_part().await, Ok(Some(Item::Part(ref p))) if p.body.len() == big.len())
        );
    });
}
