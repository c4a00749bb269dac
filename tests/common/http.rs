//! A minimal HTTP client for the daemon's HTTP servers (status page, `/api/status`, `/metrics`,
//! `/healthz`, `/ready`; the HTTP intake).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// An HTTP response: status code, lower-cased header block, body (de-chunked).
pub struct Response {
    pub status: u16,
    /// The reason phrase of the status line, as sent.
    pub reason: String,
    pub headers: String,
    pub body: String,
}

/// A plain HTTP/1.0 GET of `path` from `authority` (`host:port`) over TCP; the server closes
/// the connection after the response. Panics if the server does not answer within 20 s or
/// the response has no status line.
#[track_caller]
pub fn get(authority: &str, path: &str) -> Response {
    request(authority, "GET", path, &[], b"")
}

/// An HTTP/1.0 request: `method` of `path` with `headers` and `body`; the server closes the
/// connection after the response. Panics if the server does not answer within 20 s or the
/// response has no status line.
#[track_caller]
pub fn request(
    authority: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    try_request(authority, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} {path} to {authority}: {e}"))
}

/// [`request`], with `Err` saying why there is no response (connection refused or cut, no
/// status line) instead of a panic.
pub fn try_request(
    authority: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Response, String> {
    let mut stream = TcpStream::connect(authority).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(|e| e.to_string())?;
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {authority}\r\nAccept: */*\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    // The server may answer (413) and close before reading all of a large body.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no header end in the response: {text:?}"))?;
    let status_line = head.lines().next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no status code in the response: {head:?}"))?;
    let reason = status_line
        .splitn(3, ' ')
        .nth(2)
        .unwrap_or_default()
        .to_owned();
    let headers = head.to_ascii_lowercase();
    let body = if headers.contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok(Response {
        status,
        reason,
        headers,
        body,
    })
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
