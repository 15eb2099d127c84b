//! The object store: leases by namespace and name, one store-wide revision counter (like
//! etcd's), and a bounded history of accepted writes (the watch's replay window: older
//! revisions are compacted away, as etcd and the watch cache do).

use std::collections::{BTreeMap, VecDeque};

use time::OffsetDateTime;
use tokio::sync::watch;

use super::lease::Lease;
use super::limits::push_bounded;
use super::microtime;
use super::{Verb, WriteRecord};

/// A change, as a watch reports it.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub kind: &'static str,
    /// The object after the change (for a delete: as it was, with the deleting revision).
    pub lease: Lease,
    /// The object before the change (`None` for a create): a watcher whose selector matched
    /// it but not the new object sees a DELETED.
    pub prev: Option<Lease>,
}

/// A resourceVersion older than the history window: the changes after it are gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Compacted {
    /// The oldest revision a watch can still start from.
    pub oldest: u64,
}

/// Leases, the revision counter, the write history and the change feed.
pub(crate) struct Store {
    objects: BTreeMap<(String, String), Lease>,
    revision: u64,
    /// How many writes `history` and `events` keep.
    window: usize,
    history: VecDeque<WriteRecord>,
    /// The last `window` changes, in revision order (index i has revision `compacted + i + 1`).
    events: VecDeque<Event>,
    /// The revision up to which changes were dropped (0 while none were).
    compacted: u64,
    /// Announces each new revision to watchers.
    changes: watch::Sender<u64>,
}

impl Store {
    /// An empty store keeping the last `window` writes (at least one).
    pub fn new(window: usize) -> Self {
        Store {
            objects: BTreeMap::new(),
            revision: 0,
            window: window.max(1),
            history: VecDeque::new(),
            events: VecDeque::new(),
            compacted: 0,
            changes: watch::channel(0).0,
        }
    }

    /// A receiver that sees each new revision.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// The changes after revision `rev`, or [`Compacted`] when some of them were dropped.
    pub fn events_after(&self, rev: u64) -> Result<Vec<Event>, Compacted> {
        self.check_not_compacted(rev)?;
        let start = usize::try_from(rev - self.compacted)
            .unwrap_or(usize::MAX)
            .min(self.events.len());
        Ok(self.events.range(start..).cloned().collect())
    }

    /// Whether the changes after revision `rev` are all still in the window.
    pub fn check_not_compacted(&self, rev: u64) -> Result<(), Compacted> {
        if rev < self.compacted {
            return Err(Compacted {
                oldest: self.compacted,
            });
        }
        Ok(())
    }

    /// The current revision (0 before the first write).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The stored lease.
    pub fn get(&self, namespace: &str, name: &str) -> Option<&Lease> {
        self.objects.get(&(namespace.to_owned(), name.to_owned()))
    }

    /// Leases in `namespace` (all when `None`), ordered by namespace then name.
    pub fn list(&self, namespace: Option<&str>) -> Vec<&Lease> {
        self.objects
            .iter()
            .filter(|((ns, _), _)| namespace.is_none_or(|want| want == ns))
            .map(|(_, l)| l)
            .collect()
    }

    /// Stores `lease` (new or replacing), stamping the next revision; returns the stored copy.
    pub fn put(&mut self, mut lease: Lease, verb: Verb, user: &str, now: OffsetDateTime) -> Lease {
        self.revision += 1;
        lease.meta.resource_version = self.revision.to_string();
        self.record(&lease, verb, user, now);
        let key = (lease.meta.namespace.clone(), lease.meta.name.clone());
        let prev = self.objects.insert(key, lease.clone());
        let kind = if verb == Verb::Create {
            "ADDED"
        } else {
            "MODIFIED"
        };
        self.push_event(Event {
            kind,
            lease: lease.clone(),
            prev,
        });
        self.changes.send_replace(self.revision);
        lease
    }

    /// Removes the lease (the caller checked it exists); returns it as it was.
    pub fn delete(
        &mut self,
        namespace: &str,
        name: &str,
        user: &str,
        now: OffsetDateTime,
    ) -> Option<Lease> {
        let lease = self
            .objects
            .remove(&(namespace.to_owned(), name.to_owned()))?;
        self.revision += 1;
        let mut at_delete = lease.clone();
        at_delete.meta.resource_version = self.revision.to_string();
        self.record(&at_delete, Verb::Delete, user, now);
        self.push_event(Event {
            kind: "DELETED",
            lease: at_delete,
            prev: Some(lease.clone()),
        });
        self.changes.send_replace(self.revision);
        Some(lease)
    }

    /// Loses every lease, as a server restored from an empty backing store: the revision goes
    /// on and everything up to it counts as compacted (watches from before get `410
    /// Expired`); the write history, a record for tests, stays.
    pub fn lose_objects(&mut self) {
        self.objects.clear();
        self.events.clear();
        self.compacted = self.revision;
    }

    /// The accepted writes in the window.
    pub fn history(&self) -> impl Iterator<Item = &WriteRecord> {
        self.history.iter()
    }

    fn push_event(&mut self, event: Event) {
        let dropped = push_bounded(&mut self.events, event, self.window);
        self.compacted += dropped as u64;
    }

    fn record(&mut self, lease: &Lease, verb: Verb, user: &str, now: OffsetDateTime) {
        let micros = now.unix_timestamp_nanos() / 1000;
        let spec = &lease.spec;
        let record = WriteRecord {
            seq: self.revision,
            at_unix_micros: i64::try_from(micros).unwrap_or(i64::MAX),
            verb,
            namespace: lease.meta.namespace.clone(),
            name: lease.meta.name.clone(),
            resource_version: lease.meta.resource_version.clone(),
            uid: lease.meta.uid.clone(),
            user: user.to_owned(),
            holder: spec.holder_identity.clone(),
            acquire_time: spec.acquire_time.map(microtime::format_micro),
            renew_time: spec.renew_time.map(microtime::format_micro),
            lease_duration_seconds: spec.lease_duration_seconds,
            lease_transitions: spec.lease_transitions,
        };
        push_bounded(&mut self.history, record, self.window);
    }
}
