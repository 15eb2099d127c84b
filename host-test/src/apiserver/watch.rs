//! A watch on leases (`?watch=…` on a collection, or a `/watch/` path): 200 with the head sent
//! at once, then one compact `{"type","object"}` line per event, each sent the moment the write
//! is stored (`/work/shared/k8s-watch.md`). The stream opens with a synthetic ADDED per
//! matching lease when asked for (RV `""`/`"0"`, or `sendInitialEvents=true`), sends
//! BOOKMARKs only when allowed (periodically and shortly before the deadline), turns selector
//! transitions into ADDED / DELETED, answers a compacted resourceVersion with one ERROR event
//! (410 `Expired`), and ends without a closing event at `timeoutSeconds` or when the client
//! goes away. Kubectl's Table output is served too.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::exchange::{Query, Reply, Req};
use super::gojson;
use super::lease::{API_VERSION, Lease};
use super::limits::Limits;
use super::status::{KIND, Status};
use super::store::{Compacted, Event};
use super::table::{self, Output};
use super::watch_options::WatchOptions;
use super::{Shared, lock};

/// The annotation on the bookmark that ends the initial events.
const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// What a watcher wants to see, and how it is written.
struct Filter {
    namespace: String,
    options: WatchOptions,
    output: Output,
    include_object: Option<String>,
}

impl Filter {
    fn wants(&self, lease: &Lease) -> bool {
        (self.namespace.is_empty() || lease.meta.namespace == self.namespace)
            && self.options.labels.matches(&lease.meta.labels)
            && self.options.fields.matches(lease)
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
        event_line(kind, &object)
    }

    /// The line this watcher gets for a stored change, as the watch cache decides it: ADDED
    /// when the lease starts matching, MODIFIED while it matches, DELETED (the old object at
    /// the change's revision) when it stops matching or is deleted, nothing otherwise.
    fn on_change(&self, e: &Event) -> Option<Bytes> {
        let now = e.kind != "DELETED" && self.wants(&e.lease);
        let before = e.prev.as_ref().filter(|prev| self.wants(prev));
        match (now, before) {
            (true, None) => Some(self.line("ADDED", &e.lease)),
            (true, Some(_)) => Some(self.line("MODIFIED", &e.lease)),
            (false, Some(prev)) => {
                let mut gone = prev.clone();
                gone.meta
                    .resource_version
                    .clone_from(&e.lease.meta.resource_version);
                Some(self.line("DELETED", &gone))
            }
            (false, None) => None,
        }
    }
}

/// `{"type":kind,"object":object}` and a newline.
fn event_line(kind: &str, object: &Value) -> Bytes {
    Bytes::from(gojson::to_body(&json!({"type": kind, "object": object})))
}

/// A BOOKMARK: an empty Lease carrying only the revision (and, after the initial events, the
/// `k8s.io/initial-events-end` annotation).
fn bookmark_line(revision: u64, initial_events_end: bool) -> Bytes {
    let mut metadata = json!({"resourceVersion": revision.to_string()});
    if initial_events_end {
        metadata["annotations"] = json!({INITIAL_EVENTS_END: "true"});
    }
    let object = json!({"kind": KIND, "apiVersion": API_VERSION, "metadata": metadata, "spec": {}});
    event_line("BOOKMARK", &object)
}

/// The ERROR event for a watch from `from` when the changes after it were compacted away:
/// a 410 `Expired` Status (never a Table), as the watch cache writes it.
fn expired_line(from: u64, compacted: Compacted) -> Bytes {
    let status = Status::expired(format!(
        "too old resource version: {from} ({})",
        compacted.oldest
    ));
    event_line("ERROR", &status.to_value())
}

/// 200 with one ERROR event: a 410 `Expired` for a watch from revision `from`, as if the
/// changes after it had just been compacted.
fn expired_from(shared: &Shared, from: u64) -> Reply {
    let oldest = lock(&shared.store).revision();
    let (tx, rx) = mpsc::channel::<Bytes>(1);
    let _ = tx.try_send(expired_line(from, Compacted { oldest }));
    let mut reply = Reply::json(200, Vec::new());
    reply.stream = Some(rx);
    reply
}

/// [`expired_from`] for a watch with these query parameters (the `Expired` fault).
pub(crate) fn expired_reply(shared: &Shared, query: &Query) -> Reply {
    let rv = query.get("resourceVersion").unwrap_or_default();
    expired_from(shared, super::handlers::parse_rv(rv).unwrap_or(0))
}

/// When the next BOOKMARK is due (the watch cache's `nextBookmarkTime`): one interval from
/// now, but no later than shortly before the deadline; none once that moment has passed.
fn next_bookmark(now: Instant, deadline: Instant, limits: &Limits) -> Option<Instant> {
    let last = deadline.checked_sub(limits.bookmark_before_deadline)?;
    let next = (now + limits.bookmark_interval).min(last);
    (next > now).then_some(next)
}

/// Counts a watch as open until dropped (when its task ends).
struct OpenWatch(Arc<Shared>);

impl OpenWatch {
    fn enter(shared: &Arc<Shared>) -> OpenWatch {
        shared.open_watches.fetch_add(1, Ordering::SeqCst);
        OpenWatch(Arc::clone(shared))
    }
}

impl Drop for OpenWatch {
    fn drop(&mut self) {
        self.0.open_watches.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Starts a watch on `namespace` (all when empty); `name` is a `/watch/…/{name}` path's.
/// Bad options are answered before any stream; otherwise the reply streams until the client
/// goes away or the timeout passes.
pub(crate) fn start(
    shared: &Arc<Shared>,
    req: &Req,
    output: Output,
    namespace: &str,
    name: &str,
) -> Result<Reply, Status> {
    let options = WatchOptions::parse(&req.query, name, !shared.options.without_watch_list)?;
    let deadline = Instant::now() + options.timeout;
    let filter = Filter {
        namespace: namespace.to_owned(),
        options,
        output,
        include_object: req.query.get("includeObject").map(str::to_owned),
    };
    let expire = shared
        .expire_watches
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if expire {
        return Ok(expired_from(shared, filter.options.from));
    }
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let (mut opening, seen, changes) = {
        let store = lock(&shared.store);
        let mut opening = Vec::new();
        let seen = if filter.options.send_initial {
            opening.extend(
                store
                    .list(None)
                    .into_iter()
                    .filter(|l| filter.wants(l))
                    .map(|l| filter.line("ADDED", l)),
            );
            if filter.options.bookmarks && filter.options.initial_events_end {
                opening.push(bookmark_line(store.revision(), true));
            }
            store.revision()
        } else if filter.options.from == 0 {
            store.revision()
        } else {
            filter.options.from
        };
        (opening, seen, store.subscribe())
    };
    let open = OpenWatch::enter(shared);
    let shared = Arc::clone(shared);
    let cut = req.cut_watch;
    tokio::spawn(async move {
        let _open = open;
        let stream = async {
            for line in opening.drain(..) {
                if tx.send(line).await.is_err() {
                    return;
                }
            }
            follow(&shared, &filter, &tx, seen, changes, deadline, cut).await;
        };
        // At the deadline the stream is dropped with the sender: the body ends, no event.
        let _ = tokio::time::timeout_at(deadline, stream).await;
    });
    let mut reply = Reply::json(200, Vec::new());
    reply.stream = Some(rx);
    Ok(reply)
}

/// Sends every change after revision `seen` as it is stored, and bookmarks when due, until
/// the client goes away (or the caller's deadline drops this future); with `cut`, only the
/// changes already stored (the stream then ends, and the fault layer cuts the connection).
async fn follow(
    shared: &Shared,
    filter: &Filter,
    tx: &mpsc::Sender<Bytes>,
    mut seen: u64,
    mut changes: tokio::sync::watch::Receiver<u64>,
    deadline: Instant,
    cut: bool,
) {
    let limits = &shared.limits;
    let mut bookmark_at = next_bookmark(Instant::now(), deadline, limits);
    loop {
        let (events, revision) = {
            let store = lock(&shared.store);
            (store.events_after(seen), store.revision())
        };
        match events {
            Ok(events) => {
                for line in events.iter().filter_map(|e| filter.on_change(e)) {
                    if tx.send(line).await.is_err() {
                        return;
                    }
                }
                seen = seen.max(revision);
                if cut {
                    return;
                }
            }
            Err(compacted) => {
                let _ = tx.send(expired_line(seen, compacted)).await;
                return;
            }
        }
        let due = bookmark_at.filter(|_| filter.options.bookmarks);
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            () = tx.closed() => return,
            () = sleep_until(due) => {
                // Every change up to `seen` was sent: resuming from here misses nothing.
                if tx.send(bookmark_line(seen, false)).await.is_err() {
                    return;
                }
                bookmark_at = next_bookmark(Instant::now(), deadline, limits);
            }
        }
    }
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
