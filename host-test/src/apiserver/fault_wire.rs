//! How a fired fault reaches the wire: which ones replace the reply (the write is not
//! applied), which ones let the request be dispatched and then mangle or drop its reply, and
//! the bodies and connection cuts that do it.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};
use tokio::sync::{Notify, mpsc};

use super::exchange::{Reply, Req};
use super::faults::Fault;
use super::routes::{self, ResponseBody, response};
use super::status::Status;
use super::{Identity, Shared, fault_replies, watch};

/// The longest a hanging reply or a silent watch is held before the server gives up on it.
pub(crate) const HANG_LIMIT: Duration = Duration::from_secs(60);

/// A slow body's chunk size.
const SLOW_CHUNK: usize = 16;

/// Closes one connection: its server drops it (and every reply on it) when fired.
#[derive(Clone, Default)]
pub(crate) struct Cut(Arc<Notify>);

impl Cut {
    /// Asks for the connection to be closed.
    pub fn fire(&self) {
        self.0.notify_one();
    }

    /// Resolves once fired.
    pub async fn fired(&self) {
        self.0.notified().await;
    }

    /// Closes the connection; the reply never comes.
    async fn close<T>(&self) -> T {
        self.fire();
        std::future::pending().await
    }
}

/// What a request gets once its fault (if any) is applied.
pub(crate) enum Served {
    /// This reply, as usual.
    Reply(Reply),
    /// This reply dribbled out.
    Slow(Reply, Duration),
    /// This reply's head and half its body (a stream: until it ends), then a cut.
    CutShort(Reply),
    /// 200 and the headers, then nothing.
    Silent,
    /// No reply: the connection is closed.
    Close,
    /// No reply until the client gives up.
    Hang,
}

impl Served {
    /// The status code the request log records (0: no reply was sent).
    pub fn status(&self) -> u16 {
        match self {
            Served::Reply(r) | Served::Slow(r, _) | Served::CutShort(r) => r.code,
            Served::Silent => 200,
            Served::Close | Served::Hang => 0,
        }
    }

    /// Sends it on the connection `cut` closes.
    pub async fn respond(self, cut: &Cut) -> Response<ResponseBody> {
        match self {
            Served::Reply(reply) => response(reply),
            Served::Slow(reply, delay) => response(dribble(reply, delay)),
            Served::CutShort(reply) => cut_short(reply, cut),
            Served::Silent => {
                let silent = Silent(Box::pin(tokio::time::sleep(HANG_LIMIT)));
                response(Reply::json(200, Vec::new())).map(|_| silent.boxed())
            }
            Served::Close => cut.close().await,
            Served::Hang => {
                tokio::time::sleep(HANG_LIMIT).await;
                cut.close().await
            }
        }
    }
}

/// Applies `fault` (if any) to an authenticated request: replaces its reply, or dispatches
/// it and mangles or drops the reply.
pub(crate) fn serve(
    shared: &Arc<Shared>,
    req: &mut Req,
    identity: &Identity,
    fault: Option<&Fault>,
) -> Served {
    let mut dispatch = |cut_watch: bool| {
        req.cut_watch = cut_watch;
        routes::dispatch(shared, req, identity)
    };
    let Some(fault) = fault else {
        return Served::Reply(dispatch(false));
    };
    let status = |s: Status| Served::Reply(s.into());
    match fault {
        Fault::InternalError => status(Status::internal_error()),
        Fault::Unavailable => status(Status::unavailable()),
        Fault::TooManyRequests {
            retry_after_s,
            plain_text: true,
        } => Served::Reply(fault_replies::too_many_requests_text(*retry_after_s)),
        Fault::TooManyRequests { retry_after_s, .. } => {
            status(Status::too_many_requests(*retry_after_s))
        }
        Fault::ServerTimeout => status(Status::server_timeout()),
        Fault::MalformedJson => Served::Reply(fault_replies::malformed_json()),
        Fault::OversizedBody { bytes } => Served::Reply(fault_replies::oversized(*bytes)),
        Fault::ResetBeforeApply => Served::Close,
        Fault::Hang => Served::Hang,
        Fault::WatchSilent => Served::Silent,
        Fault::WatchExpired => Served::Reply(watch::expired_reply(shared, &req.query)),
        Fault::ResetAfterApply => {
            drop(dispatch(false));
            Served::Close
        }
        Fault::SlowBody { chunk_delay_ms } => {
            Served::Slow(dispatch(false), Duration::from_millis(*chunk_delay_ms))
        }
        Fault::CutBody | Fault::WatchCut => {
            let reply = dispatch(true);
            let streams = reply.stream.is_some();
            if streams || reply.body.len() > 1 {
                Served::CutShort(reply)
            } else {
                Served::Reply(reply)
            }
        }
    }
}

/// The reply streamed in [`SLOW_CHUNK`]-byte pieces, each after `delay` (a whole body keeps
/// its `Content-Length`). The feeding task ends when the client goes away.
fn dribble(mut reply: Reply, delay: Duration) -> Reply {
    let whole = Bytes::from(std::mem::take(&mut reply.body));
    let mut source = reply.stream.take();
    if source.is_none() {
        reply
            .headers
            .push(("Content-Length", whole.len().to_string()));
    }
    let (tx, rx) = mpsc::channel::<Bytes>(1);
    tokio::spawn(async move {
        let mut chunk = whole;
        loop {
            while !chunk.is_empty() {
                let piece = chunk.split_to(SLOW_CHUNK.min(chunk.len()));
                tokio::time::sleep(delay).await;
                if tx.send(piece).await.is_err() {
                    return;
                }
            }
            let Some(events) = source.as_mut() else {
                return;
            };
            chunk = tokio::select! {
                next = events.recv() => match next {
                    Some(next) => next,
                    None => return,
                },
                () = tx.closed() => return,
            };
        }
    });
    reply.stream = Some(rx);
    reply
}

/// The head (a whole body's full `Content-Length`) and the first half of the body, or a
/// stream until it ends; then the connection is cut.
fn cut_short(mut reply: Reply, cut: &Cut) -> Response<ResponseBody> {
    if reply.stream.is_none() {
        let mut whole = Bytes::from(std::mem::take(&mut reply.body));
        reply
            .headers
            .push(("Content-Length", whole.len().to_string()));
        let half = whole.split_to(whole.len() / 2);
        let (tx, rx) = mpsc::channel::<Bytes>(1);
        let _ = tx.try_send(half);
        reply.stream = Some(rx);
    }
    let cut = cut.clone();
    response(reply).map(|body| CutAtEnd { inner: body, cut }.boxed())
}

/// A body that, where the inner one ends, cuts the connection instead.
struct CutAtEnd {
    inner: ResponseBody,
    cut: Cut,
}

impl Body for CutAtEnd {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                // What was sent is flushed in this same turn; the cut lands after it.
                self.cut.fire();
                Poll::Pending
            }
            other => other,
        }
    }
}

/// A body that sends nothing until its timer ends it.
struct Silent(Pin<Box<tokio::time::Sleep>>);

impl Body for Silent {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.as_mut().poll(cx).map(|()| None)
    }
}
