//! EventGate's answers to `POST /v1/events` (reference `eventgate-http.md`): the status, the
//! reason phrase and the `{"invalid": [...], "error": [...]}` body, from the verdicts of the
//! request's events; and the headers every intake answer carries (CORS, a restrictive
//! Content-Security-Policy).

use axum::body::Body;
use axum::http::{header, HeaderValue, Response, StatusCode};
use serde_json::{json, Value};

use crate::intake_request::Verdict;

/// `Request body was empty...`: EventGate's answer to a body without events.
pub const EMPTY_BODY: &str = "Request body was empty. Must provide JSON encoded events.";

/// An answer: status, reason phrase, optional JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The reason phrase (EventGate's wording).
    pub reason: String,
    /// The JSON body, if any.
    pub body: Option<Value>,
    /// `Retry-After` seconds (429).
    pub retry_after: Option<u64>,
}

impl Answer {
    /// An answer without a body.
    pub fn plain(status: StatusCode, reason: impl Into<String>) -> Self {
        Answer {
            status,
            reason: reason.into(),
            body: None,
            retry_after: None,
        }
    }

    /// An answer whose body is `{"status": ..., "title": ..., "detail": ...}` (the deliberate
    /// improvements over EventGate: malformed JSON, too large, too many events...).
    pub fn problem(status: StatusCode, title: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Answer {
            status,
            reason: detail.clone(),
            body: Some(json!({"status": status.as_u16(), "title": title, "detail": detail})),
            retry_after: None,
        }
    }

    /// EventGate's answer once every event of a request has a verdict (and the accepted and
    /// failed ones were delivered).
    pub fn for_verdicts(verdicts: Vec<Verdict>) -> Self {
        let total = verdicts.len();
        let mut invalid = Vec::new();
        let mut errored = Vec::new();
        let mut server_fault = false;
        for verdict in verdicts {
            match verdict {
                Verdict::Accepted => {}
                Verdict::Invalid { event, message } => invalid.push(json!({
                    "status": "invalid",
                    "event": event,
                    "context": {"errorsText": message},
                })),
                Verdict::Error {
                    event,
                    message,
                    server,
                } => {
                    server_fault |= server;
                    errored.push(json!({
                        "status": "error",
                        "event": event,
                        "context": {"message": message},
                    }));
                }
            }
        }
        let (i, e) = (invalid.len(), errored.len());
        let failed = i + e;
        let accepted = total - failed;
        if failed == 0 {
            return Answer::plain(
                StatusCode::CREATED,
                format!("All {total} out of {total} events were accepted."),
            );
        }
        if e == 0 && accepted == 0 {
            return Answer {
                status: StatusCode::BAD_REQUEST,
                reason: format!("{i} out of {total} events were invalid and not accepted."),
                body: Some(json!({"invalid": invalid})),
                retry_after: None,
            };
        }
        let body = Some(json!({"invalid": invalid, "error": errored}));
        if accepted > 0 {
            Answer {
                status: StatusCode::MULTI_STATUS,
                reason: format!(
                    "{accepted} out of {total} events were accepted, but {failed} failed ({i} invalid and {e} errored)."
                ),
                body,
                retry_after: None,
            }
        } else {
            // EventGate answers 500 whenever an event errored. Here only a fault of the
            // service (a schema it cannot load) is a 5xx, which tells clients to retry; events
            // that are at fault themselves (no `$schema`, an unknown stream, ...) get 400.
            let status = if server_fault {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::BAD_REQUEST
            };
            Answer {
                status,
                reason: format!(
                    "{failed} out of {total} events had failures and were not accepted. ({i} invalid and {e} errored)."
                ),
                body,
                retry_after: None,
            }
        }
    }

    /// The HTTP response, with `cors_origin` as `Access-Control-Allow-Origin` when set.
    pub fn into_response(self, cors_origin: Option<&HeaderValue>) -> Response<Body> {
        let mut response = match &self.body {
            Some(value) => json_response(
                self.status,
                serde_json::to_vec(value).unwrap_or_default(),
                cors_origin,
            ),
            None => {
                let mut response = Response::new(Body::empty());
                *response.status_mut() = self.status;
                decorate(response.headers_mut(), cors_origin);
                response
            }
        };
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        // A reason phrase is written as is: keep it to visible ASCII.
        let reason: String = self
            .reason
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '?'
                }
            })
            .take(512)
            .collect();
        if let Ok(phrase) = hyper::ext::ReasonPhrase::try_from(reason.into_bytes()) {
            response.extensions_mut().insert(phrase);
        }
        response
    }
}

/// An answer with a JSON body already serialised, and the headers every answer carries.
pub fn json_response(
    status: StatusCode,
    json: Vec<u8>,
    cors_origin: Option<&HeaderValue>,
) -> Response<Body> {
    let mut response = Response::new(Body::from(json));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    decorate(response.headers_mut(), cors_origin);
    response
}

/// The headers every intake answer carries.
pub fn decorate(headers: &mut axum::http::HeaderMap, cors_origin: Option<&HeaderValue>) {
    if let Some(origin) = cors_origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST, OPTIONS"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type, content-encoding, x-request-id"),
        );
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid() -> Verdict {
        Verdict::Invalid {
            event: json!({"a": 1}),
            message: "'.a' should be string".into(),
        }
    }

    fn errored() -> Verdict {
        Verdict::Error {
            event: json!({"b": 1}),
            message: "no $schema".into(),
            server: false,
        }
    }

    #[test]
    fn statuses_and_reasons_follow_eventgate() {
        let all = Answer::for_verdicts(vec![Verdict::Accepted, Verdict::Accepted]);
        assert_eq!(all.status, StatusCode::CREATED);
        assert_eq!(all.reason, "All 2 out of 2 events were accepted.");
        assert!(all.body.is_none());

        let bad = Answer::for_verdicts(vec![invalid(), invalid()]);
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            bad.reason,
            "2 out of 2 events were invalid and not accepted."
        );
        let body = bad.body.unwrap();
        assert_eq!(body["invalid"].as_array().unwrap().len(), 2);
        assert!(body.get("error").is_none());

        let mixed = Answer::for_verdicts(vec![Verdict::Accepted, invalid(), errored()]);
        assert_eq!(mixed.status, StatusCode::MULTI_STATUS);
        assert_eq!(
            mixed.reason,
            "1 out of 3 events were accepted, but 2 failed (1 invalid and 1 errored)."
        );
        let body = mixed.body.unwrap();
        assert_eq!(body["invalid"][0]["status"], "invalid");
        assert_eq!(body["error"][0]["context"]["message"], "no $schema");

        let failed = Answer::for_verdicts(vec![invalid(), errored()]);
        assert_eq!(failed.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            failed.reason,
            "2 out of 2 events had failures and were not accepted. (1 invalid and 1 errored)."
        );
        let unloadable = Verdict::Error {
            event: json!({}),
            message: "schema repository unreachable".into(),
            server: true,
        };
        let failed = Answer::for_verdicts(vec![invalid(), unloadable]);
        assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
