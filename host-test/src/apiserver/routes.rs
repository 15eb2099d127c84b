//! The HTTP side: the TLS accept loop, one hyper HTTP/1.1 connection per client, and the
//! request pipeline: read body, record, authenticate, authorize, route, reply.
//!
//! The pipeline is one plain function ([`dispatch`]) from a fully read [`Req`] to a [`Reply`],
//! so fault injection (a hook before `dispatch`) and a plain-http listener (another caller of
//! [`serve_connection`]) slot in without touching the handlers.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

use super::status::{GROUP, Status};
use super::{RequestRecord, Shared, discovery, handlers, lock};

/// The request body limit kube-apiserver applies (3 MiB).
const MAX_BODY: usize = 3 * 1024 * 1024;

/// Accepts TCP connections, completes TLS, and serves each connection on its own task.
pub(crate) async fn accept_loop(listener: TcpListener, acceptor: TlsAcceptor, shared: Arc<Shared>) {
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(_) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            // A failed handshake (e.g. a client that does not trust the CA) just ends here.
            if let Ok(tls) = acceptor.accept(tcp).await {
                serve_connection(tls, shared).await;
            }
        });
    }
}

/// Serves HTTP/1.1 requests on one established connection (TLS or plain).
pub(crate) async fn serve_connection<I>(io: I, shared: Arc<Shared>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(handle(shared, req).await) }
    });
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(io), svc)
        .await;
}

/// A request with its body read, and the authenticated user once known.
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub query: Query,
    pub content_type: Option<String>,
    pub accept: Option<String>,
    pub body: Bytes,
    pub user: String,
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

/// Response bodies: whole, or streamed.
type ResponseBody = BoxBody<Bytes, Infallible>;

/// A body fed by a channel; ends when the sender is dropped.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(Frame::data(b))))
    }
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
    fn parse(raw: Option<&str>) -> Query {
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

fn header(parts: &http::request::Parts, name: http::header::HeaderName) -> Option<String> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Reads the request, runs the pipeline, records the exchange, builds the response.
async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<ResponseBody> {
    let (parts, body) = req.into_parts();
    let content_type = header(&parts, http::header::CONTENT_TYPE);
    let accept = header(&parts, http::header::ACCEPT);
    let user_agent = header(&parts, http::header::USER_AGENT);
    let authorization = header(&parts, http::header::AUTHORIZATION);
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let body = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map(|b| b.to_bytes());

    let reply = match &body {
        Err(_) => Reply::status(&Status {
            http: 413,
            status: "Failure",
            message: format!("Request entity too large: limit is {MAX_BODY}"),
            reason: "RequestEntityTooLarge",
            details: None,
            code: 413,
            retry_after: None,
        }),
        Ok(bytes) => {
            let mut req = Req {
                method: parts.method.clone(),
                path: parts.uri.path().to_owned(),
                query: Query::parse(parts.uri.query()),
                content_type: content_type.clone(),
                accept: accept.clone(),
                body: bytes.clone(),
                user: String::new(),
            };
            dispatch(&shared, &mut req, authorization.as_deref())
        }
    };

    lock(&shared.requests).push(RequestRecord {
        method: parts.method.to_string(),
        path_and_query,
        content_type,
        accept,
        user_agent,
        has_authorization: authorization.is_some(),
        body: body.map(|b| b.to_vec()).unwrap_or_default(),
        status: reply.code,
    });

    let body = match reply.stream {
        Some(rx) => ChannelBody(rx).boxed(),
        None => Full::new(Bytes::from(reply.body)).boxed(),
    };
    let mut response = Response::new(body);
    *response.status_mut() =
        http::StatusCode::from_u16(reply.code).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("audit-id", v);
    }
    for (name, value) in reply.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.append(name, v);
        }
    }
    response
}

/// Authenticates, authorizes and routes one request.
pub(crate) fn dispatch(shared: &Arc<Shared>, req: &mut Req, authorization: Option<&str>) -> Reply {
    let token = authorization.and_then(|h| {
        let (scheme, rest) = h.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
    });
    let identity = token.and_then(|t| lock(&shared.tokens).get(t).cloned());
    let Some(identity) = identity else {
        return Status::unauthorized().into();
    };
    req.user = identity.user.clone();

    let path = req.path.trim_end_matches('/').to_owned();
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    const GV: [&str; 3] = ["apis", GROUP, "v1"];
    if segs.len() >= 3 && segs[..3] == GV {
        let rest = &segs[3..];
        let route = match rest {
            [] => return discovery::get(req, &path),
            ["leases"] => LeaseRoute {
                namespace: "",
                name: "",
            },
            ["namespaces", ns, "leases"] => LeaseRoute {
                namespace: ns,
                name: "",
            },
            ["namespaces", ns, "leases", name] => LeaseRoute {
                namespace: ns,
                name,
            },
            _ => return Status::path_not_found().into(),
        };
        let Some(verb) = route.verb(&req.method, &req.query) else {
            return Status::method_not_allowed().into();
        };
        let allowed = identity.namespaces.as_ref().is_none_or(|list| {
            !route.namespace.is_empty() && list.iter().any(|n| n == route.namespace)
        });
        if !allowed {
            return Status::forbidden(&identity.user, verb, route.namespace, route.name).into();
        }
        return handlers::lease(shared, req, verb, route.namespace, route.name);
    }
    discovery::get(req, &path)
}

/// A lease resource path.
struct LeaseRoute<'a> {
    namespace: &'a str,
    name: &'a str,
}

impl LeaseRoute<'_> {
    /// The authorization verb for `method` here, or `None` when the method is not allowed.
    fn verb(&self, method: &Method, query: &Query) -> Option<&'static str> {
        let watch = matches!(query.get("watch"), Some("true" | "1"));
        let named = !self.name.is_empty();
        let namespaced = !self.namespace.is_empty();
        Some(match (method.as_str(), named) {
            ("GET", true) => "get",
            ("GET", false) if watch => "watch",
            ("GET", false) => "list",
            ("POST", false) if namespaced => "create",
            ("PUT", true) => "update",
            ("PATCH", true) => "patch",
            ("DELETE", true) => "delete",
            _ => return None,
        })
    }
}
