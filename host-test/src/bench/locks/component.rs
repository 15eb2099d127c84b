//! The component's lock layer as a contender: its own instance, in-cluster client and
//! locker, waiting by watch inside `locker.acquire`.

use std::time::Instant;

use anyhow::{anyhow, bail};

use super::{Acquired, Contender, LEASE_SECONDS};
use crate::cluster::{Account, Cluster};
use crate::host::{Hold, LeaseError, LockerHandle, LockerOptions, Replica};

/// One component instance contending for one lease.
pub struct Component {
    replica: Replica,
    locker: LockerHandle,
    lease: String,
    held: Option<Hold>,
}

impl Component {
    /// A fresh instance for `account` with a locker writing `identity`, defaults otherwise.
    ///
    /// # Errors
    /// When instantiation traps or the client or locker cannot be made.
    pub async fn new(
        cluster: &Cluster,
        account: &Account,
        identity: &str,
        lease: &str,
    ) -> anyhow::Result<Self> {
        let (mut replica, client) = cluster.replica(account).await?;
        let options = LockerOptions {
            identity: Some(identity.to_owned()),
            lease_duration_seconds: Some(LEASE_SECONDS),
            renew_deadline_ms: None,
            backoff: None,
            expiry: None,
            max_clock_skew_ms: None,
        };
        let locker = replica
            .locker_create(&client, &options)
            .await?
            .map_err(|e| anyhow!("locker for {identity}: {e:?}"))?;
        Ok(Self {
            replica,
            locker,
            lease: lease.to_owned(),
            held: None,
        })
    }
}

impl Contender for Component {
    async fn acquire(&mut self, deadline: Instant) -> anyhow::Result<Option<Acquired>> {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .as_millis();
        if left == 0 {
            return Ok(None);
        }
        let timeout_ms = u32::try_from(left).unwrap_or(u32::MAX);
        let acquired = self
            .replica
            .acquire(&self.locker, &self.lease, &[], timeout_ms)
            .await?;
        match acquired {
            Ok(hold) => {
                let acquired = Acquired {
                    identity: hold.identity.clone(),
                    token: Some(hold.fencing_token),
                };
                self.held = Some(hold);
                Ok(Some(acquired))
            }
            Err(LeaseError::Timeout(_)) => Ok(None),
            Err(e) => bail!("component acquire of {}: {e:?}", self.lease),
        }
    }

    async fn release(&mut self) -> anyhow::Result<()> {
        let hold = self.held.take().ok_or_else(|| anyhow!("nothing held"))?;
        self.replica
            .release(&self.locker, &hold)
            .await?
            .map_err(|e| anyhow!("component release of {}: {e:?}", self.lease))
    }
}
