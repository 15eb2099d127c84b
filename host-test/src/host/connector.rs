//! Dialling for the pooled client: TCP (no delay, keepalive) to an origin the sandbox allows,
//! then, for `https`, TLS trusting only the sandbox's CA.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use wasmtime_wasi_http::p2::bindings::http::types::{DnsErrorPayload, ErrorCode};

use super::errors::{DialError, connect_error, dns_error, tls_error};
use super::policy::{Origin, Policy};

/// A rustls client configuration whose only trust anchors are the certificates in `ca_pem`.
///
/// # Errors
///
/// When the PEM holds no certificate or one that is not a valid trust anchor.
pub fn client_config_trusting(ca_pem: &[u8]) -> anyhow::Result<Arc<ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        let cert = cert.context("reading the trusted CA PEM")?;
        roots
            .add(cert)
            .context("adding the trusted CA certificate")?;
    }
    anyhow::ensure!(!roots.is_empty(), "the trusted CA PEM holds no certificate");
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .context("choosing TLS versions")?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Opens connections for hyper-util's pooled client, to the allowed origins only.
#[derive(Clone, Debug)]
pub(crate) struct Connector {
    /// The origins that may be dialled.
    pub(crate) policy: Arc<Policy>,
    /// The TLS configuration for `https`; `None` makes every `https` dial fail.
    pub(crate) tls: Option<Arc<ClientConfig>>,
    /// Idle time before TCP keepalive probes start.
    pub(crate) keepalive: Duration,
}

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<Stream>;
    type Error = DialError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, DialError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), DialError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connector = self.clone();
        Box::pin(async move { connector.dial(&uri).await.map(TokioIo::new) })
    }
}

impl Connector {
    /// Connects to `uri`'s origin if allowed, with TLS for `https`.
    async fn dial(&self, uri: &Uri) -> Result<Stream, DialError> {
        let origin = self.policy.allow(uri)?;
        let tcp = self.connect_tcp(&origin).await?;
        if !origin.https {
            return Ok(Stream(Box::new(tcp)));
        }
        let config = self.tls.clone().ok_or(ErrorCode::TlsCertificateError)?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(server_name(&origin)?, tcp)
            .await
            .map_err(|e| tls_error(&e))?;
        Ok(Stream(Box::new(tls)))
    }

    /// Opens the TCP connection, trying each resolved address in turn.
    async fn connect_tcp(&self, origin: &Origin) -> Result<TcpStream, ErrorCode> {
        let addrs: Vec<SocketAddr> = match origin.bare_host().parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, origin.port)],
            Err(_) => tokio::net::lookup_host((origin.bare_host(), origin.port))
                .await
                .map_err(|e| dns_error(&e))?
                .collect(),
        };
        let mut last = ErrorCode::DestinationNotFound;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(stream) => {
                    // Requests are small and latency-bound; a dead peer of an idle pooled
                    // connection is noticed by keepalive probes.
                    let _ = stream.set_nodelay(true);
                    let keepalive = socket2::TcpKeepalive::new()
                        .with_time(self.keepalive)
                        .with_interval(self.keepalive);
                    let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive);
                    return Ok(stream);
                }
                Err(e) => last = connect_error(&e),
            }
        }
        Err(last)
    }
}

/// The name the server certificate must carry: an IP address or a DNS name.
fn server_name(origin: &Origin) -> Result<ServerName<'static>, ErrorCode> {
    if let Ok(ip) = origin.bare_host().parse::<IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(origin.bare_host().to_owned()).map_err(|e| {
        ErrorCode::DnsError(DnsErrorPayload {
            rcode: Some(format!("invalid DNS name: {e}")),
            info_code: None,
        })
    })
}

/// Something to read and write a connection through.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A dialled connection: plain TCP or TLS over it.
pub(crate) struct Stream(Box<dyn Io>);

impl Connection for Stream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.get_mut().0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::{Connector, Policy};

    #[tokio::test]
    async fn dialled_connections_have_tcp_keepalive() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let connector = Connector {
            policy: Arc::new(Policy::parse(std::slice::from_ref(&origin)).unwrap()),
            tls: None,
            keepalive: Duration::from_secs(42),
        };
        let allowed = connector.policy.allow(&origin.parse().unwrap()).unwrap();
        let tcp = connector.connect_tcp(&allowed).await.unwrap();
        let socket = socket2::SockRef::from(&tcp);
        assert!(socket.keepalive().unwrap());
        assert_eq!(
            socket.tcp_keepalive_time().unwrap(),
            Duration::from_secs(42)
        );
        assert!(tcp.nodelay().unwrap());
    }
}
