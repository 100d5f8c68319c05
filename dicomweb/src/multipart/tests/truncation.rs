//! Bodies that break off: at every offset, in garbage, on a stream
//! error, and which part they broke off in.

use super::*;

#[test]
fn truncation_at_every_offset_keeps_complete_parts() {
    let contents = [
        b"alpha".to_vec(),
        Vec::new(),
        b"\r\n--b0und\r\n".to_vec(),
        b"z".to_vec(),
    ];
    let parts: Vec<(&str, Vec<u8>)> = contents.iter().map(|c| ("a/b", c.clone())).collect();
    let writer = MultipartWriter::with_boundary("a/b", B).unwrap_or_else(|e| panic!("{e}"));
    let message = write(&writer, &parts);
    let text = String::from_utf8_lossy(&message).into_owned();
    // A part is complete once the line of the delimiter after it is: the
    // close delimiter is complete after its `--`.
    let mut complete_at = Vec::new();
    let needle = format!("\r\n--{B}");
    let mut from = 0;
    while let Some(at) = text[from..].find(&needle) {
        let after = from + at + needle.len();
        // Past `--` for the close delimiter, past CRLF otherwise.
        complete_at.push(after + 2);
        from = after;
    }
    assert_eq!(complete_at.len(), contents.len());
    for cut in 0..message.len() {
        for chunk in [1, 4, 1000] {
            let (read, err) = read_stream(chunked(&message[..cut], chunk), B, Limits::default());
            let expect_n = complete_at.iter().filter(|&&end| end <= cut).count();
            assert_eq!(read.len(), expect_n, "cut {cut} chunk {chunk}");
            assert_eq!(
                bodies(&read),
                contents[..expect_n]
                    .iter()
                    .map(|c| &c[..])
                    .collect::<Vec<_>>()
            );
            let last_complete = cut >= complete_at[complete_at.len() - 1];
            if !last_complete {
                assert!(
                    matches!(err, Some(MultipartError::Truncated)),
                    "cut {cut}: {err:?}"
                );
            }
        }
    }
    let (read, err) = read_stream(chunked(&message, 3), B, Limits::default());
    assert!(err.is_none() && read.len() == contents.len());
}

#[test]
fn garbage_and_empty_bodies_are_truncated_not_panics() {
    for body in [
        &b""[..],
        b"--",
        b"no delimiter at all",
        b"--b0undar",
        b"\r\n--b0undary",
    ] {
        let (read, err) = read_stream(chunked(body, 2), B, Limits::default());
        assert!(read.is_empty());
        assert!(
            matches!(err, Some(MultipartError::Truncated)),
            "{body:?}: {err:?}"
        );
    }
    let empty = format!("--{B}--");
    let (read, err) = read_stream(chunked(empty.as_bytes(), 2), B, Limits::default());
    assert!(read.is_empty() && err.is_none());
}

#[test]
fn body_stream_errors_are_reported_as_body_errors() {
    let items: Vec<Result<Bytes, Io>> = vec![
        Ok(Bytes::from(format!(
            "--{B}\r\n\r\nfirst\r\n--{B}\r\n\r\nsec"
        ))),
        Err(Io::new(std::io::ErrorKind::ConnectionReset, "reset")),
    ];
    let (read, err) = read_stream(stream::iter(items), B, Limits::default());
    assert_eq!(bodies(&read), vec![&b"first"[..]]);
    assert!(matches!(err, Some(MultipartError::Body(_))), "{err:?}");
}

/// Reads a body to its end and returns the part it broke off in.
fn unfinished_in<S>(body: S, limits: Limits) -> Option<UnfinishedPart>
where
    S: Stream<Item = Result<Bytes, Io>> + Unpin + Send,
{
    block_on(async {
        let mut reader = MultipartReader::new(body, B, limits);
        while let Ok(Some(_)) = reader.next_part().await {}
        reader.unfinished()
    })
}

#[test]
fn the_part_a_body_breaks_off_in_is_told() {
    let whole = format!("--{B}\r\nContent-Type: a/b\r\n\r\nfirst\r\n--{B}--\r\n");
    assert_eq!(
        unfinished_in(chunked(whole.as_bytes(), 3), Limits::default()),
        None
    );
    // Before the first delimiter no part has begun.
    assert_eq!(
        unfinished_in(chunked(b"preamble --b0und", 3), Limits::default()),
        None
    );

    let in_headers = format!("--{B}\r\n\r\nfirst\r\n--{B}\r\nContent-Ty");
    let part = unfinished_in(chunked(in_headers.as_bytes(), 3), Limits::default());
    let part = part.expect("broke off in the second part's headers");
    assert!(part.headers.is_empty() && part.head.is_empty() && part.received == 0);

    let in_content = format!("--{B}\r\nContent-Type: a/b\r\n\r\nfirst part's conte");
    let part = unfinished_in(chunked(in_content.as_bytes(), 4), Limits::default());
    let part = part.expect("broke off in the content");
    assert_eq!(
        part.headers,
        vec![("content-type".to_owned(), "a/b".to_owned())]
    );
    assert_eq!(&part.head[..], b"first part's conte");
    assert_eq!(part.received, 18);

    // A connection reset inside a part is the same break.
    let items: Vec<Result<Bytes, Io>> = vec![
        Ok(Bytes::from(format!("--{B}\r\n\r\nsec"))),
        Err(Io::new(std::io::ErrorKind::ConnectionReset, "reset")),
    ];
    let part = unfinished_in(stream::iter(items), Limits::default()).expect("reset in a part");
    assert_eq!(&part.head[..], b"sec");

    // Inside a part already over the size limit: its head and all it sent.
    let oversized = std::iter::once(Ok(Bytes::from(format!("--{B}\r\n\r\n"))))
        .chain(std::iter::repeat_with(|| Ok(Bytes::from_static(&[b'x'; 1024]))).take(100));
    let small = Limits {
        max_part_size: 16 * 1024,
        ..Limits::default()
    };
    let part = unfinished_in(stream::iter(oversized), small);
    let part = part.expect("broke off in an oversized part");
    assert_eq!(part.received, 100 * 1024);
    assert_eq!(part.head.len(), OVERSIZED_HEAD_BYTES);
}
