//! `?watch=true` on a lease collection: a chunked stream of `{"type","object"}` lines, from the
//! requested resourceVersion (or synthetic ADDED events for the current state when it is
//! empty or "0"), filtered by the selectors, as Tables when kubectl asks for them. A
//! resourceVersion older than the history window gets 200 and one ERROR event with a 410
//! `Expired` Status, then the end of the stream, as the watch cache answers.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::mpsc;

use super::exchange::{Reply, Req};
use super::gojson;
use super::lease::Lease;
use super::selectors::{FieldSelector, LabelSelector};
use super::status::Status;
use super::store::{Compacted, Event};
use super::table::{self, Output};
use super::{Shared, lock};

/// What a watcher wants to see.
struct Filter {
    namespace: String,
    labels: LabelSelector,
    fields: FieldSelector,
    output: Output,
    include_object: Option<String>,
}

impl Filter {
    fn wants(&self, lease: &Lease) -> bool {
        (self.namespace.is_empty() || lease.meta.namespace == self.namespace)
            && self.labels.matches(&lease.meta.labels)
            && self.fields.matches(lease)
    }

    /// One event line.
    fn line(&self, kind: &str, lease: &Lease) -> Bytes {
        let object = match self.output {
            Output::Table(version) => {
                let meta = json!({"resourceVersion": lease.meta.resource_version});
                let include = self.include_object.as_deref();
                let now = OffsetDateTime::now_utc();
                table::lease_table(version, std::slice::from_ref(lease), meta, include, now)
            }
            _ => lease.to_value(true),
        };
        Bytes::from(gojson::to_body(&json!({"type": kind, "object": object})))
    }
}

/// The ERROR event for a watch from `from` when the changes after it were compacted away:
/// a 410 `Expired` Status (never a Table), as the watch cache writes it.
fn expired_line(from: u64, compacted: Compacted) -> Bytes {
    let status = Status::expired(format!(
        "too old resource version: {from} ({})",
        compacted.oldest
    ));
    Bytes::from(gojson::to_body(
        &json!({"type": "ERROR", "object": status.to_value()}),
    ))
}

/// Starts a watch; the reply streams until the client goes away or `timeoutSeconds` passes.
pub(crate) fn start(
    shared: &Arc<Shared>,
    req: &Req,
    output: Output,
    namespace: &str,
) -> Result<Reply, Status> {
    let q = &req.query;
    let filter = Filter {
        namespace: namespace.to_owned(),
        labels: LabelSelector::parse(q.get("labelSelector").unwrap_or_default())?,
        fields: FieldSelector::parse(q.get("fieldSelector").unwrap_or_default())?,
        output,
        include_object: q.get("includeObject").map(str::to_owned),
    };
    let timeout = q.get("timeoutSeconds").and_then(|t| t.parse::<u64>().ok());
    let from = q
        .get("resourceVersion")
        .and_then(|rv| rv.parse::<u64>().ok())
        .unwrap_or(0);

    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let (mut initial, mut seen, mut changes) = {
        let store = lock(&shared.store);
        let initial: Vec<Bytes> = if from == 0 {
            store
                .list(None)
                .into_iter()
                .filter(|l| filter.wants(l))
                .map(|l| filter.line("ADDED", l))
                .collect()
        } else {
            Vec::new()
        };
        let seen = if from == 0 { store.revision() } else { from };
        (initial, seen, store.subscribe())
    };
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let stream = async {
            for line in initial.drain(..) {
                if tx.send(line).await.is_err() {
                    return;
                }
            }
            loop {
                let events = lock(&shared.store).events_after(seen);
                let events: Vec<Event> = match events {
                    Ok(events) => events,
                    Err(compacted) => {
                        let _ = tx.send(expired_line(seen, compacted)).await;
                        return;
                    }
                };
                for e in events {
                    seen = seen.max(e.lease.meta.resource_version.parse().unwrap_or(seen));
                    if filter.wants(&e.lease)
                        && tx.send(filter.line(e.kind, &e.lease)).await.is_err()
                    {
                        return;
                    }
                }
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { return },
                    () = tx.closed() => return,
                }
            }
        };
        match timeout {
            Some(secs) => {
                let _ = tokio::time::timeout(Duration::from_secs(secs), stream).await;
            }
            None => stream.await,
        }
    });
    let mut reply = Reply::json(200, Vec::new());
    reply.stream = Some(rx);
    Ok(reply)
}
