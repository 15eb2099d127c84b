//! End-to-end tests of the emulator over real TLS: each test starts its own server and talks to
//! it with a small rustls + hyper client that trusts only the server's CA.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::{ApiServer, Limits, Options, Verb};

const NS: &str = "default";
const TOKEN: &str = "test-token";
const USER: &str = "system:serviceaccount:default:replica-1";
const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/default/leases";

/// A response: code, headers, body text.
struct Resp {
    code: u16,
    headers: HeaderMap,
    body: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The body without Go's trailing newline (which every JSON response has).
    fn text(&self) -> &str {
        assert!(
            self.body.ends_with('\n'),
            "no trailing newline: {:?}",
            self.body
        );
        self.body.trim_end_matches('\n')
    }
}

/// A test client for one server: over TLS, or plain http to its proxy listener.
struct Client {
    addr: std::net::SocketAddr,
    /// `None`: plain http.
    connector: Option<TlsConnector>,
    token: Option<String>,
}

fn connector(trusted_pem: Option<&str>) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = trusted_pem {
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(cert.expect("pem")).expect("add root");
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

impl Client {
    fn new(server: &ApiServer, token: Option<&str>) -> Client {
        Client {
            addr: server.addr(),
            connector: Some(connector(Some(&server.ca_pem()))),
            token: token.map(str::to_owned),
        }
    }

    /// A plain-http client of the server's proxy listener, sending `token` if any.
    fn proxied(server: &ApiServer, token: Option<&str>) -> Client {
        Client {
            addr: server.proxy_addr().expect("a proxy listener runs"),
            connector: None,
            token: token.map(str::to_owned),
        }
    }

    /// Sends one request on a fresh connection; `Host` is the server's address unless
    /// `headers` name one.
    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> anyhow::Result<Resp> {
        let tcp = TcpStream::connect(self.addr).await?;
        let mut sender = match &self.connector {
            Some(connector) => {
                let name = ServerName::try_from("127.0.0.1")?;
                http1(connector.connect(name, tcp).await?).await?
            }
            None => http1(tcp).await?,
        };
        let mut req = Request::builder().method(method).uri(path);
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            req = req.header("host", self.addr.to_string());
        }
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::from(body.to_owned())))?;
        let resp = sender.send_request(req).await?;
        let code = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok(Resp {
            code,
            headers,
            body: String::from_utf8(body.to_vec())?,
        })
    }

    async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, &[], "").await.expect("get")
    }

    async fn post(&self, path: &str, body: &str) -> Resp {
        self.send(
            Method::POST,
            path,
            &[("content-type", "application/json")],
            body,
        )
        .await
        .expect("post")
    }

    async fn put(&self, path: &str, body: &str) -> Resp {
        self.send(
            Method::PUT,
            path,
            &[("content-type", "application/json")],
            body,
        )
        .await
        .expect("put")
    }

    async fn delete(&self, path: &str, body: &str) -> Resp {
        self.send(
            Method::DELETE,
            path,
            &[("content-type", "application/json")],
            body,
        )
        .await
        .expect("delete")
    }
}

/// An HTTP/1.1 connection on `io`, driven on its own task.
async fn http1<I>(io: I) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn server(options: Options) -> (ApiServer, Client) {
    server_with(options, Limits::default()).await
}

/// A server with `limits`, and a client with a token it accepts.
async fn server_with(options: Options, limits: Limits) -> (ApiServer, Client) {
    let server = ApiServer::start_with_limits(options, limits)
        .await
        .expect("start");
    server.add_token(TOKEN, USER, None);
    let client = Client::new(&server, Some(TOKEN));
    (server, client)
}

/// A client as `system:serviceaccount:ns:sa`, whose token may use namespace `ns` only.
fn narrow_client(server: &ApiServer) -> Client {
    server.add_token(
        "narrow",
        "system:serviceaccount:ns:sa",
        Some(vec!["ns".into()]),
    );
    Client::new(server, Some("narrow"))
}

fn lease_body(name: &str, spec: &str) -> String {
    format!(
        r#"{{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{{"name":"{name}"}},"spec":{spec}}}"#
    )
}

const SPEC: &str = r#"{"holderIdentity":"a","leaseDurationSeconds":15,"acquireTime":"2025-03-01T12:00:00.000000Z","renewTime":"2025-03-01T12:00:00.000000Z","leaseTransitions":0}"#;

/// Creates lease `name` and returns its JSON.
async fn create(c: &Client, name: &str) -> Value {
    let r = c.post(LEASES, &lease_body(name, SPEC)).await;
    assert_eq!(r.code, 201, "{}", r.body);
    r.json()
}

fn rv(v: &Value) -> String {
    v["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .to_owned()
}

fn uid(v: &Value) -> String {
    v["metadata"]["uid"].as_str().expect("uid").to_owned()
}

/// `TYPE name` for each line of a watch stream.
fn events(body: &str) -> Vec<String> {
    body.lines()
        .map(|l| {
            let e: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            let name = e["object"]["metadata"]["name"].as_str().expect("name");
            format!("{} {name}", e["type"].as_str().expect("type"))
        })
        .collect()
}

/// A stored item as the server serializes it.
fn gojson_item(v: &Value) -> String {
    super::gojson::to_string(v)
}

mod access;
mod apply;
mod faults;
mod faults_conn;
mod faults_watch;
mod files;
mod history;
mod lease_manager;
mod peers;
mod proxy;
mod reads;
mod restart;
mod slow_clients;
mod stream;
mod watch_events;
mod watch_protocol;
mod writes;
