//! The response body handed to the guest: it enforces the between-bytes timeout and gives its
//! connection back to the pool once read to the end.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::SendRequest;
use tokio::time::{Instant, Sleep};
use wasmtime_wasi_http::{Error, WasiBody};

use super::pool::{ConnectionPool, PoolKey};

/// Wraps a response's body in a [`TimedBody`] and boxes it.
pub(crate) fn timed(
    response: Response<Incoming>,
    between_bytes_timeout: Duration,
    reuse: Option<Reuse>,
) -> Response<WasiBody> {
    response.map(|incoming| TimedBody::new(incoming, between_bytes_timeout, reuse).boxed_unsync())
}

/// A connection to give back to its pool once its response body has been read.
pub(crate) struct Reuse {
    /// The pool.
    pub(crate) pool: Arc<ConnectionPool>,
    /// The connection's destination.
    pub(crate) key: PoolKey,
    /// The connection.
    pub(crate) sender: SendRequest<WasiBody>,
}

/// A response body that fails with `ConnectionReadTimeout` when no frame arrives in time, and
/// returns its connection to the pool when it ends.
struct TimedBody {
    /// The body as hyper reads it.
    incoming: Incoming,
    /// Fires when the server has been silent too long.
    deadline: Pin<Box<Sleep>>,
    /// The allowed silence between frames.
    timeout: Duration,
    /// The connection to pool when the body is done.
    reuse: Option<Reuse>,
}

impl TimedBody {
    /// Gives the connection back to the pool (once).
    fn release(&mut self) {
        if let Some(reuse) = self.reuse.take() {
            reuse.pool.put(reuse.key, reuse.sender);
        }
    }
}

impl Drop for TimedBody {
    fn drop(&mut self) {
        // A body dropped before its end leaves the connection mid-response: close it.
        if self.incoming.is_end_stream() {
            self.release();
        }
    }
}

impl TimedBody {
    /// Wraps `incoming`, allowing `timeout` between frames.
    fn new(incoming: Incoming, timeout: Duration, reuse: Option<Reuse>) -> Self {
        Self {
            incoming,
            deadline: Box::pin(tokio::time::sleep_until(deadline_after(timeout))),
            timeout,
            reuse,
        }
    }
}

/// Now plus `timeout`, saturating far in the future.
fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365))
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next = deadline_after(this.timeout);
                this.deadline.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) if e.is_timeout() => {
                Poll::Ready(Some(Err(Error::HttpResponseTimeout)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Error::from(e)))),
            Poll::Ready(None) => {
                this.release();
                Poll::Ready(None)
            }
            Poll::Pending => {
                ready!(this.deadline.as_mut().poll(cx));
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}
