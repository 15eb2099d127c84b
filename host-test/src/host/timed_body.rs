//! The response body handed to the guest: it enforces the between-bytes timeout (the pooled
//! client takes the connection back once the body has been read to the end).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};
use wasmtime_wasi_http::{Error, WasiBody};

use super::errors::hyper_error;

/// Wraps a response's body in a [`TimedBody`] and boxes it.
pub(crate) fn timed(
    response: Response<Incoming>,
    between_bytes_timeout: Duration,
) -> Response<WasiBody> {
    response.map(|incoming| TimedBody::new(incoming, between_bytes_timeout).boxed_unsync())
}

/// A response body that fails with `ConnectionReadTimeout` when no frame arrives in time.
struct TimedBody {
    /// The body as hyper reads it.
    incoming: Incoming,
    /// Fires when the server has been silent too long.
    deadline: Pin<Box<Sleep>>,
    /// The allowed silence between frames.
    timeout: Duration,
}

impl TimedBody {
    /// Wraps `incoming`, allowing `timeout` between frames.
    fn new(incoming: Incoming, timeout: Duration) -> Self {
        Self {
            incoming,
            deadline: Box::pin(tokio::time::sleep_until(deadline_after(timeout))),
            timeout,
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
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Error::from(hyper_error(&e))))),
            Poll::Ready(None) => Poll::Ready(None),
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
