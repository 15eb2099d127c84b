//! The watch stream of one lease: compact JSON events, one per line (`../shared/k8s-watch.md`),
//! read as they arrive. Pure: the shell feeds the bytes.

use crate::prelude::*;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::lease::Lease;
use crate::status::Status;

/// One watch event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchEvent {
    /// The lease appeared (or started matching), as stored.
    Added(Lease),
    /// The lease changed, as stored.
    Modified(Lease),
    /// The lease is gone; its last state, at the delete's resourceVersion.
    Deleted(Lease),
    /// Nothing changed up to this resourceVersion.
    Bookmark(String),
    /// The watch failed (410 `Expired` when its resourceVersion is too old).
    Error(Status),
}

#[derive(Deserialize)]
struct Head {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct Object<T> {
    object: T,
}

#[derive(Deserialize)]
struct Bookmark {
    #[serde(default)]
    metadata: BookmarkMeta,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BookmarkMeta {
    #[serde(default)]
    resource_version: String,
}

fn object<T: DeserializeOwned>(line: &[u8]) -> Result<T, Error> {
    serde_json::from_slice::<Object<T>>(line)
        .map(|o| o.object)
        .map_err(|e| Error::Decode(format!("a watch event's object: {e}")))
}

impl WatchEvent {
    /// The event on one line of the stream.
    ///
    /// # Errors
    /// `Decode` when the line is not an event of a known type.
    pub fn parse(line: &[u8]) -> Result<Self, Error> {
        let head: Head = serde_json::from_slice(line)
            .map_err(|e| Error::Decode(format!("a watch event: {e}")))?;
        Ok(match head.kind.as_str() {
            "ADDED" => Self::Added(object(line)?),
            "MODIFIED" => Self::Modified(object(line)?),
            "DELETED" => Self::Deleted(object(line)?),
            "BOOKMARK" => Self::Bookmark(object::<Bookmark>(line)?.metadata.resource_version),
            "ERROR" => Self::Error(object(line)?),
            other => {
                return Err(Error::Decode(format!(
                    "a watch event of unknown type {other}"
                )));
            }
        })
    }
}

/// Bytes of a watch stream, cut into lines whatever the chunks.
#[derive(Debug, Default)]
pub struct Lines {
    buffer: Vec<u8>,
}

/// The longest line kept: a Lease event is a few kilobytes.
pub const MAX_LINE_BYTES: usize = 1 << 20;

impl Lines {
    /// Adds what arrived.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete, non-empty line.
    ///
    /// # Errors
    /// `Decode` when a line grows past [`MAX_LINE_BYTES`].
    pub fn next_line(&mut self) -> Result<Option<Vec<u8>>, Error> {
        while let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buffer.drain(..=end).collect();
            let line = line.trim_ascii();
            if !line.is_empty() {
                return Ok(Some(line.to_vec()));
            }
        }
        if self.buffer.len() > MAX_LINE_BYTES {
            return Err(Error::Decode(format!(
                "a watch event longer than {MAX_LINE_BYTES} bytes"
            )));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_of_every_type_are_read() {
        let modified = br#"{"type":"MODIFIED","object":{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{"name":"lock-a","namespace":"demo","resourceVersion":"1207"},"spec":{"holderIdentity":"b","leaseDurationSeconds":15}}}"#;
        match WatchEvent::parse(modified).unwrap() {
            WatchEvent::Modified(l) => {
                assert_eq!(l.resource_version.as_deref(), Some("1207"));
                assert_eq!(l.spec.holder_identity.as_deref(), Some("b"));
            }
            other => panic!("{other:?}"),
        }
        let bookmark = br#"{"type":"BOOKMARK","object":{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{"resourceVersion":"1300"},"spec":{}}}"#;
        assert_eq!(
            WatchEvent::parse(bookmark).unwrap(),
            WatchEvent::Bookmark("1300".into())
        );
        let error = br#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 5 (1180)","reason":"Expired","code":410}}"#;
        match WatchEvent::parse(error).unwrap() {
            WatchEvent::Error(s) => assert_eq!((s.code, s.reason.as_str()), (410, "Expired")),
            other => panic!("{other:?}"),
        }
        let deleted = br#"{"type":"DELETED","object":{"metadata":{"name":"lock-a","resourceVersion":"1311"}}}"#;
        assert!(matches!(
            WatchEvent::parse(deleted).unwrap(),
            WatchEvent::Deleted(_)
        ));
        assert!(matches!(
            WatchEvent::parse(br#"{"type":"NOPE","object":{}}"#),
            Err(Error::Decode(_))
        ));
        assert!(matches!(
            WatchEvent::parse(b"<html>"),
            Err(Error::Decode(_))
        ));
    }

    #[test]
    fn lines_are_cut_on_newlines_not_chunks() {
        let mut lines = Lines::default();
        lines.push(b"{\"a\":1}\n{\"b\"");
        assert_eq!(lines.next_line().unwrap().unwrap(), b"{\"a\":1}");
        assert_eq!(lines.next_line().unwrap(), None);
        lines.push(b":2}\r\n\n");
        assert_eq!(lines.next_line().unwrap().unwrap(), b"{\"b\":2}");
        assert_eq!(lines.next_line().unwrap(), None);
        lines.push(&vec![b'x'; MAX_LINE_BYTES + 1]);
        assert!(lines.next_line().is_err());
    }
}
