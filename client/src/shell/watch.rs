//! A watch stream over `wasi:http`: events read as they arrive, against the caller's deadline.

use crate::prelude::*;

use wasi::http::types::IncomingBody;
use wasi::io::poll::Pollable;
use wasi::io::streams::{InputStream, StreamError};

use crate::error::Error;
use crate::shell::http::{Head, stream_error, wait};
use crate::watch::{Lines, WatchEvent};

/// What waiting on a watch gave.
#[derive(Debug)]
pub enum Next {
    /// An event.
    Event(WatchEvent),
    /// The deadline came first.
    Deadline,
    /// The server ended the stream (its timeout, or after an ERROR event).
    Ended,
}

/// An open watch. Fields drop in order: the pollable, then its stream, then the body.
pub struct Watch {
    pollable: Pollable,
    stream: InputStream,
    _body: IncomingBody,
    lines: Lines,
    url: String,
    /// The token the watch was opened with: scrubbed from any event that cannot be read.
    secret: String,
}

impl Watch {
    /// The stream of a 200 response's body to a request sent with `secret` (the bearer
    /// token, or empty).
    ///
    /// # Errors
    /// `Transport` when the host gives no body stream.
    pub fn new(head: Head, secret: &str) -> Result<Self, Error> {
        let stream = head
            .body
            .stream()
            .map_err(|()| Error::Transport(format!("{}: watch body unavailable", head.url)))?;
        Ok(Self {
            pollable: stream.subscribe(),
            stream,
            _body: head.body,
            lines: Lines::default(),
            url: head.url,
            secret: secret.into(),
        })
    }

    /// The next event, or why there is none, by `deadline` (monotonic ns).
    ///
    /// # Errors
    /// `Transport` when the connection breaks, `Decode` for a line that is not an event (with
    /// the token scrubbed from whatever of the line it quotes).
    pub fn next(&mut self, deadline: u64) -> Result<Next, Error> {
        loop {
            if let Some(line) = self.lines.next_line()? {
                return WatchEvent::parse(&line)
                    .map(Next::Event)
                    .map_err(|e| e.redact(&self.secret));
            }
            match self.stream.read(64 * 1024) {
                Ok(chunk) if chunk.is_empty() => {
                    if !wait(&self.pollable, deadline) {
                        return Ok(Next::Deadline);
                    }
                }
                Ok(chunk) => self.lines.push(&chunk),
                Err(StreamError::Closed) => return Ok(Next::Ended),
                Err(e) => return Err(stream_error(&self.url, e)),
            }
        }
    }
}
