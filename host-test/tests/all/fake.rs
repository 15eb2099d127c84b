//! Small misbehaving HTTP servers on 127.0.0.1, for the failures a real apiserver cannot be
//! made to show on demand.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How a fake server answers each request.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// Reads the request, then closes the connection without a word.
    Close,
    /// Reads the request head and never answers nor reads the body (the connection stays open).
    Hang,
    /// Answers 200 with a body of this many bytes.
    Huge(usize),
    /// Answers this status and `Retry-After` (if not empty) with an HTML page of this many
    /// bytes, as a load balancer does.
    Page(u16, &'static str, usize),
    /// Answers 500 with the request's Authorization header in a plain-text body.
    EchoAuthorization,
    /// Answers this status with the request's Authorization header (or a part of it) echoed
    /// as `Echo` says.
    EchoInto(u16, Echo),
    /// Answers this status, `Retry-After` header (if not empty) and body.
    Reply(u16, &'static str, &'static str),
    /// A lease held by someone else for an hour; a watch of it streams one event that is not
    /// a Lease, with the request's Authorization header as its `metadata`.
    WatchEcho,
}

/// Where and how much of the Authorization header an echoing server puts in its answer.
#[derive(Clone, Copy, Debug)]
pub enum Echo {
    /// All of it, in a Status's message, reason and cause.
    Status,
    /// The token's first this many characters, in a Status message.
    StatusPrefix(usize),
    /// The token's last this many characters, in a Status message.
    StatusSuffix(usize),
    /// All of it as a Lease's `metadata`, a value of the wrong type.
    Lease,
    /// All of it in a plain-text page.
    Text,
}

impl Echo {
    /// The answer's content type and body for the request header `auth`.
    fn body(self, code: u16, auth: &str) -> (&'static str, String) {
        let token = auth.strip_prefix("Bearer ").unwrap_or(auth);
        let status = |message: String, cause: &str| {
            let status = serde_json::json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": "Unauthorized", "code": code,
                "details": {"causes": [{"reason": cause, "message": cause, "field": cause}]},
            });
            ("application/json", status.to_string())
        };
        let cut = |n: usize| token.len().min(n);
        match self {
            Self::Status => status(format!("credentials {auth} rejected"), auth),
            Self::StatusPrefix(n) => status(format!("token {}... rejected", &token[..cut(n)]), ""),
            Self::StatusSuffix(n) => {
                let tail = &token[token.len() - cut(n)..];
                status(format!("token ...{tail} rejected"), "")
            }
            Self::Lease => {
                let lease = serde_json::json!({"apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease", "metadata": auth});
                ("application/json", lease.to_string())
            }
            Self::Text => ("text/plain", format!("credentials {auth} rejected")),
        }
    }
}

/// One request as a fake server read it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The request line and headers, up to the blank line.
    pub head: String,
    /// The body, `Content-Length` bytes of it (Hang reads none).
    pub body: Vec<u8>,
}

/// Starts a plain-http fake server; it runs until the test ends.
pub async fn serve(behaviour: Behaviour) -> SocketAddr {
    serve_recording(behaviour).await.0
}

/// Starts a plain-http fake server that also keeps every request it reads.
pub async fn serve_recording(behaviour: Behaviour) -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let held = Arc::new(tokio::sync::Mutex::new(Vec::new()));
        while let Ok((stream, _)) = listener.accept().await {
            let (held, log) = (held.clone(), log.clone());
            tokio::spawn(async move { answer(stream, behaviour, held, log).await });
        }
    });
    (addr, seen)
}

/// A listener that accepts TCP connections and only counts them (holding each open).
pub async fn counting_listener() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    (addr, accepted)
}

async fn answer(
    mut stream: TcpStream,
    behaviour: Behaviour,
    held: Arc<tokio::sync::Mutex<Vec<TcpStream>>>,
    log: Arc<Mutex<Vec<Seen>>>,
) {
    let head = read_head(&mut stream).await;
    if let Behaviour::Hang = behaviour {
        log.lock().unwrap().push(Seen {
            head,
            body: Vec::new(),
        });
        held.lock().await.push(stream);
        return;
    }
    let body = read_body(&mut stream, &head).await;
    log.lock().unwrap().push(Seen {
        head: head.clone(),
        body,
    });
    match behaviour {
        Behaviour::Close | Behaviour::Hang => drop(stream),
        Behaviour::Huge(n) => {
            respond(&mut stream, 200, "application/json", "", &vec![b' '; n]).await;
        }
        Behaviour::Page(code, retry_after, n) => {
            let page = format!("<html><body>{}</body></html>", "x".repeat(n));
            respond(&mut stream, code, "text/html", retry_after, page.as_bytes()).await;
        }
        Behaviour::Reply(code, retry_after, body) => {
            respond(
                &mut stream,
                code,
                "text/plain",
                retry_after,
                body.as_bytes(),
            )
            .await;
        }
        Behaviour::EchoInto(code, echo) => {
            let auth = header(&head, "authorization").unwrap_or_default();
            let (content_type, body) = echo.body(code, auth);
            respond(&mut stream, code, content_type, "", body.as_bytes()).await;
        }
        Behaviour::WatchEcho => {
            let auth = header(&head, "authorization").unwrap_or_default();
            let body = if head.contains("watch=") {
                let event = serde_json::json!({"type": "MODIFIED", "object": {"metadata": auth}});
                format!("{event}\n")
            } else {
                held_lease()
            };
            respond(&mut stream, 200, "application/json", "", body.as_bytes()).await;
        }
        Behaviour::EchoAuthorization => {
            let auth = header(&head, "authorization").unwrap_or_default();
            let body = format!("upstream rejected credentials {auth}");
            respond(&mut stream, 500, "text/plain", "", body.as_bytes()).await;
        }
    }
}

/// A Lease `l` held by `someone-else`, renewed now for an hour.
fn held_lease() -> String {
    let micro = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    let now = time::OffsetDateTime::now_utc().format(&micro).unwrap();
    serde_json::json!({
        "kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
        "metadata": {"name": "l", "namespace": "default", "resourceVersion": "7", "uid": "u"},
        "spec": {"holderIdentity": "someone-else", "leaseDurationSeconds": 3600,
                 "acquireTime": now, "renewTime": now, "leaseTransitions": 0}
    })
    .to_string()
}

/// Writes one response: status, content type, `Retry-After` (if not empty) and body.
async fn respond(
    stream: &mut TcpStream,
    code: u16,
    content_type: &str,
    retry_after: &str,
    body: &[u8],
) {
    let retry = if retry_after.is_empty() {
        String::new()
    } else {
        format!("retry-after: {retry_after}\r\n")
    };
    let head = format!(
        "HTTP/1.1 {code} X\r\ncontent-type: {content_type}\r\n{retry}content-length: {}\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body).await;
}

/// The request head (up to the blank line); the body, if any, is left unread.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => buf.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// The value of header `name` (lower case) in a request head.
pub fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The `Content-Length` bytes of body after `head` (none without the header).
async fn read_body(stream: &mut TcpStream, head: &str) -> Vec<u8> {
    let len = header(head, "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = stream.read_exact(&mut body).await;
    body
}
