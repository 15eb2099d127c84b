//! kube-lease-manager 0.13 as a contender, through its own API (`changed` until it holds,
//! then `release`). It does not watch: a waiter sleeps until the holder's lease would expire
//! (`renewTime + leaseDurationSeconds`), then reads the lease again.

use std::time::Instant;

use anyhow::Context as _;
use kube_lease_manager::{LeaseManager, LeaseManagerBuilder};

use super::{Acquired, Contender, LEASE_SECONDS};
use crate::bench::Endpoint;
use crate::bench::kube_rs::client;

/// kube-lease-manager's grace period (renew this long before expiry): its documented default
/// is 5 s, which must be shorter than the lease; 1 s is what its own tests use with 2 s leases.
const GRACE_SECONDS: u64 = 1;

/// One lease manager (with its own kube client) contending for one lease.
pub struct LeaseManagerContender {
    manager: LeaseManager,
    identity: String,
}

impl LeaseManagerContender {
    /// A manager of `lease` writing `identity`, its defaults otherwise (it creates the lease
    /// if missing).
    ///
    /// # Errors
    /// When the client cannot be made or the lease cannot be read or created.
    pub async fn new(to: &Endpoint, identity: &str, lease: &str) -> anyhow::Result<Self> {
        let manager = LeaseManagerBuilder::new(client(to)?, lease)
            .with_namespace(&to.namespace)
            .with_identity(identity)
            .with_duration(LEASE_SECONDS.unsigned_abs().into())
            .with_grace(GRACE_SECONDS)
            .build()
            .await
            .with_context(|| format!("kube-lease-manager for {identity}"))?;
        Ok(Self {
            manager,
            identity: identity.to_owned(),
        })
    }
}

impl Contender for LeaseManagerContender {
    async fn acquire(&mut self, deadline: Instant) -> anyhow::Result<Option<Acquired>> {
        // `changed` also reports losing the lock (after our own release): wait until it says held.
        let held = async {
            while !self.manager.changed().await? {}
            anyhow::Ok(())
        };
        Acquired::unfenced_within(deadline, &self.identity, held).await
    }

    async fn release(&mut self) -> anyhow::Result<()> {
        Ok(self.manager.release().await?)
    }
}
