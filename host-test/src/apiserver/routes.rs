//! The HTTP side: the accept loop (TLS, or plain http in front as `kubectl proxy`), one hyper
//! HTTP/1.1 connection per client, and the request pipeline: authenticate (on the headers
//! alone), read body, record, authorize, route, reply.
//!
//! The pipeline is one plain function ([`dispatch`]) from a fully read [`Req`] to a [`Reply`],
//! so fault injection (a hook before `dispatch`) slots in without touching the handlers. Both
//! listeners share the accept loop and the pipeline; they differ only in the transport and in
//! who a caller is ([`Front`]). Slow clients are cut off: the TLS handshake and each request's
//! headers must arrive within the [`Limits`].

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
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::exchange::{Query, Reply, Req};
use super::fault_wire::{self, Cut, Served};
use super::faults::{self, Fault, Target};
use super::limits::{Limits, push_bounded};
use super::proxy_listener::accepts_host;
use super::selectors::FieldSelector;
use super::status::{GROUP, Status};
use super::tls::Serving;
use super::{Identity, RequestRecord, Shared, discovery, handlers, lock, watch_options};

/// The request body limit kube-apiserver applies (3 MiB).
const MAX_BODY: usize = 3 * 1024 * 1024;

/// How a listener's connections reach the pipeline, and who their callers are.
#[derive(Clone)]
pub(crate) enum Front {
    /// HTTPS (with the certificate being served when a connection comes in); a caller is
    /// whom its bearer token authenticates as.
    Tls(Arc<Serving>),
    /// Plain http, as a `kubectl proxy` in front of the server: only a local `Host` passes,
    /// and a request without an `Authorization` header is served as this identity (one with
    /// the header is passed on as it is, as kubectl proxy's bearer-token transport does).
    Proxy(Arc<Identity>),
}

/// Accepts TCP connections and serves each on its own task: for [`Front::Tls`] after the TLS
/// handshake (within the TLS-accept timeout). The connections live as long as the loop: when
/// it is aborted, the port closes and the open connections are cut, as when a server stops.
pub(crate) async fn accept_loop(listener: TcpListener, front: Front, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => {
                    // As Go's net/http (the real apiserver's) does for every TCP connection:
                    // without it, a watch event written in pieces waits on the client's
                    // delayed ACK (Nagle), tens of ms per event.
                    let _ = tcp.set_nodelay(true);
                    tcp
                }
                Err(_) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
            // Reap finished connections so the set holds only open ones.
            Some(_) = connections.join_next() => continue,
        };
        let front = front.clone();
        let shared = Arc::clone(&shared);
        connections.spawn(async move {
            match front {
                Front::Tls(serving) => {
                    // A failed or stalled handshake (a client that does not trust the CA, or
                    // one that sends nothing) just ends here, closing the socket.
                    let handshake = serving.acceptor().accept(tcp);
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(shared.limits.tls_accept_timeout, handshake).await
                    {
                        serve_connection(tls, shared, None).await;
                    }
                }
                Front::Proxy(identity) => serve_connection(tcp, shared, Some(identity)).await,
            }
        });
    }
}

/// Serves HTTP/1.1 requests on one established connection (TLS, or plain behind a proxy
/// identity); a client that does not send a request's headers within the header-read timeout
/// is disconnected.
/// A fault may close the connection (dropping it, and whatever reply is under way).
async fn serve_connection<I>(io: I, shared: Arc<Shared>, proxy: Option<Arc<Identity>>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits: Limits = shared.limits.clone();
    let cut = Cut::default();
    let closer = cut.clone();
    let svc = service_fn(move |req| {
        let shared = Arc::clone(&shared);
        let proxy = proxy.clone();
        let cut = cut.clone();
        async move { Ok::<_, Infallible>(handle(shared, proxy.as_deref(), req, &cut).await) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(TokioIo::new(io), svc);
    tokio::select! {
        _ = connection => {}
        () = closer.fired() => {}
    }
}

/// Response bodies: whole, or streamed.
pub(crate) type ResponseBody = BoxBody<Bytes, Infallible>;

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

fn header(parts: &http::request::Parts, name: http::header::HeaderName) -> Option<String> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The identity an `Authorization: Bearer …` header authenticates as.
fn authenticate(shared: &Shared, authorization: Option<&str>) -> Option<Identity> {
    let token = authorization.and_then(|h| {
        let (scheme, rest) = h.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
    })?;
    lock(&shared.tokens).get(token).cloned()
}

/// Reads a body up to [`MAX_BODY`].
async fn read_body(body: Incoming) -> Result<Bytes, Status> {
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(_) => Err(Status {
            http: 413,
            status: "Failure",
            message: format!("Request entity too large: limit is {MAX_BODY}"),
            reason: "RequestEntityTooLarge",
            details: None,
            code: 413,
            retry_after: None,
        }),
    }
}

/// The `Host` a request names: the request target's authority, else the `Host` header.
fn request_host(parts: &http::request::Parts) -> Option<String> {
    match parts.uri.authority() {
        Some(authority) => Some(authority.as_str().to_owned()),
        None => header(parts, http::header::HOST),
    }
}

/// What `kubectl proxy` answers a request it filters out (its Go `http.Error`): it never
/// reaches the apiserver, so it carries none of the apiserver's headers and is not recorded.
fn proxy_forbidden() -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::from_static(b"Forbidden\n")).boxed());
    *response.status_mut() = http::StatusCode::FORBIDDEN;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Authenticates on the headers, then reads the body, runs the pipeline, records the exchange
/// and builds the response. An unauthenticated request's body is never read. Behind a proxy
/// identity, a non-local `Host` is refused first, and a request without credentials is the
/// proxy's.
async fn handle(
    shared: Arc<Shared>,
    proxy: Option<&Identity>,
    req: Request<Incoming>,
    cut: &Cut,
) -> Response<ResponseBody> {
    let (parts, body) = req.into_parts();
    if proxy.is_some() && !request_host(&parts).is_some_and(|h| accepts_host(&h)) {
        return proxy_forbidden();
    }
    let content_type = header(&parts, http::header::CONTENT_TYPE);
    let accept = header(&parts, http::header::ACCEPT);
    let user_agent = header(&parts, http::header::USER_AGENT);
    let authorization = header(&parts, http::header::AUTHORIZATION);
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();

    let identity = match (proxy, &authorization) {
        (Some(identity), None) => Some(identity.clone()),
        _ => authenticate(&shared, authorization.as_deref()),
    };
    let user = identity.as_ref().map(|i| i.user.clone());
    let refused = |status: Status| (Served::Reply(status.into()), Bytes::new(), None);
    let (served, body, fault) = match identity {
        None => refused(Status::unauthorized()),
        Some(identity) => match read_body(body).await {
            Err(too_large) => refused(too_large),
            Ok(bytes) => {
                let mut req = Req {
                    method: parts.method.clone(),
                    path: parts.uri.path().to_owned(),
                    query: Query::parse(parts.uri.query()),
                    content_type: content_type.clone(),
                    accept: accept.clone(),
                    user_agent: user_agent.clone(),
                    body: bytes.clone(),
                    user: identity.user.clone(),
                    cut_watch: false,
                };
                let fault = fault_target(&req, |target| faults::pick(&shared, target));
                let served = fault_wire::serve(&shared, &mut req, &identity, fault.as_ref());
                (served, bytes, fault)
            }
        },
    };

    let record = RequestRecord {
        method: parts.method.to_string(),
        path_and_query,
        content_type,
        accept,
        user_agent,
        has_authorization: authorization.is_some(),
        user,
        body: body.to_vec(),
        status: served.status(),
        fault: fault.as_ref().map(Fault::kind),
    };
    push_bounded(
        &mut lock(&shared.requests),
        record,
        shared.limits.request_log_window,
    );
    served.respond(cut).await
}

/// The hyper response for a reply, with the headers every kube-apiserver response carries.
pub(crate) fn response(reply: Reply) -> Response<ResponseBody> {
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

/// Where a request goes: a Lease verb on a route, a failure before any, or elsewhere
/// (discovery).
enum Routed<'a> {
    Lease(LeaseRoute<'a>, &'static str),
    Refused(Status),
    Elsewhere,
}

/// Routes a request (`path` is its path without a trailing slash).
fn route<'a>(req: &Req, path: &'a str) -> Routed<'a> {
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    const GV: [&str; 3] = ["apis", GROUP, "v1"];
    if segs.len() < 3 || segs[..3] != GV {
        return Routed::Elsewhere;
    }
    let route = match segs[3..] {
        [] => return Routed::Elsewhere,
        ["leases"] => LeaseRoute::new("", ""),
        ["namespaces", ns, "leases"] => LeaseRoute::new(ns, ""),
        ["namespaces", ns, "leases", name] => LeaseRoute::new(ns, name),
        // Deprecated since 1.11 and still served: always a watch, `{name}` the selector.
        ["watch", "leases"] => LeaseRoute::watch("", ""),
        ["watch", "namespaces", ns, "leases"] => LeaseRoute::watch(ns, ""),
        ["watch", "namespaces", ns, "leases", name] => LeaseRoute::watch(ns, name),
        _ => return Routed::Refused(Status::path_not_found()),
    };
    match route.verb(&req.method, &req.query) {
        Some(verb) => Routed::Lease(route, verb),
        None => Routed::Refused(Status::method_not_allowed()),
    }
}

/// The one name a list or watch selects by `fieldSelector` (a plain name only).
fn selected_name(req: &Req) -> Option<String> {
    FieldSelector::parse_syntax(req.query.get("fieldSelector").unwrap_or_default())
        .ok()
        .and_then(|f| f.exact_name().map(str::to_owned))
        .filter(|n| !n.is_empty() && !n.contains('/'))
}

/// Runs `pick` on what a Lease API request is (verb, and the lease its path or field selector
/// names); other requests get no fault.
fn fault_target(req: &Req, pick: impl FnOnce(&Target<'_>) -> Option<Fault>) -> Option<Fault> {
    let path = req.path.trim_end_matches('/');
    let Routed::Lease(route, verb) = route(req, path) else {
        return None;
    };
    let selected = selected_name(req).filter(|_| route.name.is_empty());
    let name = selected.as_deref().unwrap_or(route.name);
    pick(&Target { verb, name })
}

/// Authorizes and routes one authenticated request.
pub(crate) fn dispatch(shared: &Arc<Shared>, req: &Req, identity: &Identity) -> Reply {
    let path = req.path.trim_end_matches('/').to_owned();
    let (route, verb) = match route(req, &path) {
        Routed::Lease(route, verb) => (route, verb),
        Routed::Refused(status) => return status.into(),
        Routed::Elsewhere => return discovery::get(req, &path),
    };
    let allowed = identity.namespaces.as_ref().is_none_or(|list| {
        !route.namespace.is_empty() && list.iter().any(|n| n == route.namespace)
    });
    if !allowed {
        // A list or watch selecting one name is authorized (and refused) for that name.
        let selected = selected_name(req).filter(|_| route.name.is_empty());
        let name = selected.as_deref().unwrap_or(route.name);
        return Status::forbidden(&identity.user, verb, route.namespace, name).into();
    }
    handlers::lease(shared, req, verb, route.namespace, route.name)
}

/// A lease resource path.
struct LeaseRoute<'a> {
    namespace: &'a str,
    name: &'a str,
    /// A `/watch/` path: GET always watches.
    watch_path: bool,
}

impl<'a> LeaseRoute<'a> {
    fn new(namespace: &'a str, name: &'a str) -> Self {
        LeaseRoute {
            namespace,
            name,
            watch_path: false,
        }
    }

    fn watch(namespace: &'a str, name: &'a str) -> Self {
        LeaseRoute {
            namespace,
            name,
            watch_path: true,
        }
    }

    /// The authorization verb for `method` here, or `None` when the method is not allowed.
    /// `watch` is true unless `0` or `false` (any case); on the item path it changes nothing.
    fn verb(&self, method: &Method, query: &Query) -> Option<&'static str> {
        if self.watch_path {
            return (method == Method::GET).then_some("watch");
        }
        let watch = query.get("watch").is_some_and(watch_options::query_bool);
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
