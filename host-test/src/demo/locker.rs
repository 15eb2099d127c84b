//! The Go original's per-domain ACME locker, run against the component's Lease client:
//! try-acquire by get / create / update, release by clearing the holder. Only the fields the
//! Go original models are written, so these bodies are byte-identical to a Go replica's.

use crate::host::{ClientHandle, Lease, LeaseError, LeaseSpec, MicroTime, Replica, StatusKind};

/// The annotation naming the domain a lease locks.
pub const DOMAIN_ANNOTATION: &str = "netbird.io/domain";

/// The outcome of one try-acquire.
#[derive(Debug)]
pub enum Attempt {
    /// This replica holds the lease now (the server's copy).
    Acquired {
        /// True when the lease was created, false when taken over.
        created: bool,
        /// The previous holder of a takeover, if the lease had one.
        from: Option<String>,
        /// The lease as stored.
        lease: Box<Lease>,
    },
    /// Someone else holds an unexpired lease.
    HeldBy(String),
    /// Another replica's write won (create: already-exists; update: conflict).
    LostRace(&'static str),
}

/// The outcome of a release.
#[derive(Debug)]
pub enum Release {
    /// The holder was cleared; the new resourceVersion.
    Released(String),
    /// The lease was gone or held by someone else: nothing to do.
    NotHeld,
    /// Another write came first (the Go original logs this and moves on).
    Conflict,
}

/// One replica's side of the locking protocol.
pub struct Locker {
    /// The component instance.
    pub replica: Replica,
    /// Its in-cluster client.
    pub client: ClientHandle,
    /// The holder identity (the Go original uses the hostname).
    pub identity: String,
    /// `leaseDurationSeconds` written on acquisition.
    pub duration_seconds: i32,
}

/// Now, on the host's wall clock.
pub fn now() -> MicroTime {
    MicroTime {
        unix_micros: crate::history::now_micros(),
    }
}

impl Locker {
    /// One try-acquire of lease `name` for `domain`.
    ///
    /// # Errors
    /// A trap, or any error other than losing a race.
    pub async fn try_acquire(&mut self, name: &str, domain: &str) -> anyhow::Result<Attempt> {
        let now = now();
        let Some(current) = self.replica.get(&self.client, name).await?.map_err(api)? else {
            let lease = Lease {
                name: name.to_owned(),
                namespace: None,
                resource_version: None,
                uid: None,
                creation_timestamp: None,
                labels: Vec::new(),
                annotations: vec![(DOMAIN_ANNOTATION.to_owned(), domain.to_owned())],
                spec: self.held_spec(now),
            };
            return Ok(match self.replica.create(&self.client, &lease).await? {
                Ok(lease) => Attempt::Acquired {
                    created: true,
                    from: None,
                    lease: Box::new(lease),
                },
                Err(LeaseError::Api(e)) if e.kind == StatusKind::AlreadyExists => {
                    Attempt::LostRace("create: already exists")
                }
                Err(e) => return Err(api(e)),
            });
        };
        let holder = current.spec.holder_identity.clone().unwrap_or_default();
        if !holder.is_empty() && holder != self.identity && !expired(&current.spec, now) {
            return Ok(Attempt::HeldBy(holder));
        }
        let takeover = Lease {
            spec: self.held_spec(now),
            ..go_view(current)
        };
        Ok(match self.replica.update(&self.client, &takeover).await? {
            Ok(lease) => Attempt::Acquired {
                created: false,
                from: Some(holder).filter(|h| !h.is_empty()),
                lease: Box::new(lease),
            },
            Err(LeaseError::Api(e)) if e.kind == StatusKind::Conflict => {
                Attempt::LostRace("update: conflict")
            }
            Err(e) => return Err(api(e)),
        })
    }

    /// Releases lease `name` if this replica still holds it.
    ///
    /// # Errors
    /// A trap, or any error other than a conflict.
    pub async fn release(&mut self, name: &str) -> anyhow::Result<Release> {
        let Some(current) = self.replica.get(&self.client, name).await?.map_err(api)? else {
            return Ok(Release::NotHeld);
        };
        if current.spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(Release::NotHeld);
        }
        let mut released = go_view(current);
        released.spec.holder_identity = Some(String::new());
        released.spec.acquire_time = None;
        released.spec.renew_time = None;
        Ok(match self.replica.update(&self.client, &released).await? {
            Ok(lease) => Release::Released(lease.resource_version.unwrap_or_default()),
            Err(LeaseError::Api(e)) if e.kind == StatusKind::Conflict => Release::Conflict,
            Err(e) => return Err(api(e)),
        })
    }

    fn held_spec(&self, now: MicroTime) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.duration_seconds),
            acquire_time: Some(now),
            renew_time: Some(now),
            lease_transitions: None,
            strategy: None,
            preferred_holder: None,
        }
    }
}

/// The Go original's rule: expired when `renewTime + leaseDurationSeconds` is before now; a
/// missing renewTime or duration counts as expired.
pub fn expired(spec: &LeaseSpec, now: MicroTime) -> bool {
    match (spec.renew_time, spec.lease_duration_seconds) {
        (Some(renew), Some(d)) => renew.unix_micros + i64::from(d) * 1_000_000 < now.unix_micros,
        _ => true,
    }
}

/// The lease as the Go original's struct holds it after decoding: the fields it does not
/// model (uid, labels, creationTimestamp, leaseTransitions, strategy, preferredHolder) dropped.
pub fn go_view(lease: Lease) -> Lease {
    Lease {
        uid: None,
        creation_timestamp: None,
        labels: Vec::new(),
        spec: LeaseSpec {
            lease_transitions: None,
            strategy: None,
            preferred_holder: None,
            ..lease.spec
        },
        ..lease
    }
}

fn api(e: LeaseError) -> anyhow::Error {
    anyhow::anyhow!("lease API: {e:?}")
}
