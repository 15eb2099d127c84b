//! Taking, keeping and giving back holds: the lock rules of `crate::lock` run against the
//! apiserver, waiting by watch while another holder has the lease.

use crate::prelude::*;

use alloc::collections::{BTreeMap, BTreeSet};
use core::cell::{Cell, RefCell};

use crate::error::Error;
use crate::lease::{Entry, Lease};
use crate::lock::Hold;
use crate::lock::contention::Window;
use crate::lock::options::{LockerConfig, LockerOptions};
use crate::lock::recovery::{self, Keeping, Settled};
use crate::lock::rules::{self, Now, Seen, Step};
use crate::names::lease_name_for_domain;
use crate::retry::Failed;
use crate::shell::Client;
use crate::shell::clock;
use crate::shell::waiting::{Initial, Waited, Watching};

/// The annotation the Go original's certificate locker writes.
pub const DOMAIN_ANNOTATION: &str = "netbird.io/domain";

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

/// What an attempt came to, with the case of a write that failed and did not happen.
enum Tried {
    /// The attempt's answer.
    Done(Attempt),
    /// The write failed with `error` and the lease read back (`lease`) shows it did not
    /// happen: decide afresh from that read.
    NotApplied {
        /// The write's failure.
        error: Error,
        /// The lease as read back (`None`: absent).
        lease: Option<Lease>,
    },
}

/// A locker: one identity, its settings, and what it has seen of each lease.
pub struct Locker {
    client: Client,
    config: LockerConfig,
    seen: RefCell<BTreeMap<String, Seen>>,
    window: Cell<Window>,
    /// Per lease, the lease as this locker's last write stored it while holding it: a renewal
    /// or release writes over it at its resourceVersion without reading first.
    written: RefCell<BTreeMap<String, Lease>>,
    /// Whether the server may serve watches that open with the current state (WatchList);
    /// cleared once it refuses one, and `acquire` reads with a GET from then on.
    watch_list: Cell<bool>,
    /// The leases whose last `acquire` here met another holder or lost a race: the next one
    /// starts with such a watch, as it will likely wait on it; any other starts with a GET,
    /// which holds no stream open while it writes.
    contended: RefCell<BTreeSet<String>>,
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
            window: Cell::new(Window::default()),
            written: RefCell::new(BTreeMap::new()),
            watch_list: Cell::new(true),
            contended: RefCell::new(BTreeSet::new()),
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

    /// One attempt on `lease` as just read (`None`: absent). A write whose reply was lost is
    /// settled by reading the lease back: the hold if it names this write, else the error.
    pub fn attempt(
        &self,
        name: &str,
        lease: Option<&Lease>,
        annotations: &[Entry],
    ) -> Result<Attempt, Error> {
        self.attempt_by(name, lease, annotations, self.client.deadline())
    }

    /// [`Locker::attempt`], all of it (write and read-back) by `by` (monotonic ns).
    pub fn attempt_by(
        &self,
        name: &str,
        lease: Option<&Lease>,
        annotations: &[Entry],
        by: u64,
    ) -> Result<Attempt, Error> {
        match self.try_once(name, lease, annotations, by)? {
            Tried::Done(attempt) => Ok(attempt),
            Tried::NotApplied { error, .. } => Err(error),
        }
    }

    /// One attempt, all of it by `by`: the write gets two thirds of the time left, the
    /// read-back after a lost reply the rest.
    fn try_once(
        &self,
        name: &str,
        lease: Option<&Lease>,
        annotations: &[Entry],
        by: u64,
    ) -> Result<Tried, Error> {
        let now = clock::now();
        let step = self.step_for(name, lease, now);
        let taking_over = step == Step::TakeOver;
        let base = match step {
            Step::Wait {
                holder,
                expires_in_ns,
            } => {
                return Ok(Tried::Done(Attempt::Wait {
                    holder,
                    expires_in_ns,
                }));
            }
            Step::Create => None,
            Step::TakeOver => lease,
        };
        let intended = rules::acquired(name, base, &self.config, now.wall, annotations);
        let write_by = recovery::write_deadline(now.mono_ns, by);
        let write = match base {
            None => self.client.create_by(intended.clone(), write_by),
            Some(_) => self.client.update_by(&intended, write_by),
        };
        let failed = match write {
            Ok(written) => {
                self.keep(&written);
                return Ok(Tried::Done(Attempt::Held(self.hold(&written, now, None)?)));
            }
            Err(failed) => failed,
        };
        let e = &failed.error;
        // Someone wrote first, or (on a takeover) deleted the lease meanwhile. A 404 on a
        // create is no race: the namespace is missing.
        if e.is_conflict() || e.is_already_exists() || (e.is_not_found() && taking_over) {
            return Ok(Tried::Done(Attempt::Raced));
        }
        if !failed.outcome_unknown() {
            return Err(failed.error);
        }
        let read = self.read_back(name, &failed, by)?;
        match recovery::settle(read.as_ref(), &intended, None) {
            Settled::Applied => {
                let stored = read.as_ref().unwrap_or(&intended);
                self.keep(stored);
                Ok(Tried::Done(Attempt::Held(self.hold(stored, now, None)?)))
            }
            Settled::NotApplied | Settled::Lost => Ok(Tried::NotApplied {
                error: failed.error,
                lease: read,
            }),
        }
    }

    /// Reads lease `name` back after a write that `failed` with an unknown outcome; when the
    /// read fails too, the write's error is the answer (nothing is claimed either way).
    fn read_back(&self, name: &str, failed: &Failed, by: u64) -> Result<Option<Lease>, Error> {
        self.client
            .get_by(name, by)
            .map_err(|_| failed.error.clone())
    }

    /// Waits for the hold: while another holder has the lease, watches it and tries again
    /// once it is released, deleted or expires; `Timeout` once `timeout_ms` has passed.
    /// Every request inside ends by the request timeout or `timeout_ms`, whichever is sooner.
    ///
    /// It reads the lease first by GET, or, when its last `acquire` of the lease met another
    /// holder or lost a race, by a watch that opens with the lease's state and then serves
    /// the wait (one request fewer when it waits; a GET holds no stream open when it does not).
    /// One watch is read across attempts: after a lost race the winner's write arrives on it,
    /// so nothing is read again. A release seen on it is not written over at once: the
    /// locker defers by a random part of its contention window first (see
    /// [`crate::lock::contention`]), and if another takes the lease meanwhile it keeps waiting.
    pub fn acquire(
        &self,
        name: &str,
        annotations: &[Entry],
        timeout_ms: u32,
    ) -> Result<Hold, Error> {
        let deadline = clock::monotonic_ns().saturating_add(u64::from(timeout_ms) * 1_000_000);
        let read = |watching: &mut Watching<'_>| self.look(watching, name, deadline);
        let mut watching = Watching::new(&self.client, name);
        let mut lease = if self.contended.borrow().contains(name) {
            read(&mut watching)?
        } else {
            self.client
                .get_by(name, self.client.deadline_within(deadline))?
        };
        let mut waited = false;
        let mut failures = 0;
        loop {
            let by = self.client.deadline_within(deadline);
            let attempt = match self.try_once(name, lease.as_ref(), annotations, by)? {
                Tried::Done(attempt) => attempt,
                // The write failed and did not happen: back off, then decide from the read.
                Tried::NotApplied { error, lease: read } => {
                    if clock::monotonic_ns() >= deadline {
                        return Err(error);
                    }
                    self.back_off(&mut failures, deadline);
                    watching.close();
                    lease = read;
                    continue;
                }
            };
            let now = clock::monotonic_ns();
            if !matches!(attempt, Attempt::Held(_)) && !waited {
                waited = true;
                self.contended.borrow_mut().insert(name.to_owned());
            }
            let (wake, timed_out) = match attempt {
                Attempt::Held(hold) => {
                    if !waited {
                        self.contended.borrow_mut().remove(name);
                    }
                    self.window.set(self.window.get().won());
                    return Ok(hold);
                }
                Attempt::Raced => {
                    self.window.set(self.window.get().lost());
                    let duration_s = u64::try_from(self.config.lease_duration_seconds).unwrap_or(1);
                    let message =
                        format!("lease {name} kept changing under this locker for {timeout_ms} ms");
                    (
                        deadline.min(now.saturating_add(duration_s * 1_000_000_000)),
                        Error::Timeout(message),
                    )
                }
                Attempt::Wait {
                    holder,
                    expires_in_ns,
                } => (
                    deadline.min(now.saturating_add(expires_in_ns)),
                    Error::Timeout(format!(
                        "lease {name} is still held by {holder} after {timeout_ms} ms"
                    )),
                ),
            };
            if now >= deadline {
                return Err(timed_out);
            }
            let rv = lease.as_ref().and_then(|l| l.resource_version.clone());
            // A create that lost its race knows no version to watch from: read it.
            if rv.is_none() && !watching.is_open() {
                lease = read(&mut watching)?;
                continue;
            }
            match watching.next_change(&rv.unwrap_or_default(), wake) {
                Ok(Waited::Changed(state)) => {
                    failures = 0;
                    lease = self.defer(&mut watching, name, state, deadline);
                    continue;
                }
                Ok(Waited::Quiet) => {}
                // A broken watch or a 410: back off, then read afresh.
                Ok(Waited::Broken) | Err(_) => self.back_off(&mut failures, deadline),
            }
            if clock::monotonic_ns() >= deadline {
                return Err(timed_out);
            }
            lease = read(&mut watching)?;
        }
    }

    /// The lease as it stands now (`None`: absent), by `deadline` and the request timeout:
    /// from a new watch that opens with it (WatchList), which then stays open for the wait,
    /// or from a GET once the server has refused such a watch. Either costs one request.
    fn look(
        &self,
        watching: &mut Watching<'_>,
        name: &str,
        deadline: u64,
    ) -> Result<Option<Lease>, Error> {
        watching.close();
        let by = self.client.deadline_within(deadline);
        if self.watch_list.get() {
            match watching.open_initial(deadline, by) {
                Initial::State(lease) => return Ok(lease),
                Initial::Unsupported => self.watch_list.set(false),
                Initial::Failed => {}
            }
        }
        self.client.get_by(name, by)
    }

    /// Holds back a write on `lease` (as just seen on the watch) while it shows the lease
    /// free: reads the watch for a random part of the contention window, and gives the lease
    /// as it then stands.
    fn defer(
        &self,
        watching: &mut Watching<'_>,
        name: &str,
        mut lease: Option<Lease>,
        deadline: u64,
    ) -> Option<Lease> {
        if !watching.is_open() || !self.free(name, lease.as_ref()) {
            return lease;
        }
        let delay = self.window.get().delay_ns(clock::random_u64());
        let until = deadline.min(clock::monotonic_ns().saturating_add(delay));
        loop {
            match watching.next_change("", until) {
                Ok(Waited::Changed(next)) => {
                    lease = next;
                    // Another wrote first without a collision: no request was wasted, so
                    // the window stays as it is (only a lost race widens it).
                    if !self.free(name, lease.as_ref()) {
                        return lease;
                    }
                }
                // The delay is over (or the watch broke): write now.
                Ok(Waited::Quiet | Waited::Broken) | Err(_) => return lease,
            }
        }
    }

    /// Whether the rules let this locker write `lease` now (no other live holder).
    fn free(&self, name: &str, lease: Option<&Lease>) -> bool {
        !matches!(self.step_for(name, lease, clock::now()), Step::Wait { .. })
    }

    /// What the rules say to do about `lease` (`None`: absent) of `name` at `now`.
    fn step_for(&self, name: &str, lease: Option<&Lease>, now: Now) -> Step {
        let seen = lease.map(|l| self.observe(name, l, now));
        rules::step(lease, &self.config, now, seen.as_ref())
    }

    /// Sleeps the backoff after `failures` failures in a row (counting this one), never past
    /// `deadline`.
    fn back_off(&self, failures: &mut u32, deadline: u64) {
        let pause = self.config.backoff.delay_ms(*failures, clock::random_u64());
        *failures += 1;
        clock::sleep_until(deadline.min(clock::monotonic_ns() + pause * 1_000_000));
    }

    /// Extends `hold`; `Lost` when another holder has written the lease since.
    pub fn renew(&self, hold: &Hold) -> Result<Hold, Error> {
        self.renew_by(hold, self.client.deadline())
    }

    /// [`Locker::renew`], all of it by `by` (monotonic ns).
    pub fn renew_by(&self, hold: &Hold, by: u64) -> Result<Hold, Error> {
        self.rewrite(hold, by, &|lease: &Lease, now: Now| {
            rules::renewed(lease, now.wall)
        })
        .and_then(|(written, now)| {
            self.keep(&written);
            self.hold(&written, now, Some(hold))
        })
    }

    /// Gives `hold` back: clears the lease's holder only if it is still this hold.
    pub fn release(&self, hold: &Hold) -> Result<(), Error> {
        self.rewrite(hold, self.client.deadline(), &|lease: &Lease, _: Now| {
            rules::released(lease)
        })
        .map(|_| ())
    }

    /// Writes `change` of the lease while it still records `hold` (once more after a race or
    /// a write that did not happen), all by `by` (monotonic ns). A write whose reply was lost
    /// is settled by reading the lease back.
    fn rewrite(
        &self,
        hold: &Hold,
        by: u64,
        change: &dyn Fn(&Lease, Now) -> Lease,
    ) -> Result<(Lease, Now), Error> {
        let keeping = Keeping {
            identity: &hold.identity,
            acquire_time: hold.acquire_time,
        };
        let mut tries = 0;
        let mut kept = self.kept(hold);
        loop {
            // The lease as this locker last wrote it, else as read now.
            let from_kept = kept.is_some();
            let lease = match kept.take() {
                Some(l) => l,
                None => match self.client.get_by(&hold.name, by)? {
                    Some(l) if rules::still_held(&l, &hold.identity, hold.acquire_time) => l,
                    other => return Err(rules::lost(&hold.name, other.as_ref())),
                },
            };
            let now = clock::now();
            let intended = change(&lease, now);
            let failed = match self
                .client
                .update_by(&intended, recovery::write_deadline(now.mono_ns, by))
            {
                Ok(written) => return Ok((written, now)),
                Err(failed) => failed,
            };
            // Written since this locker's last write: decide from a read, as if none was kept.
            if from_kept && failed.error.is_conflict() {
                continue;
            }
            let raced = failed.error.is_conflict() || failed.error.is_not_found();
            if raced && tries == 0 {
                tries += 1;
                continue;
            }
            if raced {
                let read = self.client.get_by(&hold.name, by).ok().flatten();
                return Err(rules::lost(&hold.name, read.as_ref()));
            }
            if !failed.outcome_unknown() {
                return Err(failed.error);
            }
            let read = self.read_back(&hold.name, &failed, by)?;
            match recovery::settle(read.as_ref(), &intended, Some(keeping)) {
                Settled::Applied => return Ok((read.unwrap_or(intended), now)),
                Settled::NotApplied if tries == 0 => tries += 1,
                Settled::NotApplied => return Err(failed.error),
                Settled::Lost => return Err(rules::lost(&hold.name, read.as_ref())),
            }
        }
    }

    /// The original's per-domain lock.
    pub fn lock_for_domain(&self, domain: &str, timeout_ms: u32) -> Result<Hold, Error> {
        let annotations = [(DOMAIN_ANNOTATION.to_owned(), domain.to_owned())];
        self.acquire(&lease_name_for_domain(domain), &annotations, timeout_ms)
    }

    /// Keeps `written` (as the server stored this locker's write) for the next renewal or
    /// release of the hold it records.
    fn keep(&self, written: &Lease) {
        if written.resource_version.is_some() {
            let mut kept = self.written.borrow_mut();
            kept.insert(written.name.clone(), written.clone());
        }
    }

    /// Takes the lease kept for `hold`'s lease if it records exactly this hold (identity and
    /// acquire time); it is trusted no further than its resourceVersion: a write over it
    /// fails with 409 once anyone else has written.
    fn kept(&self, hold: &Hold) -> Option<Lease> {
        let lease = self.written.borrow_mut().remove(&hold.name)?;
        let ours = hold.identity == self.config.identity
            && rules::still_held(&lease, &hold.identity, hold.acquire_time);
        ours.then_some(lease)
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
