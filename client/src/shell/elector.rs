//! Leader election on one lease for a long-lived instance: each tick acquires, renews before
//! the renew deadline, or follows until the leader's lease may expire.

use crate::prelude::*;

use core::cell::RefCell;

use crate::error::Error;
use crate::lock::options::LockerOptions;
use crate::lock::{Election, Hold, Role};
use crate::shell::Client;
use crate::shell::clock;
use crate::shell::locker::{Attempt, Locker};

/// An elector: a locker and the lease it campaigns for.
pub struct Elector {
    locker: Locker,
    name: String,
    hold: RefCell<Option<Hold>>,
}

const NS_PER_MS: u64 = 1_000_000;

fn ms(ns: u64) -> u32 {
    u32::try_from(ns / NS_PER_MS).unwrap_or(u32::MAX)
}

impl Elector {
    /// An elector for lease `name`.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad name or settings.
    pub fn new(client: Client, name: &str, options: LockerOptions) -> Result<Self, Error> {
        if let Some(why) = crate::names::dns1123_subdomain_error(name) {
            return Err(Error::InvalidArgument(format!(
                "lease name {name:?} is invalid: {why}"
            )));
        }
        Ok(Self {
            locker: Locker::new(client, options)?,
            name: name.to_owned(),
            hold: RefCell::new(None),
        })
    }

    /// One step of the election.
    pub fn tick(&self) -> Result<Election, Error> {
        let held = self.hold.borrow().clone();
        match held {
            Some(hold) => self.lead(hold),
            None => self.campaign(),
        }
    }

    /// While leading: renew once half the renew deadline has passed.
    fn lead(&self, hold: Hold) -> Result<Election, Error> {
        let now = clock::monotonic_ns();
        let half = u64::from(self.locker.config().renew_deadline_ms) * NS_PER_MS / 2;
        let renew_at = hold.valid_until_monotonic_ns.saturating_sub(half);
        if now < renew_at {
            return Ok(self.leading(hold, renew_at - now));
        }
        // The renewal ends by the renew deadline: past it this instance is no longer leader,
        // whatever a late answer would say.
        let by = self
            .locker
            .client()
            .deadline_within(hold.valid_until_monotonic_ns.max(now));
        match self.locker.renew_by(&hold, by) {
            Ok(renewed) => {
                let next = renewed
                    .valid_until_monotonic_ns
                    .saturating_sub(half)
                    .saturating_sub(now);
                *self.hold.borrow_mut() = Some(renewed.clone());
                Ok(self.leading(renewed, next))
            }
            Err(Error::Lost(_)) => Ok(self.lost()),
            // Past the deadline without a renewal this instance must stop acting.
            Err(_) if clock::monotonic_ns() >= hold.valid_until_monotonic_ns => Ok(self.lost()),
            Err(e) => Err(e),
        }
    }

    /// While not leading: one attempt, read and write by one request timeout; follow until
    /// the leader's lease may expire.
    fn campaign(&self) -> Result<Election, Error> {
        let by = self.locker.client().deadline();
        let lease = self.locker.client().get_by(&self.name, by)?;
        match self
            .locker
            .attempt_by(&self.name, lease.as_ref(), &[], by)?
        {
            Attempt::Held(hold) => {
                *self.hold.borrow_mut() = Some(hold.clone());
                self.lead(hold)
            }
            Attempt::Raced => Ok(Election {
                role: Role::Following,
                holder: None,
                hold: None,
                next_tick_ms: 0,
            }),
            Attempt::Wait {
                holder,
                expires_in_ns,
            } => Ok(Election {
                role: Role::Following,
                holder: Some(holder),
                hold: None,
                next_tick_ms: ms(expires_in_ns)
                    .min(self.locker.config().backoff.max_ms)
                    .max(1),
            }),
        }
    }

    fn leading(&self, hold: Hold, next_ns: u64) -> Election {
        Election {
            role: Role::Leading,
            holder: Some(hold.identity.clone()),
            hold: Some(hold),
            next_tick_ms: ms(next_ns),
        }
    }

    fn lost(&self) -> Election {
        *self.hold.borrow_mut() = None;
        Election {
            role: Role::Lost,
            holder: None,
            hold: None,
            next_tick_ms: 0,
        }
    }

    /// Gives up leadership: releases the hold if this instance still has it.
    pub fn resign(&self) -> Result<(), Error> {
        match self.hold.borrow_mut().take() {
            Some(hold) => match self.locker.release(&hold) {
                Ok(()) | Err(Error::Lost(_)) => Ok(()),
                Err(e) => Err(e),
            },
            None => Ok(()),
        }
    }
}
