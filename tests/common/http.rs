//! A minimal HTTP client for the daemon's HTTP server (status page, `/api/status`, `/metrics`,
//! `/healthz`, `/ready`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// An HTTP response: status code, lower-cased header block, body (de-chunked).
pub struct Response {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

/// A plain HTTP/1.0 GET of `path` from `authority` (`host:port`) over TCP; the server closes
/// the connection after the response. Panics if the server does not answer within 20 s or
/// the response has no status line.
#[track_caller]
pub fn get(authority: &str, path: &str) -> Response {
    let mut stream = TcpStream::connect(authority).expect("connect to the HTTP server");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("set a read timeout");
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {authority}\r\nAccept: */*\r\n\r\n"
    )
    .expect("send the request");
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .expect("read the whole response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in the response to {path}: {text:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status code in the response to {path}: {head:?}"));
    let headers = head.to_ascii_lowercase();
    let body = if headers.contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    Response {
        status,
        headers,
        body,
    }
}

/// Decodes a chunked body (for a server that answers HTTP/1.0 with chunks anyway); stops at
/// the last chunk or at the first malformed one.
pub fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size_line, rest)) = body.split_once("\r\n") {
        let size_hex = size_line.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_hex, 16) else {
            break;
        };
        if size == 0 {
            break;
        }
        let Some(chunk) = rest.get(..size) else {
            break;
        };
        out.push_str(chunk);
        body = rest.get(size..).unwrap_or("").trim_start_matches("\r\n");
    }
    out
}
