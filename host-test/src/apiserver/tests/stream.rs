//! A raw HTTP/1.1 client over TLS (or plain http to the proxy listener) for watches: it sees
//! the response head and the body's chunk framing byte for byte, and reads events one
//! `\n`-terminated line at a time while the stream stays open.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::client::TlsStream;

use super::*;

/// Far longer than anything the tests wait for; reaching it means the server held on.
pub(super) const NEVER_HANGS: Duration = Duration::from_secs(30);

/// A TLS connection to the server, trusting its CA.
pub(super) async fn tls(server: &ApiServer) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(server.addr()).await.expect("connect");
    let name = ServerName::try_from("127.0.0.1").expect("name");
    connector(Some(&server.ca_pem()))
        .connect(name, tcp)
        .await
        .expect("handshake")
}

/// A connection a watch can run on.
trait Connection: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Connection for T {}

/// One watch request on its own connection.
pub(super) struct RawWatch {
    io: Box<dyn Connection>,
    /// Bytes received after the head, as sent (chunk framing included).
    pub raw: Vec<u8>,
    /// How much of `raw` was decoded into `body`.
    decoded: usize,
    /// The decoded body not yet returned as lines.
    body: Vec<u8>,
    /// Whether the last chunk (`0\r\n\r\n`) arrived.
    pub ended: bool,
}

impl RawWatch {
    /// Sends `GET path` with the test token and reads the response head (status line and
    /// headers), which must come without any event having happened.
    pub async fn open(server: &ApiServer, path: &str) -> (RawWatch, String) {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n",
            server.addr()
        );
        RawWatch::open_on(Box::new(tls(server).await), &request).await
    }

    /// Sends `GET path` to the server's proxy listener, with no token, and reads the response
    /// head, which must come without any event having happened.
    pub async fn open_proxied(server: &ApiServer, path: &str) -> (RawWatch, String) {
        let addr = server.proxy_addr().expect("a proxy listener runs");
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        RawWatch::open_on(Box::new(tcp), &request).await
    }

    /// Sends `method path` with the test token and `body` (JSON) and reads the response head.
    pub async fn request(
        server: &ApiServer,
        method: &str,
        path: &str,
        body: &str,
    ) -> (RawWatch, String) {
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            server.addr(),
            body.len()
        );
        RawWatch::open_on(Box::new(tls(server).await), &request).await
    }

    /// Reads until the server closes the connection; the bytes after the head are in `raw`.
    pub async fn until_closed(&mut self) {
        tokio::time::timeout(NEVER_HANGS, async { while self.read().await {} })
            .await
            .expect("the server closes the connection");
    }

    /// Sends `request` on `io` and reads the response head.
    async fn open_on(mut io: Box<dyn Connection>, request: &str) -> (RawWatch, String) {
        io.write_all(request.as_bytes()).await.expect("send");
        io.flush().await.expect("flush");
        let mut watch = RawWatch {
            io,
            raw: Vec::new(),
            decoded: 0,
            body: Vec::new(),
            ended: false,
        };
        let head = tokio::time::timeout(NEVER_HANGS, async {
            loop {
                if let Some(end) = find(&watch.raw, b"\r\n\r\n") {
                    let head = String::from_utf8(watch.raw[..end + 4].to_vec()).expect("utf-8");
                    watch.raw.drain(..end + 4);
                    return head;
                }
                assert!(watch.read().await, "closed before the head");
            }
        })
        .await
        .expect("the head arrives before any event");
        (watch, head)
    }

    /// Reads more bytes; false when the connection closed.
    async fn read(&mut self) -> bool {
        let mut buf = [0u8; 8192];
        match self.io.read(&mut buf).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.raw.extend_from_slice(&buf[..n]);
                true
            }
        }
    }

    /// Decodes the complete chunks received so far.
    fn decode(&mut self) {
        while !self.ended {
            let rest = &self.raw[self.decoded..];
            let Some(eol) = find(rest, b"\r\n") else {
                return;
            };
            let size_text = std::str::from_utf8(&rest[..eol]).expect("chunk size");
            let size = usize::from_str_radix(size_text, 16).expect("hex chunk size");
            if rest.len() < eol + 2 + size + 2 {
                return;
            }
            assert_eq!(&rest[eol + 2 + size..eol + 4 + size], b"\r\n", "chunk end");
            self.body.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            self.decoded += eol + 4 + size;
            self.ended = size == 0;
        }
    }

    /// The next event line (with its `\n`), or `None` once the stream ended.
    pub async fn next_line(&mut self) -> Option<String> {
        tokio::time::timeout(NEVER_HANGS, async {
            loop {
                self.decode();
                if let Some(nl) = self.body.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = self.body.drain(..=nl).collect();
                    return Some(String::from_utf8(line).expect("utf-8"));
                }
                if self.ended || !self.read().await {
                    assert!(self.body.is_empty(), "a partial line at the end");
                    return None;
                }
            }
        })
        .await
        .expect("the next event or the end arrives")
    }

    /// Every remaining event line, up to the end of the stream.
    pub async fn rest(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Some(line) = self.next_line().await {
            lines.push(line);
        }
        assert!(self.ended, "the body ends with the last chunk, not a cut");
        lines
    }
}

/// Where `needle` first occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The value of header `name` in a response head (names compared case-insensitively).
pub(super) fn head_header<'a>(head: &'a str, name: &str) -> Vec<&'a str> {
    head.split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .collect()
}
