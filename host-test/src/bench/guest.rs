//! The component's side: the same lease requests through `kube:lease/leases`, with one
//! instance reused, or a fresh instance (and in-cluster client) per operation as
//! `wasmtime serve` gives each request.

use anyhow::anyhow;

use super::LeaseOps;
use crate::cluster::{Account, Cluster};
use crate::host::{CallResult, ClientHandle, Lease, LeaseHost, LeaseSpec, Preconditions, Replica};

/// One instance with its in-cluster client.
pub struct Guest {
    replica: Replica,
    client: ClientHandle,
}

impl Guest {
    /// A fresh instance for `account`, with its in-cluster client.
    pub async fn new(cluster: &Cluster, account: &Account) -> anyhow::Result<Self> {
        Self::on(&cluster.host, cluster, account).await
    }

    /// A fresh instance of `host` for `account` of `cluster`, with its in-cluster client.
    pub async fn on(
        host: &LeaseHost,
        cluster: &Cluster,
        account: &Account,
    ) -> anyhow::Result<Self> {
        let (replica, client) = cluster.replica_on(host, account).await?;
        Ok(Self { replica, client })
    }
}

impl LeaseOps for Guest {
    async fn create(&mut self, name: &str, holder: &str) -> anyhow::Result<String> {
        let stored = value(
            self.replica
                .create(&self.client, &lease(name, holder, None))
                .await,
        )?;
        resource_version(stored)
    }

    async fn get(&mut self, name: &str) -> anyhow::Result<String> {
        let stored = value(self.replica.get(&self.client, name).await)?;
        resource_version(stored.ok_or_else(|| anyhow!("lease {name} is missing"))?)
    }

    async fn replace(&mut self, name: &str, holder: &str, rv: &str) -> anyhow::Result<String> {
        let lease = lease(name, holder, Some(rv));
        let stored = value(self.replica.update(&self.client, &lease).await)?;
        resource_version(stored)
    }

    async fn delete(&mut self, name: &str) -> anyhow::Result<()> {
        let unconditional = Preconditions {
            resource_version: None,
            uid: None,
        };
        value(
            self.replica
                .delete(&self.client, name, &unconditional)
                .await,
        )
    }
}

fn value<T>(result: CallResult<T>) -> anyhow::Result<T> {
    result?.map_err(|e| anyhow!("{e:?}"))
}

fn lease(name: &str, holder: &str, resource_version: Option<&str>) -> Lease {
    Lease {
        name: name.into(),
        namespace: None,
        resource_version: resource_version.map(str::to_owned),
        uid: None,
        creation_timestamp: None,
        labels: Vec::new(),
        annotations: Vec::new(),
        spec: LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(15),
            acquire_time: None,
            renew_time: None,
            lease_transitions: None,
            strategy: None,
            preferred_holder: None,
        },
    }
}

fn resource_version(stored: Lease) -> anyhow::Result<String> {
    stored
        .resource_version
        .ok_or_else(|| anyhow!("the stored lease has no resourceVersion"))
}
