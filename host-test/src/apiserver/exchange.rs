//! The request and reply types the pipeline passes between routing and the handlers
//! (lease verbs, discovery, watch), with their small helpers: query decoding and the
//! constructors for Status, JSON and text replies. Routing and handlers both import from here.

use bytes::Bytes;
use http::Method;
use tokio::sync::mpsc;

use super::status::Status;

/// A request with its body read, and the authenticated user once known.
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub query: Query,
    pub content_type: Option<String>,
    pub accept: Option<String>,
    pub user_agent: Option<String>,
    pub body: Bytes,
    pub user: String,
    /// A watch ends once it has sent what is already stored (the `WatchCut` fault).
    pub cut_watch: bool,
}

/// A response: code, body (or a stream of chunks), content type and extra headers.
pub(crate) struct Reply {
    pub code: u16,
    pub body: Vec<u8>,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    /// When set, the body is streamed from here (watch) instead of `body`.
    pub stream: Option<mpsc::Receiver<Bytes>>,
}

impl Reply {
    /// A Status response.
    pub fn status(s: &Status) -> Reply {
        let mut reply = Reply::json(s.http, s.body());
        if let Some(n) = s.retry_after {
            reply.headers.push(("Retry-After", n.to_string()));
        }
        reply
    }

    /// A JSON response.
    pub fn json(code: u16, body: Vec<u8>) -> Reply {
        Reply {
            code,
            body,
            content_type: "application/json",
            headers: Vec::new(),
            stream: None,
        }
    }

    /// A plain-text response.
    pub fn text(code: u16, body: &str) -> Reply {
        Reply {
            code,
            body: body.as_bytes().to_vec(),
            content_type: "text/plain; charset=utf-8",
            headers: Vec::new(),
            stream: None,
        }
    }
}

impl From<Status> for Reply {
    fn from(s: Status) -> Reply {
        Reply::status(&s)
    }
}

/// Decoded query parameters, in order.
#[derive(Default)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    /// Decodes a raw query string.
    pub fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        Query(pairs)
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// `application/x-www-form-urlencoded` decoding.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
