//! What the guest sees when a request fails: I/O, TLS (rustls), hyper and hyper-util client
//! errors mapped to the `wasi:http` error code that names the cause.

use std::error::Error as StdError;
use std::fmt;
use std::io;

use wasmtime_wasi_http::p2::bindings::http::types::{
    DnsErrorPayload, ErrorCode, TlsAlertReceivedPayload,
};

/// Why dialling a connection failed, as the guest will see it; the connector's error type, so
/// that it survives hyper-util's client error and can be read back by [`client_error`].
#[derive(Debug)]
pub(crate) struct DialError(pub(crate) ErrorCode);

impl fmt::Display for DialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dialling failed: {:?}", self.0)
    }
}

impl StdError for DialError {}

impl From<ErrorCode> for DialError {
    fn from(code: ErrorCode) -> Self {
        Self(code)
    }
}

/// A failed name lookup.
pub(crate) fn dns_error(e: &io::Error) -> ErrorCode {
    ErrorCode::DnsError(DnsErrorPayload {
        rcode: Some(e.to_string()),
        info_code: None,
    })
}

/// A failed TCP connect.
pub(crate) fn connect_error(e: &io::Error) -> ErrorCode {
    use io::ErrorKind;
    match e.kind() {
        ErrorKind::ConnectionRefused => ErrorCode::ConnectionRefused,
        ErrorKind::TimedOut => ErrorCode::ConnectionTimeout,
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
            ErrorCode::DestinationUnavailable
        }
        ErrorKind::AddrNotAvailable => ErrorCode::DestinationIpUnroutable,
        ErrorKind::PermissionDenied => ErrorCode::DestinationIpProhibited,
        _ => ErrorCode::InternalError(Some(format!("TCP connect: {e}"))),
    }
}

/// A failed TLS handshake: certificate problems, alerts from the server, the rest.
pub(crate) fn tls_error(e: &io::Error) -> ErrorCode {
    let Some(rustls_error) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) else {
        return match e.kind() {
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset => {
                ErrorCode::ConnectionTerminated
            }
            _ => ErrorCode::TlsProtocolError,
        };
    };
    match rustls_error {
        rustls::Error::InvalidCertificate(_)
        | rustls::Error::NoCertificatesPresented
        | rustls::Error::InvalidCertRevocationList(_) => ErrorCode::TlsCertificateError,
        rustls::Error::AlertReceived(alert) => {
            ErrorCode::TlsAlertReceived(TlsAlertReceivedPayload {
                alert_id: Some(u8::from(*alert)),
                alert_message: Some(format!("{alert:?}")),
            })
        }
        _ => ErrorCode::TlsProtocolError,
    }
}

/// A failure while sending the request or reading the response.
pub(crate) fn hyper_error(e: &hyper::Error) -> ErrorCode {
    if e.is_timeout() {
        return ErrorCode::HttpResponseTimeout;
    }
    if e.is_incomplete_message() || e.is_canceled() {
        return ErrorCode::ConnectionTerminated;
    }
    if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() {
        return ErrorCode::HttpProtocolError;
    }
    match e.source() {
        // The guest's request body failed (e.g. more bytes than its Content-Length).
        Some(source) if e.is_user() => match source.downcast_ref::<wasmtime_wasi_http::Error>() {
            Some(wasmtime_wasi_http::Error::HttpRequestBodySize(size)) => {
                ErrorCode::HttpRequestBodySize(*size)
            }
            _ => ErrorCode::InternalError(Some(format!("request body: {source}"))),
        },
        Some(source) => match source.downcast_ref::<io::Error>().map(io::Error::kind) {
            Some(
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof,
            ) => ErrorCode::ConnectionTerminated,
            _ => ErrorCode::HttpProtocolError,
        },
        None => ErrorCode::HttpProtocolError,
    }
}

/// A failure of hyper-util's pooled client: the dial error, the HTTP error, or what it says.
pub(crate) fn client_error(e: &hyper_util::client::legacy::Error) -> ErrorCode {
    let Some(source) = e.source() else {
        return ErrorCode::InternalError(Some(e.to_string()));
    };
    if let Some(dial) = source.downcast_ref::<DialError>() {
        return dial.0.clone();
    }
    if let Some(hyper) = source.downcast_ref::<hyper::Error>() {
        return hyper_error(hyper);
    }
    ErrorCode::InternalError(Some(format!("{e}: {source}")))
}
