//! Small misbehaving HTTP servers on 127.0.0.1, for the failures a real apiserver cannot be
//! made to show on demand.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How a fake server answers each request.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// Reads the request, then closes the connection without a word.
    Close,
    /// Reads the request and never answers (the connection stays open).
    Hang,
    /// Answers 200 with a body of this many bytes.
    Huge(usize),
    /// Answers 500 with the request's Authorization header in a plain-text body.
    EchoAuthorization,
    /// Answers this status, `Retry-After` header (if not empty) and body.
    Reply(u16, &'static str, &'static str),
}

/// Starts a plain-http fake server; it runs until the test ends.
pub async fn serve(behaviour: Behaviour) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let held = Arc::new(tokio::sync::Mutex::new(Vec::new()));
        while let Ok((stream, _)) = listener.accept().await {
            let held = held.clone();
            tokio::spawn(async move { answer(stream, behaviour, held).await });
        }
    });
    addr
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
) {
    let head = read_head(&mut stream).await;
    match behaviour {
        Behaviour::Close => drop(stream),
        Behaviour::Hang => held.lock().await.push(stream),
        Behaviour::Huge(n) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {n}\r\n\r\n"
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&vec![b' '; n]).await;
        }
        Behaviour::Reply(code, retry_after, body) => {
            let retry = if retry_after.is_empty() {
                String::new()
            } else {
                format!("retry-after: {retry_after}\r\n")
            };
            let resp = format!(
                "HTTP/1.1 {code} X\r\ncontent-type: text/plain\r\n{retry}content-length: {}\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(resp.as_bytes()).await;
        }
        Behaviour::EchoAuthorization => {
            let auth = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .starts_with("authorization:")
                        .then(|| l[14..].trim().to_owned())
                })
                .unwrap_or_default();
            let body = format!("upstream rejected credentials {auth}");
            let resp = format!(
                "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(resp.as_bytes()).await;
        }
    }
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
