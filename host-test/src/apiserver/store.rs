//! The object store: leases by namespace and name, one store-wide revision counter (like
//! etcd's), and the history of accepted writes.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use tokio::sync::watch;

use super::lease::Lease;
use super::microtime;
use super::{Verb, WriteRecord};

/// A change, as a watch reports it.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub kind: &'static str,
    /// The object after the change (for a delete: as it was, with the deleting revision).
    pub lease: Lease,
}

/// Leases, the revision counter, the write history and the change feed.
pub(crate) struct Store {
    objects: BTreeMap<(String, String), Lease>,
    revision: u64,
    history: Vec<WriteRecord>,
    /// Every change, in revision order (index i has revision i + 1).
    events: Vec<Event>,
    /// Announces each new revision to watchers.
    changes: watch::Sender<u64>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            objects: BTreeMap::new(),
            revision: 0,
            history: Vec::new(),
            events: Vec::new(),
            changes: watch::channel(0).0,
        }
    }
}

impl Store {
    /// A receiver that sees each new revision.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// The changes after revision `rev`.
    pub fn events_after(&self, rev: u64) -> &[Event] {
        let start = usize::try_from(rev)
            .unwrap_or(usize::MAX)
            .min(self.events.len());
        &self.events[start..]
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
        self.objects.insert(key, lease.clone());
        let kind = if verb == Verb::Create {
            "ADDED"
        } else {
            "MODIFIED"
        };
        self.events.push(Event {
            kind,
            lease: lease.clone(),
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
        self.events.push(Event {
            kind: "DELETED",
            lease: at_delete,
        });
        self.changes.send_replace(self.revision);
        Some(lease)
    }

    /// The accepted writes so far.
    pub fn history(&self) -> &[WriteRecord] {
        &self.history
    }

    fn record(&mut self, lease: &Lease, verb: Verb, user: &str, now: OffsetDateTime) {
        let micros = now.unix_timestamp_nanos() / 1000;
        let spec = &lease.spec;
        self.history.push(WriteRecord {
            seq: self.history.len() as u64 + 1,
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
        });
    }
}
