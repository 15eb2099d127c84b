//! The `wasi:http` round trip: one request, a deadline over the whole exchange (connect,
//! first byte, every body read), and a capped response body.

use crate::prelude::*;
use alloc::vec;

use wasi::clocks::monotonic_clock;
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, IncomingBody, Method as WasiMethod, OutgoingBody, OutgoingRequest,
    RequestOptions, Scheme as WasiScheme,
};
use wasi::io::poll;
use wasi::io::streams::StreamError;

use crate::config::{ClientConfig, Scheme};
use crate::error::Error;
use crate::request::{ApiRequest, ApiResponse, Method};
use crate::token::Token;

/// Responses larger than this are refused (a Lease is a few hundred bytes; a list of
/// thousands of leases still fits).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// `blocking-write-and-flush` takes at most this many bytes per call.
const WRITE_CHUNK: usize = 4096;

/// Sends `request` to the client's apiserver and reads the whole response.
pub fn send(
    config: &ClientConfig,
    request: &ApiRequest,
    token: Option<&Token>,
) -> Result<ApiResponse, Error> {
    let url = format!("{}{}", config.base_url, request.path);
    let timeout_ns = u64::from(config.timeout_ms) * 1_000_000;
    let deadline = monotonic_clock::now().saturating_add(timeout_ns);
    let timed_out = || {
        Error::Timeout(format!(
            "no complete answer from {url} within {} ms",
            config.timeout_ms
        ))
    };

    let outgoing = build(config, request, token)?;
    let body = outgoing
        .body()
        .map_err(|()| Error::Transport("request body unavailable".into()))?;
    let options = RequestOptions::new();
    // A host may not support some timeouts; the deadline below still holds.
    let _ = options.set_connect_timeout(Some(timeout_ns));
    let _ = options.set_first_byte_timeout(Some(timeout_ns));
    let _ = options.set_between_bytes_timeout(Some(timeout_ns));
    let future =
        outgoing_handler::handle(outgoing, Some(options)).map_err(|e| transport(&url, &e))?;
    write_body(body, request.body.as_deref().unwrap_or_default(), &url)?;

    if !wait(&future.subscribe(), deadline) {
        return Err(timed_out());
    }
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(map_code(&url, &code, config.timeout_ms)),
        Some(Err(())) | None => {
            return Err(Error::Transport(format!("{url}: response already taken")));
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
    let incoming = response
        .consume()
        .map_err(|()| Error::Transport(format!("{url}: response body unavailable")))?;
    let body = read_body(&incoming, deadline, &url, config.timeout_ms)?;
    drop(IncomingBody::finish(incoming));
    Ok(ApiResponse {
        status,
        retry_after,
        body,
    })
}

fn build(
    config: &ClientConfig,
    request: &ApiRequest,
    token: Option<&Token>,
) -> Result<OutgoingRequest, Error> {
    let mut headers: Vec<(String, Vec<u8>)> = vec![("accept".into(), b"application/json".to_vec())];
    if request.body.is_some() {
        headers.push(("content-type".into(), b"application/json".to_vec()));
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

fn write_body(body: OutgoingBody, bytes: &[u8], url: &str) -> Result<(), Error> {
    {
        let stream = body
            .write()
            .map_err(|()| Error::Transport(format!("{url}: request body unavailable")))?;
        for chunk in bytes.chunks(WRITE_CHUNK) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| stream_error(url, e))?;
        }
    }
    OutgoingBody::finish(body, None).map_err(|e| transport(url, &e))
}

fn read_body(
    incoming: &IncomingBody,
    deadline: u64,
    url: &str,
    timeout_ms: u32,
) -> Result<Vec<u8>, Error> {
    let stream = incoming
        .stream()
        .map_err(|()| Error::Transport(format!("{url}: response body unavailable")))?;
    let mut body = Vec::new();
    loop {
        match stream.read(64 * 1024) {
            Ok(chunk) if chunk.is_empty() => {
                if !wait(&stream.subscribe(), deadline) {
                    return Err(Error::Timeout(format!(
                        "the response body from {url} did not complete within {timeout_ms} ms"
                    )));
                }
            }
            Ok(chunk) => {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_BODY_BYTES {
                    return Err(Error::Decode(format!(
                        "the response from {url} is larger than {MAX_BODY_BYTES} bytes"
                    )));
                }
            }
            Err(StreamError::Closed) => return Ok(body),
            Err(e) => return Err(stream_error(url, e)),
        }
    }
}

/// Blocks until `ready` fires or the deadline passes; true when it fired.
fn wait(ready: &poll::Pollable, deadline: u64) -> bool {
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

fn stream_error(url: &str, e: StreamError) -> Error {
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
