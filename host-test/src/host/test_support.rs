//! Test fixtures: a freshly minted CA with a server certificate, and a tiny HTTP(S) server on
//! 127.0.0.1:0 that answers, serves a Lease, or stays silent.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use wasmtime_wasi_http::io::TokioIo;

/// A CA and a server certificate it signed.
pub(crate) struct Pki {
    /// The CA certificate, PEM.
    pub(crate) ca_pem: String,
    /// The server certificate chain.
    chain: Vec<CertificateDer<'static>>,
    /// The server key.
    key: PrivateKeyDer<'static>,
}

/// Mints a fresh CA and a server certificate for `sans`.
pub(crate) fn mint(sans: &[&str]) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
    let server = CertificateParams::new(sans)
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        chain: vec![server.der().clone()],
        key: PrivatePkcs8KeyDer::from(server_key.serialize_der()).into(),
    }
}

/// How the test server behaves.
#[derive(Clone, Copy)]
pub(crate) enum Behaviour {
    /// Answers 200 with `hello <path>`.
    Answer,
    /// As `Answer`, then closes the connection.
    AnswerThenClose,
    /// Completes the handshakes, reads the request and never answers.
    Silent,
    /// Answers 200 with a Lease named after the last path segment, in namespace `default`,
    /// annotated `seen-authorization` with the request's `authorization` header (or `-`).
    Lease,
}

/// Starts a server on 127.0.0.1:0, HTTPS when `pki` is given, and returns its address.
pub(crate) async fn server(pki: Option<&Pki>, behaviour: Behaviour) -> SocketAddr {
    counting_server(pki, behaviour).await.0
}

/// What a test server saw of its connections.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    /// TCP connections accepted.
    accepted: AtomicUsize,
    /// Connections that ended (the client closed them, or the server did).
    closed: AtomicUsize,
}

impl Connections {
    /// TCP connections accepted so far.
    pub(crate) fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Waits until `count` connections have ended; panics after a generous deadline, so that a
    /// connection left open fails the test instead of hanging it.
    pub(crate) async fn wait_closed(&self, count: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while self.closed.load(Ordering::SeqCst) < count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} of {count} connections closed",
                self.closed.load(Ordering::SeqCst)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// [`server`], also counting the connections it accepted and saw end.
pub(crate) async fn counting_server(
    pki: Option<&Pki>,
    behaviour: Behaviour,
) -> (SocketAddr, Arc<Connections>) {
    let connections = Arc::new(Connections::default());
    let seen = connections.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = pki.map(|pki| {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), pki.key.clone_key())
        .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    });
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            seen.accepted.fetch_add(1, Ordering::SeqCst);
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                match acceptor {
                    Some(acceptor) => {
                        if let Ok(tls) = acceptor.accept(tcp).await {
                            serve(tls, behaviour).await;
                        }
                    }
                    None => serve(tcp, behaviour).await,
                }
                seen.closed.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    (addr, connections)
}

/// Serves HTTP/1.1 on one connection.
async fn serve<T>(io: T, behaviour: Behaviour)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let service =
        hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| async move {
            if matches!(behaviour, Behaviour::Silent) {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            let body = match behaviour {
                Behaviour::Lease => {
                    let name = req.uri().path().rsplit('/').next().unwrap_or("");
                    let authorization = req
                        .headers()
                        .get(http::header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    lease_json(name, authorization)
                }
                _ => format!("hello {}", req.uri()),
            };
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
        });
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(!matches!(behaviour, Behaviour::AnswerThenClose))
        .serve_connection(TokioIo::new(io), service)
        .await;
}

/// A minimal Lease object as the apiserver serializes it.
fn lease_json(name: &str, authorization: &str) -> String {
    serde_json::json!({
        "kind": "Lease",
        "apiVersion": "coordination.k8s.io/v1",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": "8d5b2c1e-0000-4000-8000-000000000001",
            "resourceVersion": "42",
            "creationTimestamp": "2026-11-28T11:00:00Z",
            "annotations": { "seen-authorization": authorization },
        },
        "spec": {
            "holderIdentity": "replica-a",
            "leaseDurationSeconds": 15,
            "renewTime": "2026-11-28T11:00:01.123456Z",
        },
    })
    .to_string()
}
