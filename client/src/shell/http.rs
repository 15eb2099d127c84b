//! The `wasi:http` round trip: one request, a deadline over the whole exchange (connect,
//! first byte, every body read), and a capped response body. A failure says whether the
//! request surely never left (no name, no connection, no TLS session), for the retry rules.

use crate::prelude::*;
use alloc::vec;

use wasi::clocks::monotonic_clock;
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingBody, IncomingResponse,
    Method as WasiMethod, OutgoingBody, OutgoingRequest, RequestOptions, Scheme as WasiScheme,
};
use wasi::io::poll;
use wasi::io::streams::{OutputStream, StreamError};

use crate::config::{ClientConfig, Scheme};
use crate::error::Error;
use crate::request::{ApiRequest, ApiResponse, Method};
use crate::retry::Failed;
use crate::token::Token;

/// Success responses larger than this are refused (a Lease is a few hundred bytes; a list of
/// thousands of leases still fits).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// How much of a failure response's body is read: enough for any Status, while a 2 MiB HTML
/// page from a load balancer is cut short and its status and `Retry-After` kept.
pub const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// A response whose head has arrived; its body is still to be read.
pub struct Head {
    /// The HTTP status code.
    pub status: u16,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// The body.
    pub body: IncomingBody,
    /// The request's URL, for messages.
    pub url: String,
    /// The milliseconds the request was given, for messages.
    pub allowed_ms: u32,
}

/// Sends `request` to the client's apiserver and reads the response, all by `deadline`
/// (monotonic ns; writing the body included), which gave the operation `given_ms`.
pub fn send(
    config: &ClientConfig,
    request: &ApiRequest,
    token: Option<&Token>,
    deadline: u64,
    given_ms: u32,
) -> Result<ApiResponse, Failed> {
    let timeout_ns = u64::from(config.timeout_ms) * 1_000_000;
    let head = start(config, request, token, (deadline, given_ms), timeout_ns)?;
    finish(head, deadline).map_err(Failed::sent)
}

/// Reads the body of a response whose head arrived, by `deadline`: all of a success (up to
/// [`MAX_BODY_BYTES`]), the start of a failure (up to [`MAX_ERROR_BODY_BYTES`]).
pub fn finish(head: Head, deadline: u64) -> Result<ApiResponse, Error> {
    let Head {
        status,
        retry_after,
        body: incoming,
        url,
        allowed_ms: timeout_ms,
    } = head;
    let success = (200..300).contains(&status);
    let limit = if success {
        MAX_BODY_BYTES
    } else {
        MAX_ERROR_BODY_BYTES
    };
    let (body, end) = read_body(&incoming, deadline, limit, &url)?;
    match end {
        End::Complete => drop(IncomingBody::finish(incoming)),
        End::Cut if success => {
            return Err(Error::Decode(format!(
                "the response from {url} is larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        End::TimedOut if success => {
            return Err(timed_out("the response body from", &url, timeout_ms));
        }
        // A failure status stands on its own: it is kept with whatever of its body arrived.
        End::Cut | End::TimedOut => {}
    }
    Ok(ApiResponse {
        status,
        retry_after,
        body,
    })
}

fn timed_out(what: &str, url: &str, timeout_ms: u32) -> Error {
    Error::Timeout(format!(
        "{what} {url} did not complete within {timeout_ms} ms"
    ))
}

/// Sends `request` and waits for the response head, by `deadline` (monotonic ns; it gave the
/// operation `given_ms`, for messages); the host may let the body pause up to
/// `between_bytes_ns` (a watch's quiet spells are long).
pub fn start(
    config: &ClientConfig,
    request: &ApiRequest,
    token: Option<&Token>,
    (deadline, timeout_ms): (u64, u32),
    between_bytes_ns: u64,
) -> Result<Head, Failed> {
    let url = format!("{}{}", config.base_url, request.path);
    let timeout_ns = u64::from(config.timeout_ms) * 1_000_000;
    let outgoing = build(config, request, token).map_err(Failed::unsent)?;
    // A request without a body gets none, so the host sends it whole at once; a body is
    // written before the request is handed over as far as the host buffers it, so the head
    // and the body leave together.
    let pending = match &request.body {
        None => None,
        // Nothing was handed over yet: a failure here is surely unsent.
        Some(bytes) => {
            start_body(&outgoing, bytes, &url).map_err(|failed| Failed::unsent(failed.error))?
        }
    };
    let options = RequestOptions::new();
    // A host may not support some timeouts; the deadline below still holds.
    let _ = options.set_connect_timeout(Some(timeout_ns));
    let _ = options.set_first_byte_timeout(Some(timeout_ns));
    let _ = options.set_between_bytes_timeout(Some(between_bytes_ns));
    let future = outgoing_handler::handle(outgoing, Some(options))
        .map_err(|e| failure(&url, &e, timeout_ms))?;
    let written = match pending {
        None => Ok(()),
        Some(rest) => rest.finish(deadline, &url),
    };
    let response = match written {
        Ok(()) => outcome(&future, deadline, &url, timeout_ms),
        Err(Written::TimedOut) => {
            return Err(Failed::sent(timed_out(
                "sending the request to",
                &url,
                timeout_ms,
            )));
        }
        // The connection failed while the body was going out: the response future holds what
        // really happened (an early answer, or the host's reason: TLS, refused, denied).
        Err(Written::Failed(e)) => outcome(&future, deadline, &url, timeout_ms).or(Some(Err(e))),
    };
    let response = match response {
        Some(result) => result?,
        None => {
            return Err(Failed::sent(timed_out("the answer from", &url, timeout_ms)));
        }
    };
    let status = response.status();
    let retry_after = {
        let headers = response.headers();
        headers
            .get("retry-after")
            .into_iter()
            .next()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
    };
    let body = response.consume().map_err(|()| {
        Failed::sent(Error::Transport(format!(
            "{url}: response body unavailable"
        )))
    })?;
    Ok(Head {
        status,
        retry_after,
        body,
        url,
        allowed_ms: timeout_ms,
    })
}

/// The response, its failure, or `None` when the deadline passed first.
fn outcome(
    future: &FutureIncomingResponse,
    deadline: u64,
    url: &str,
    timeout_ms: u32,
) -> Option<Result<IncomingResponse, Failed>> {
    if !wait(&future.subscribe(), deadline) {
        return None;
    }
    Some(match future.get() {
        Some(Ok(Ok(response))) => Ok(response),
        Some(Ok(Err(code))) => Err(failure(url, &code, timeout_ms)),
        Some(Err(())) | None => Err(Failed::sent(Error::Transport(format!(
            "{url}: response already taken"
        )))),
    })
}

fn build(
    config: &ClientConfig,
    request: &ApiRequest,
    token: Option<&Token>,
) -> Result<OutgoingRequest, Error> {
    let mut headers: Vec<(String, Vec<u8>)> = vec![("accept".into(), b"application/json".to_vec())];
    if let Some(body) = &request.body {
        headers.push(("content-type".into(), b"application/json".to_vec()));
        // Go sends it, and strict proxies refuse a body without it.
        headers.push(("content-length".into(), body.len().to_string().into_bytes()));
    }
    if let Some(token) = token {
        headers.push(("authorization".into(), token.header_value().into_bytes()));
    }
    // The token was checked to be visible ASCII, so this cannot fail on it; say nothing of it.
    let fields = Fields::from_list(&headers).map_err(|e| {
        Error::InvalidArgument(format!("request headers refused by the host: {e:?}"))
    })?;
    let outgoing = OutgoingRequest::new(fields);
    let method = match request.method {
        Method::Get => WasiMethod::Get,
        Method::Post => WasiMethod::Post,
        Method::Put => WasiMethod::Put,
        Method::Delete => WasiMethod::Delete,
    };
    let scheme = match config.base_url.scheme {
        Scheme::Http => WasiScheme::Http,
        Scheme::Https => WasiScheme::Https,
    };
    let refused =
        |what: &str| Error::InvalidArgument(format!("the host refused the request {what}"));
    outgoing
        .set_method(&method)
        .map_err(|()| refused("method"))?;
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|()| refused("scheme"))?;
    outgoing
        .set_authority(Some(&config.base_url.authority))
        .map_err(|()| refused("authority"))?;
    outgoing
        .set_path_with_query(Some(&request.path))
        .map_err(|()| refused("path"))?;
    Ok(outgoing)
}

/// Why a request body was not sent.
enum Written {
    /// The deadline passed with bytes still unsent.
    TimedOut,
    /// The stream failed.
    Failed(Failed),
}

/// A request body still being written: the part the host did not take before the request
/// was handed over, or a flush it has not completed.
struct PendingBody<'a> {
    /// The body's stream; declared first so it is dropped before its parent.
    stream: OutputStream,
    /// The body; finished once all of it is written and flushed.
    body: OutgoingBody,
    /// What is left to write.
    rest: &'a [u8],
    /// Whether all of it is written and the flush requested.
    flushing: bool,
}

/// Writes as much of `bytes` as the host takes now into `outgoing`'s body, without waiting.
/// All of it taken and flushed: the body is finished (`None`); else what is left to do once
/// the request has been handed over.
fn start_body<'a>(
    outgoing: &OutgoingRequest,
    bytes: &'a [u8],
    url: &str,
) -> Result<Option<PendingBody<'a>>, Failed> {
    let unavailable =
        || Failed::unsent(Error::Transport(format!("{url}: request body unavailable")));
    let body = outgoing.body().map_err(|()| unavailable())?;
    let stream = body.write().map_err(|()| unavailable())?;
    let mut pending = PendingBody {
        stream,
        body,
        rest: bytes,
        flushing: false,
    };
    if pending.progress(url)? {
        pending.close(url)?;
        return Ok(None);
    }
    Ok(Some(pending))
}

impl PendingBody<'_> {
    /// Writes as much as the stream takes now (`check-write`), then asks for a flush; true
    /// once the flush is done (the stream takes writes again).
    fn progress(&mut self, url: &str) -> Result<bool, Failed> {
        let failed = |e: StreamError| Failed::sent(stream_error(url, e));
        while !self.flushing {
            let room = self.stream.check_write().map_err(failed)?;
            if room == 0 {
                return Ok(false);
            }
            if self.rest.is_empty() {
                self.stream.flush().map_err(failed)?;
                self.flushing = true;
            } else {
                let n = self
                    .rest
                    .len()
                    .min(usize::try_from(room).unwrap_or(usize::MAX));
                self.stream.write(&self.rest[..n]).map_err(failed)?;
                self.rest = &self.rest[n..];
            }
        }
        Ok(self.stream.check_write().map_err(failed)? > 0)
    }

    /// Writes and flushes the rest as the host takes it, waiting on the stream's pollable
    /// against the deadline rather than blocking, then finishes the body.
    fn finish(mut self, deadline: u64, url: &str) -> Result<(), Written> {
        let pollable = self.stream.subscribe();
        while !self.progress(url).map_err(Written::Failed)? {
            if !wait(&pollable, deadline) {
                return Err(Written::TimedOut);
            }
        }
        drop(pollable);
        self.close(url).map_err(Written::Failed)
    }

    /// Finishes the body, all of it written and flushed.
    fn close(self, url: &str) -> Result<(), Failed> {
        drop(self.stream);
        OutgoingBody::finish(self.body, None).map_err(|e| Failed::sent(transport(url, &e)))
    }
}

/// How reading a response body ended.
enum End {
    /// At the body's end.
    Complete,
    /// At the limit, with more to come.
    Cut,
    /// At the deadline.
    TimedOut,
}

/// Reads the body, at most `limit` bytes of it, against the deadline.
fn read_body(
    incoming: &IncomingBody,
    deadline: u64,
    limit: usize,
    url: &str,
) -> Result<(Vec<u8>, End), Error> {
    let stream = incoming
        .stream()
        .map_err(|()| Error::Transport(format!("{url}: response body unavailable")))?;
    let pollable = stream.subscribe();
    let mut body = Vec::new();
    loop {
        let room = (limit + 1).saturating_sub(body.len());
        match stream.read(room.min(64 * 1024) as u64) {
            Ok(chunk) if chunk.is_empty() => {
                if !wait(&pollable, deadline) {
                    return Ok((body, End::TimedOut));
                }
            }
            Ok(chunk) => {
                body.extend_from_slice(&chunk);
                if body.len() > limit {
                    body.truncate(limit);
                    return Ok((body, End::Cut));
                }
            }
            Err(StreamError::Closed) => return Ok((body, End::Complete)),
            Err(e) => return Err(stream_error(url, e)),
        }
    }
}

/// Blocks until `ready` fires or the deadline passes; true when it fired.
pub fn wait(ready: &poll::Pollable, deadline: u64) -> bool {
    if ready.ready() {
        return true;
    }
    let timer = monotonic_clock::subscribe_instant(deadline);
    loop {
        let fired = poll::poll(&[ready, &timer]);
        if fired.contains(&0) {
            return true;
        }
        if fired.contains(&1) {
            return ready.ready();
        }
    }
}

/// The error for a failed stream operation.
pub fn stream_error(url: &str, e: StreamError) -> Error {
    match e {
        StreamError::Closed => Error::Transport(format!("{url}: the connection closed early")),
        StreamError::LastOperationFailed(err) => match wasi::http::types::http_error_code(&err) {
            Some(code) => transport(url, &code),
            None => Error::Transport(format!("{url}: {}", err.to_debug_string())),
        },
    }
}

fn transport(url: &str, code: &ErrorCode) -> Error {
    map_code(url, code, 0)
}

/// The failure a host's error code stands for, sent or not.
fn failure(url: &str, code: &ErrorCode, timeout_ms: u32) -> Failed {
    Failed {
        error: map_code(url, code, timeout_ms),
        sent: !before_sending(code),
        garbled: false,
    }
}

/// Whether `code` says the request never left: the name did not resolve, no connection or
/// TLS session was made (the handshake ends before any HTTP byte is written), or the host
/// refused it. Anything else — a reset, an incomplete or malformed answer, a timeout after
/// connecting, a host's internal error — may come after the server acted on it.
fn before_sending(code: &ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::DnsTimeout
            | ErrorCode::DnsError(_)
            | ErrorCode::DestinationNotFound
            | ErrorCode::DestinationUnavailable
            | ErrorCode::DestinationIpProhibited
            | ErrorCode::DestinationIpUnroutable
            | ErrorCode::ConnectionRefused
            | ErrorCode::ConnectionTimeout
            | ErrorCode::ConnectionLimitReached
            | ErrorCode::TlsProtocolError
            | ErrorCode::TlsCertificateError
            | ErrorCode::TlsAlertReceived(_)
            | ErrorCode::HttpRequestDenied
            | ErrorCode::HttpRequestUriInvalid
            | ErrorCode::HttpRequestMethodInvalid
    )
}

/// Timeouts are `Timeout`; every other failure to get a response is `Transport`.
fn map_code(url: &str, code: &ErrorCode, timeout_ms: u32) -> Error {
    let name = code_name(code);
    match code {
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout => {
            let within = if timeout_ms > 0 {
                format!(" within {timeout_ms} ms")
            } else {
                String::new()
            };
            Error::Timeout(format!("no complete answer from {url}{within} ({name})"))
        }
        ErrorCode::HttpResponseBodySize(_) => {
            Error::Decode(format!("{url}: response body too large ({name})"))
        }
        _ => Error::Transport(format!("{url}: {} ({name})", describe(code))),
    }
}

/// A readable cause for a wasi-http error code.
fn describe(code: &ErrorCode) -> &'static str {
    match code {
        ErrorCode::DnsTimeout | ErrorCode::DnsError(_) => "the host name could not be resolved",
        ErrorCode::DestinationNotFound
        | ErrorCode::DestinationUnavailable
        | ErrorCode::DestinationIpUnroutable
        | ErrorCode::DestinationIpProhibited => "the apiserver address is unreachable",
        ErrorCode::ConnectionRefused => "connection refused",
        ErrorCode::ConnectionTerminated => "the connection was closed before a complete response",
        ErrorCode::ConnectionLimitReached => "the host's connection limit was reached",
        ErrorCode::TlsProtocolError => "TLS handshake failed",
        ErrorCode::TlsCertificateError => "the server's TLS certificate is not trusted",
        ErrorCode::TlsAlertReceived(_) => "the server sent a TLS alert",
        ErrorCode::HttpRequestDenied => "the host denied this request",
        ErrorCode::HttpProtocolError | ErrorCode::HttpResponseIncomplete => {
            "the server broke the HTTP protocol"
        }
        _ => "the request failed",
    }
}

/// The wasi-http name of an error code (its WIT case name), with the host's detail if any.
fn code_name(code: &ErrorCode) -> String {
    let name = match code {
        ErrorCode::DnsTimeout => "DNS-timeout",
        ErrorCode::DnsError(_) => "DNS-error",
        ErrorCode::DestinationNotFound => "destination-not-found",
        ErrorCode::DestinationUnavailable => "destination-unavailable",
        ErrorCode::DestinationIpProhibited => "destination-IP-prohibited",
        ErrorCode::DestinationIpUnroutable => "destination-IP-unroutable",
        ErrorCode::ConnectionRefused => "connection-refused",
        ErrorCode::ConnectionTerminated => "connection-terminated",
        ErrorCode::ConnectionTimeout => "connection-timeout",
        ErrorCode::ConnectionReadTimeout => "connection-read-timeout",
        ErrorCode::ConnectionWriteTimeout => "connection-write-timeout",
        ErrorCode::ConnectionLimitReached => "connection-limit-reached",
        ErrorCode::TlsProtocolError => "TLS-protocol-error",
        ErrorCode::TlsCertificateError => "TLS-certificate-error",
        ErrorCode::TlsAlertReceived(_) => "TLS-alert-received",
        ErrorCode::HttpRequestDenied => "HTTP-request-denied",
        ErrorCode::HttpResponseIncomplete => "HTTP-response-incomplete",
        ErrorCode::HttpResponseBodySize(_) => "HTTP-response-body-size",
        ErrorCode::HttpResponseTimeout => "HTTP-response-timeout",
        ErrorCode::HttpProtocolError => "HTTP-protocol-error",
        ErrorCode::InternalError(_) => "internal-error",
        _ => "HTTP-error",
    };
    let detail = match code {
        ErrorCode::InternalError(Some(m)) => Some(m.as_str()),
        ErrorCode::TlsAlertReceived(p) => p.alert_message.as_deref(),
        ErrorCode::DnsError(p) => p.rcode.as_deref(),
        _ => None,
    };
    match detail {
        Some(d) => format!("{name}: {d}"),
        None => name.to_owned(),
    }
}
