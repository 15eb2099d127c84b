//! Taking, keeping and giving back holds: the lock rules of `crate::lock` run against the
//! apiserver, waiting by watch while another holder has the lease.

use crate::prelude::*;

use alloc::collections::BTreeMap;
use core::cell::RefCell;

use crate::error::Error;
use crate::lease::{Entry, Lease};
use crate::lock::Hold;
use crate::lock::options::{LockerConfig, LockerOptions};
use crate::lock::rules::{self, Now, Seen, Step};
use crate::names::lease_name_for_domain;
use crate::shell::Client;
use crate::shell::clock;
use crate::shell::watch::Next;
use crate::watch::WatchEvent;

/// The annotation the Go original's certificate locker writes.
pub const DOMAIN_ANNOTATION: &str = "netbird.io/domain";

/// The longest watch asked for (kube-rs's bound: servers refuse more than 295 s).
const MAX_WATCH_SECONDS: u64 = 290;

/// A watch that ends sooner than this was refused or cut: back off before the next.
const SHORT_WATCH_NS: u64 = 1_000_000_000;

/// What one attempt came to.
#[derive(Debug)]
pub enum Attempt {
    /// The hold is ours.
    Held(Hold),
    /// Someone wrote first: read again.
    Raced,
    /// Another live holder has it.
    Wait {
        /// Its identity.
        holder: String,
        /// Nanoseconds until the expiry rule lets this locker take it.
        expires_in_ns: u64,
    },
}

/// How a wait on a held lease ended.
enum Waited {
    /// The lease changed: its new state (`None`: deleted).
    Changed(Option<Lease>),
    /// Nothing happened by the wake-up time, or the stream ended: read again.
    Quiet,
    /// The watch failed (an ERROR event such as 410 Expired, or it ended at once): back off.
    Broken,
}

/// A locker: one identity, its settings, and what it has seen of each lease.
pub struct Locker {
    client: Client,
    config: LockerConfig,
    seen: RefCell<BTreeMap<String, Seen>>,
}

impl Locker {
    /// A locker over `client`, its identity from the options, `HOSTNAME`, or chance.
    ///
    /// # Errors
    /// `InvalidArgument` for settings that cannot work.
    pub fn new(client: Client, options: LockerOptions) -> Result<Self, Error> {
        let hostname = Client::env("HOSTNAME");
        let config = LockerConfig::resolve(options, hostname, clock::random_u64())?;
        Ok(Self {
            client,
            config,
            seen: RefCell::new(BTreeMap::new()),
        })
    }

    /// The identity written as holder.
    pub fn identity(&self) -> &str {
        &self.config.identity
    }

    /// The lease client it writes through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The settings in force.
    pub fn config(&self) -> &LockerConfig {
        &self.config
    }

    /// One attempt: the hold, or `None` while another live holder has the lease.
    pub fn try_acquire(&self, name: &str, annotations: &[Entry]) -> Result<Option<Hold>, Error> {
        let lease = self.client.get(name)?;
        match self.attempt(name, lease.as_ref(), annotations)? {
            Attempt::Held(hold) => Ok(Some(hold)),
            Attempt::Raced | Attempt::Wait { .. } => Ok(None),
        }
    }

    /// One attempt on `lease` as just read (`None`: absent).
    pub fn attempt(
        &self,
        name: &str,
        lease: Option<&Lease>,
        annotations: &[Entry],
    ) -> Result<Attempt, Error> {
        let now = clock::now();
        let seen = lease.map(|l| self.observe(name, l, now));
        let step = rules::step(lease, &self.config, now, seen.as_ref());
        let taking_over = step == Step::TakeOver;
        let write = match step {
            Step::Wait {
                holder,
                expires_in_ns,
            } => {
                return Ok(Attempt::Wait {
                    holder,
                    expires_in_ns,
                });
            }
            Step::Create => self.client.create(rules::acquired(
                name,
                None,
                &self.config,
                now.wall,
                annotations,
            )),
            Step::TakeOver => self.client.update(&rules::acquired(
                name,
                lease,
                &self.config,
                now.wall,
                annotations,
            )),
        };
        match write {
            Ok(written) => Ok(Attempt::Held(self.hold(&written, now, None)?)),
            // Someone wrote first, or (on a takeover) deleted the lease meanwhile. A 404 on a
            // create is no race: the namespace is missing.
            Err(e) if e.is_conflict() || e.is_already_exists() => Ok(Attempt::Raced),
            Err(e) if e.is_not_found() && taking_over => Ok(Attempt::Raced),
            Err(e) => Err(e),
        }
    }

    /// Waits for the hold: while another holder has the lease, watches it and tries again the
    /// moment it is released, deleted or expires; `Timeout` once `timeout_ms` has passed.
    pub fn acquire(
        &self,
        name: &str,
        annotations: &[Entry],
        timeout_ms: u32,
    ) -> Result<Hold, Error> {
        let deadline = clock::monotonic_ns().saturating_add(u64::from(timeout_ms) * 1_000_000);
        let mut lease = self.client.get(name)?;
        let mut failures = 0;
        loop {
            match self.attempt(name, lease.as_ref(), annotations)? {
                Attempt::Held(hold) => return Ok(hold),
                Attempt::Raced if clock::monotonic_ns() >= deadline => {
                    return Err(Error::Timeout(format!(
                        "lease {name} kept changing under this locker for {timeout_ms} ms"
                    )));
                }
                Attempt::Raced => lease = self.client.get(name)?,
                Attempt::Wait {
                    holder,
                    expires_in_ns,
                } => {
                    let now = clock::monotonic_ns();
                    if now >= deadline {
                        return Err(Error::Timeout(format!(
                            "lease {name} is still held by {holder} after {timeout_ms} ms"
                        )));
                    }
                    let wake = deadline.min(now.saturating_add(expires_in_ns));
                    let rv = lease
                        .as_ref()
                        .and_then(|l| l.resource_version.clone())
                        .unwrap_or_default();
                    match self.wait_for_change(name, &rv, wake) {
                        Ok(Waited::Changed(state)) => {
                            failures = 0;
                            lease = state;
                        }
                        Ok(Waited::Quiet) => lease = self.client.get(name)?,
                        // A broken watch or a 410: back off, then read afresh.
                        Ok(Waited::Broken) | Err(_) => {
                            let pause = self.config.backoff.delay_ms(failures, clock::random_u64());
                            failures += 1;
                            clock::sleep_until(
                                deadline.min(clock::monotonic_ns() + pause * 1_000_000),
                            );
                            lease = self.client.get(name)?;
                        }
                    }
                }
            }
        }
    }

    /// Watches lease `name` from `rv` until it changes or `wake` (monotonic ns) comes.
    fn wait_for_change(&self, name: &str, rv: &str, wake: u64) -> Result<Waited, Error> {
        let opened = clock::monotonic_ns();
        let seconds = wake
            .saturating_sub(opened)
            .div_ceil(1_000_000_000)
            .clamp(1, MAX_WATCH_SECONDS);
        let seconds = u32::try_from(seconds).unwrap_or(1);
        let mut watch = self.client.watch(name, rv, seconds, wake)?;
        loop {
            match watch.next(wake)? {
                Next::Event(WatchEvent::Added(l) | WatchEvent::Modified(l)) => {
                    return Ok(Waited::Changed(Some(l)));
                }
                Next::Event(WatchEvent::Deleted(_)) => return Ok(Waited::Changed(None)),
                Next::Event(WatchEvent::Bookmark(_)) => {}
                Next::Event(WatchEvent::Error(_)) => return Ok(Waited::Broken),
                Next::Deadline => return Ok(Waited::Quiet),
                Next::Ended if clock::monotonic_ns() < opened + SHORT_WATCH_NS => {
                    return Ok(Waited::Broken);
                }
                Next::Ended => return Ok(Waited::Quiet),
            }
        }
    }

    /// Extends `hold`; `Lost` when another holder has written the lease since.
    pub fn renew(&self, hold: &Hold) -> Result<Hold, Error> {
        self.rewrite(hold, &|lease: &Lease, now: Now| {
            rules::renewed(lease, now.wall)
        })
        .and_then(|(written, now)| self.hold(&written, now, Some(hold)))
    }

    /// Gives `hold` back: clears the lease's holder only if it is still this hold.
    pub fn release(&self, hold: &Hold) -> Result<(), Error> {
        self.rewrite(hold, &|lease: &Lease, _: Now| rules::released(lease))
            .map(|_| ())
    }

    /// Writes `change` of the lease while it still records `hold` (one retry after a race).
    fn rewrite(
        &self,
        hold: &Hold,
        change: &dyn Fn(&Lease, Now) -> Lease,
    ) -> Result<(Lease, Now), Error> {
        let mut tries = 0;
        loop {
            let lease = match self.client.get(&hold.name)? {
                Some(l) if rules::still_held(&l, &hold.identity, hold.acquire_time) => l,
                other => return Err(rules::lost(&hold.name, other.as_ref())),
            };
            let now = clock::now();
            match self.client.update(&change(&lease, now)) {
                Ok(written) => return Ok((written, now)),
                Err(e) if (e.is_conflict() || e.is_not_found()) && tries == 0 => tries += 1,
                Err(e) if e.is_conflict() || e.is_not_found() => {
                    return Err(rules::lost(
                        &hold.name,
                        self.client.get(&hold.name).ok().flatten().as_ref(),
                    ));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The original's per-domain lock.
    pub fn lock_for_domain(&self, domain: &str, timeout_ms: u32) -> Result<Hold, Error> {
        let annotations = [(DOMAIN_ANNOTATION.to_owned(), domain.to_owned())];
        self.acquire(&lease_name_for_domain(domain), &annotations, timeout_ms)
    }

    /// What this locker knows of lease `name` after reading `lease` at `now`.
    fn observe(&self, name: &str, lease: &Lease, now: Now) -> Seen {
        let mut seen = self.seen.borrow_mut();
        let updated = Seen::update(seen.remove(name), lease, now);
        seen.insert(name.to_owned(), updated.clone());
        updated
    }

    /// The hold a write sent at `sent` gave; a renewal keeps `renewing`'s token.
    fn hold(&self, written: &Lease, sent: Now, renewing: Option<&Hold>) -> Result<Hold, Error> {
        let deadline_ms = u64::from(self.config.renew_deadline_ms);
        let fencing_token = match renewing {
            Some(hold) => hold.fencing_token,
            None => rules::fencing_token(written)?,
        };
        Ok(Hold {
            name: written.name.clone(),
            identity: self.config.identity.clone(),
            resource_version: written.resource_version.clone().unwrap_or_default(),
            acquire_time: written.spec.acquire_time.unwrap_or(sent.wall),
            valid_until: crate::micro_time::MicroTime::from_unix_micros(
                sent.wall
                    .unix_micros
                    .saturating_add(i64::try_from(deadline_ms * 1_000).unwrap_or(i64::MAX)),
            ),
            valid_until_monotonic_ns: sent.mono_ns.saturating_add(deadline_ms * 1_000_000),
            fencing_token,
        })
    }
}
