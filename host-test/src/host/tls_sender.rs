//! How the component's outgoing `wasi:http` requests leave the host: only to the allowed
//! authority, HTTPS trusting only the given cluster CA, with the request's timeouts, over a
//! pooled connection when one is idle, and every failure mapped to the `wasi:http` error code
//! the guest should see.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use http::uri::{PathAndQuery, Scheme};
use http::{Request, Response, Uri};
use hyper::client::conn::http1::SendRequest;
use rustls::ClientConfig;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use super::pool::{ConnectionPool, PoolKey};
use super::timed_body::{Reuse, timed};

/// The timeout wasi:http applies when the guest sets none.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

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

/// Sends the component's outgoing HTTP requests (the [`WasiHttpHooks`] of one instance).
///
/// Cheap to clone: the policy and the pool are shared.
#[derive(Clone, Debug, Default)]
pub struct TlsSender {
    /// `host:port` every request must go to; `None` allows any.
    allowed_authority: Option<Arc<str>>,
    /// The TLS configuration for `https`; `None` makes every `https` request fail.
    tls: Option<Arc<ClientConfig>>,
    /// Where connections are kept for reuse; `None` opens one per request.
    pool: Option<Arc<ConnectionPool>>,
}

impl TlsSender {
    /// A sender that only reaches `allowed_authority` (when given) and trusts only `tls`'s roots.
    pub fn new(allowed_authority: Option<&str>, tls: Option<Arc<ClientConfig>>) -> Self {
        Self {
            allowed_authority: allowed_authority.map(Arc::from),
            tls,
            pool: None,
        }
    }

    /// Reuses idle connections from `pool` (and returns them there when a response is read).
    pub fn with_pool(mut self, pool: Arc<ConnectionPool>) -> Self {
        self.pool = Some(pool);
        self
    }

    /// Sends `request` (absolute URI) and returns the response once its head has arrived.
    ///
    /// # Errors
    ///
    /// The `wasi:http` error the guest sees: `HttpRequestDenied` for another authority,
    /// `ConnectionRefused`, `ConnectionTimeout`, `TlsCertificateError` / `TlsProtocolError` /
    /// `TlsAlertReceived`, `DnsError`, `ConnectionReadTimeout` when no response head arrives
    /// within the first-byte timeout, or the HTTP protocol error.
    pub async fn send(
        &self,
        mut request: Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<Response<WasiBody>, Error> {
        let target = Target::of(request.uri())?;
        self.check_allowed(&target)?;
        let tls = match (target.https, &self.tls) {
            (true, Some(tls)) => Some(tls.clone()),
            (true, None) => return Err(Error::TlsCertificateError),
            (false, _) => None,
        };
        let options = options.unwrap_or_default();
        let connect_timeout = options.connect_timeout.unwrap_or(DEFAULT_TIMEOUT);
        let first_byte_timeout = options.first_byte_timeout.unwrap_or(DEFAULT_TIMEOUT);
        let between_bytes_timeout = options.between_bytes_timeout.unwrap_or(DEFAULT_TIMEOUT);

        // hyper sends the URI it is given: send origin-form (path and query) to a server.
        let path = request
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        *request.uri_mut() = Uri::from(path);

        let key = PoolKey {
            https: target.https,
            host: target.host.to_ascii_lowercase(),
            port: target.port,
            tls: tls.clone(),
        };
        if let Some(pool) = &self.pool {
            while let Some(mut sender) = pool.take(&key) {
                if !matches!(
                    tokio::time::timeout(connect_timeout, sender.ready()).await,
                    Ok(Ok(()))
                ) {
                    continue;
                }
                let sent =
                    tokio::time::timeout(first_byte_timeout, sender.try_send_request(request))
                        .await
                        .map_err(|_| Error::ConnectionReadTimeout)?;
                match sent {
                    Ok(response) => {
                        let reuse = Reuse {
                            pool: pool.clone(),
                            key,
                            sender,
                        };
                        return Ok(timed(response, between_bytes_timeout, Some(reuse)));
                    }
                    // The connection closed before the request left: try the next one.
                    Err(mut e) => match e.take_message() {
                        Some(unsent) => request = unsent,
                        None => return Err(Error::from(e.into_error())),
                    },
                }
            }
        }

        let mut sender = tokio::time::timeout(connect_timeout, connect(&target, tls))
            .await
            .map_err(|_| Error::ConnectionTimeout)??;
        let response = tokio::time::timeout(first_byte_timeout, sender.send_request(request))
            .await
            .map_err(|_| Error::ConnectionReadTimeout)?
            .map_err(Error::from)?;
        let reuse = self.pool.clone().map(|pool| Reuse { pool, key, sender });
        Ok(timed(response, between_bytes_timeout, reuse))
    }

    /// Refuses a target other than the allowed authority.
    fn check_allowed(&self, target: &Target) -> Result<(), Error> {
        let Some(allowed) = &self.allowed_authority else {
            return Ok(());
        };
        let allowed = allowed
            .parse::<http::uri::Authority>()
            .map_err(|_| Error::HttpRequestDenied)?;
        let allowed_port = allowed
            .port_u16()
            .unwrap_or(if target.https { 443 } else { 80 });
        if allowed.host().eq_ignore_ascii_case(&target.host) && allowed_port == target.port {
            Ok(())
        } else {
            Err(Error::HttpRequestDenied)
        }
    }
}

impl WasiHttpHooks for TlsSender {
    fn send_request(
        &mut self,
        request: Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), Error>> + Send>,
                    ),
                    Error,
                >,
            > + Send,
    > {
        let sender = self.clone();
        Box::new(async move {
            let response = sender.send(request, options).await?;
            // The connection runs in its own task; a request body failure surfaces through the
            // response, so there is nothing left to report here.
            let io: Box<dyn Future<Output = Result<(), Error>> + Send> = Box::new(async { Ok(()) });
            Ok((response, io))
        })
    }
}

/// Where a request goes, from its absolute URI.
#[derive(Debug)]
struct Target {
    /// `https` (else `http`).
    https: bool,
    /// The host as written in the URI (IPv6 in brackets).
    host: String,
    /// The explicit port, else the scheme's default.
    port: u16,
}

impl Target {
    /// Reads scheme, host and port; refuses user info and schemes other than http(s).
    fn of(uri: &Uri) -> Result<Self, Error> {
        let https = match uri.scheme() {
            Some(s) if *s == Scheme::HTTPS => true,
            Some(s) if *s == Scheme::HTTP => false,
            _ => return Err(Error::HttpProtocolError),
        };
        let authority = uri.authority().ok_or(Error::HttpRequestUriInvalid)?;
        if authority.as_str().contains('@') {
            return Err(Error::HttpRequestDenied);
        }
        Ok(Self {
            https,
            host: authority.host().to_owned(),
            port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
        })
    }

    /// The host without IPv6 brackets.
    fn bare_host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }

    /// The name the server certificate must carry: an IP address or a DNS name.
    fn server_name(&self) -> Result<ServerName<'static>, Error> {
        if let Ok(ip) = self.bare_host().parse::<IpAddr>() {
            return Ok(ServerName::IpAddress(ip.into()));
        }
        ServerName::try_from(self.bare_host().to_owned()).map_err(|e| Error::DnsError {
            rcode: Some(format!("invalid DNS name: {e}")),
            info_code: None,
        })
    }
}

/// Resolves, connects, does the TLS handshake if any and the HTTP/1.1 handshake.
async fn connect(
    target: &Target,
    tls: Option<Arc<ClientConfig>>,
) -> Result<SendRequest<WasiBody>, Error> {
    let tcp = connect_tcp(target).await?;
    match tls {
        None => handshake(tcp).await,
        Some(config) => {
            let name = target.server_name()?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(tls_error)?;
            handshake(stream).await
        }
    }
}

/// Opens the TCP connection, trying each resolved address in turn.
async fn connect_tcp(target: &Target) -> Result<TcpStream, Error> {
    let addrs: Vec<SocketAddr> = match target.bare_host().parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, target.port)],
        Err(_) => tokio::net::lookup_host((target.bare_host(), target.port))
            .await
            .map_err(|e| Error::DnsError {
                rcode: Some(e.to_string()),
                info_code: None,
            })?
            .collect(),
    };
    let mut last = Error::DestinationNotFound;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                // Requests are small and latency-bound.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = connect_error(e),
        }
    }
    Err(last)
}

/// Maps a TCP connect failure to its `wasi:http` error.
fn connect_error(e: std::io::Error) -> Error {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::ConnectionRefused => Error::ConnectionRefused,
        ErrorKind::TimedOut => Error::ConnectionTimeout,
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => Error::DestinationUnavailable,
        ErrorKind::AddrNotAvailable => Error::DestinationIpUnroutable,
        _ => Error::Connect(e),
    }
}

/// Maps a TLS handshake failure: certificate problems, alerts from the server, the rest.
fn tls_error(e: std::io::Error) -> Error {
    let Some(rustls_error) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) else {
        return match e.kind() {
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => {
                Error::ConnectionTerminated
            }
            _ => Error::Tls(e),
        };
    };
    match rustls_error {
        rustls::Error::InvalidCertificate(_)
        | rustls::Error::NoCertificatesPresented
        | rustls::Error::InvalidCertRevocationList(_) => Error::TlsCertificateError,
        rustls::Error::AlertReceived(alert) => Error::TlsAlertReceived {
            alert_id: Some(u8::from(*alert)),
            alert_message: Some(format!("{alert:?}")),
        },
        _ => Error::TlsProtocolError,
    }
}

/// The HTTP/1.1 handshake on `io`; the connection is driven by its own task.
async fn handshake<T>(io: T) -> Result<SendRequest<WasiBody>, Error>
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(Error::from)?;
    tokio::spawn(async move {
        // Failures reach the request through `sender`; the task only drives the I/O.
        let _ = conn.await;
    });
    Ok(sender)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use http::Request;
    use http_body_util::{BodyExt, Empty};
    use tokio::net::TcpListener;
    use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    use super::super::pool::ConnectionPool;
    use super::super::test_support::{Behaviour, counting_server, mint, server};
    use super::{TlsSender, client_config_trusting};

    /// A bodiless GET of `uri`.
    fn get(uri: &str) -> Request<WasiBody> {
        Request::get(uri)
            .body(Empty::<Bytes>::new().map_err(|e| match e {}).boxed_unsync())
            .unwrap()
    }

    /// Short timeouts so failing tests fail fast.
    fn options(first_byte: Duration) -> Option<RequestOptions> {
        Some(RequestOptions {
            connect_timeout: Some(Duration::from_secs(5)),
            first_byte_timeout: Some(first_byte),
            between_bytes_timeout: Some(Duration::from_secs(5)),
        })
    }

    /// A sender allowed to reach `addr`, trusting `ca_pem`.
    fn sender(addr: SocketAddr, ca_pem: Option<&str>) -> TlsSender {
        let tls = ca_pem.map(|pem| client_config_trusting(pem.as_bytes()).unwrap());
        TlsSender::new(Some(&addr.to_string()), tls)
    }

    #[tokio::test]
    async fn trusted_ca_gets_200_and_body() {
        let pki = mint(&["127.0.0.1", "localhost"]);
        let addr = server(Some(&pki), Behaviour::Answer).await;
        let uri = format!("https://{addr}/apis/x?limit=1");
        let response = sender(addr, Some(&pki.ca_pem))
            .send(get(&uri), options(Duration::from_secs(5)))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        // The server saw origin-form, not the absolute URI.
        assert_eq!(body, "hello /apis/x?limit=1");
    }

    #[tokio::test]
    async fn certificate_from_another_ca_is_a_certificate_error() {
        let server_pki = mint(&["127.0.0.1"]);
        let other = mint(&["127.0.0.1"]);
        let addr = server(Some(&server_pki), Behaviour::Answer).await;
        let err = sender(addr, Some(&other.ca_pem))
            .send(
                get(&format!("https://{addr}/")),
                options(Duration::from_secs(5)),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::TlsCertificateError), "{err:?}");
    }

    #[tokio::test]
    async fn certificate_for_another_name_is_a_certificate_error() {
        let pki = mint(&["localhost"]);
        let addr = server(Some(&pki), Behaviour::Answer).await;
        let err = sender(addr, Some(&pki.ca_pem))
            .send(
                get(&format!("https://{addr}/")),
                options(Duration::from_secs(5)),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::TlsCertificateError), "{err:?}");
    }

    #[tokio::test]
    async fn https_without_a_trusted_ca_fails() {
        let pki = mint(&["127.0.0.1"]);
        let addr = server(Some(&pki), Behaviour::Answer).await;
        let err = sender(addr, None)
            .send(
                get(&format!("https://{addr}/")),
                options(Duration::from_secs(5)),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::TlsCertificateError), "{err:?}");
    }

    #[tokio::test]
    async fn other_authority_is_denied() {
        let pki = mint(&["127.0.0.1", "localhost"]);
        let addr = server(Some(&pki), Behaviour::Answer).await;
        let allowed: SocketAddr = "127.0.0.1:1".parse().unwrap();
        for uri in [
            format!("https://{addr}/"),
            format!("https://localhost:{}/", addr.port()),
            format!("http://{addr}/"),
            "https://127.0.0.1/".to_owned(),
            format!("https://user@127.0.0.1:{}/", allowed.port()),
        ] {
            let err = sender(allowed, Some(&pki.ca_pem))
                .send(get(&uri), options(Duration::from_secs(5)))
                .await
                .unwrap_err();
            assert!(matches!(err, Error::HttpRequestDenied), "{uri}: {err:?}");
        }
    }

    #[tokio::test]
    async fn plain_http_to_the_allowed_authority_works() {
        let addr = server(None, Behaviour::Answer).await;
        let response = sender(addr, None)
            .send(
                get(&format!("http://{addr}/healthz")),
                options(Duration::from_secs(5)),
            )
            .await
            .unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "hello /healthz");
    }

    #[tokio::test]
    async fn closed_port_is_connection_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let pki = mint(&["127.0.0.1"]);
        let err = sender(addr, Some(&pki.ca_pem))
            .send(
                get(&format!("https://{addr}/")),
                options(Duration::from_secs(5)),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::ConnectionRefused), "{err:?}");
    }

    #[tokio::test]
    async fn silent_server_is_a_read_timeout_within_the_first_byte_timeout() {
        let pki = mint(&["127.0.0.1"]);
        let addr = server(Some(&pki), Behaviour::Silent).await;
        let started = Instant::now();
        let err = sender(addr, Some(&pki.ca_pem))
            .send(
                get(&format!("https://{addr}/")),
                options(Duration::from_millis(300)),
            )
            .await
            .unwrap_err();
        let elapsed = started.elapsed();
        assert!(matches!(err, Error::ConnectionReadTimeout), "{err:?}");
        assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    }

    #[tokio::test]
    async fn unresponsive_tls_handshake_is_a_connect_timeout() {
        // Accepts TCP but never speaks TLS.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let pki = mint(&["127.0.0.1"]);
        let mut options = options(Duration::from_secs(5)).unwrap();
        options.connect_timeout = Some(Duration::from_millis(300));
        let err = sender(addr, Some(&pki.ca_pem))
            .send(get(&format!("https://{addr}/")), Some(options))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::ConnectionTimeout), "{err:?}");
        drop(listener);
    }

    /// Sends `count` GETs one after the other, reading each body; returns the bodies.
    async fn get_many(sender: &TlsSender, addr: SocketAddr, count: usize) -> Vec<Bytes> {
        let mut bodies = Vec::new();
        for i in 0..count {
            let uri = format!("https://{addr}/{i}");
            let response = sender
                .send(get(&uri), options(Duration::from_secs(5)))
                .await
                .unwrap();
            bodies.push(response.into_body().collect().await.unwrap().to_bytes());
        }
        bodies
    }

    #[tokio::test]
    async fn pooled_sender_reuses_one_connection() {
        let pki = mint(&["127.0.0.1"]);
        let (addr, connections) = counting_server(Some(&pki), Behaviour::Answer).await;
        let pool = Arc::new(ConnectionPool::new());
        let pooled = sender(addr, Some(&pki.ca_pem)).with_pool(pool.clone());
        let bodies = get_many(&pooled, addr, 3).await;
        assert_eq!(bodies, ["hello /0", "hello /1", "hello /2"]);
        assert_eq!(connections.load(Ordering::SeqCst), 1);
        // Another sender on the same pool with the same TLS configuration shares it ...
        let shared = TlsSender::new(Some(&addr.to_string()), pooled.tls.clone()).with_pool(pool);
        get_many(&shared, addr, 1).await;
        assert_eq!(connections.load(Ordering::SeqCst), 1);
        // ... but not one verifying with another configuration (even for the same CA).
        let other = sender(addr, Some(&pki.ca_pem)).with_pool(Arc::new(ConnectionPool::new()));
        get_many(&other, addr, 1).await;
        assert_eq!(connections.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn unpooled_sender_connects_per_request() {
        let pki = mint(&["127.0.0.1"]);
        let (addr, connections) = counting_server(Some(&pki), Behaviour::Answer).await;
        get_many(&sender(addr, Some(&pki.ca_pem)), addr, 3).await;
        assert_eq!(connections.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn pooled_sender_survives_the_server_closing_connections() {
        let pki = mint(&["127.0.0.1"]);
        let (addr, connections) = counting_server(Some(&pki), Behaviour::AnswerThenClose).await;
        let pooled = sender(addr, Some(&pki.ca_pem)).with_pool(Arc::new(ConnectionPool::new()));
        let bodies = get_many(&pooled, addr, 3).await;
        assert_eq!(bodies, ["hello /0", "hello /1", "hello /2"]);
        assert_eq!(connections.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn stalled_body_is_a_read_timeout_within_the_between_bytes_timeout() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // Plain HTTP: answers the head and 3 of 10 body bytes, then stalls.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = tcp.read(&mut buf).await;
            let head = "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc";
            tcp.write_all(head.as_bytes()).await.unwrap();
            tokio::time::sleep(Duration::from_secs(3600)).await;
        });
        let mut options = options(Duration::from_secs(5)).unwrap();
        options.between_bytes_timeout = Some(Duration::from_millis(300));
        let response = sender(addr, None)
            .send(get(&format!("http://{addr}/")), Some(options))
            .await
            .unwrap();
        let started = Instant::now();
        let err = response.into_body().collect().await.unwrap_err();
        let elapsed = started.elapsed();
        assert!(matches!(err, Error::ConnectionReadTimeout), "{err:?}");
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    }

    #[test]
    fn pem_without_certificates_is_rejected() {
        assert!(client_config_trusting(b"not a pem").is_err());
    }
}
