//! kubert 0.25's lease manager as a contender (in kube-leader-election's place, which cannot
//! join this workspace), on its own kube-client 1.1 and k8s-openapi 0.25: `ensure_claimed`
//! until the claim it returns is ours, then `vacate`. It acquires by server-side apply (with
//! the last-read resourceVersion as a precondition, forced) and vacates by a strategic merge
//! patch that nulls the holder.
//!
//! kubert does not watch. Its own loop (`LeaseManager::spawn`) sleeps until the current claim
//! expires (`Claim::expire_with_grace`, no grace for a claim held by someone else) and then
//! calls `ensure_claimed` again; a waiter here does exactly that, so it learns of an early
//! `vacate` only when the holder's lease would have run out.

use std::time::Instant;

use anyhow::Context as _;
use k8s_openapi_0_25::api::coordination::v1::{Lease, LeaseSpec};
use kube_client_1::api::{ObjectMeta, PostParams};
use kube_client_1::{Api, Client, Config};
use kubert::lease::{ClaimParams, LeaseManager};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::{Acquired, Contender, LEASE_SECONDS};
use crate::bench::Endpoint;

/// One kubert lease manager (with its own kube client) contending for one lease as one
/// claimant.
pub struct KubertContender {
    manager: LeaseManager,
    claimant: String,
    params: ClaimParams,
}

impl KubertContender {
    /// A manager of `lease` claiming as `claimant`, with [`LEASE_SECONDS`] leases and kubert's
    /// default renew grace (1 s). kubert needs the lease to exist: it is created (empty) if
    /// missing, as an operator's manifests would.
    ///
    /// # Errors
    /// When the client cannot be made or the lease cannot be created or read.
    pub async fn new(to: &Endpoint, claimant: &str, lease: &str) -> anyhow::Result<Self> {
        let api: Api<Lease> = Api::namespaced(kube_client(to)?, &to.namespace);
        create_if_missing(&api, lease)
            .await
            .with_context(|| format!("creating lease {lease} for kubert"))?;
        let manager = LeaseManager::init(api, lease)
            .await
            .with_context(|| format!("kubert's lease manager for {claimant}"))?;
        Ok(Self {
            manager,
            claimant: claimant.to_owned(),
            params: ClaimParams {
                lease_duration: std::time::Duration::from_secs(LEASE_SECONDS.unsigned_abs().into()),
                ..ClaimParams::default()
            },
        })
    }

    /// Claims until the claim is ours, sleeping until each other holder's claim expires.
    async fn claim(&self) -> anyhow::Result<()> {
        loop {
            let claim = self
                .manager
                .ensure_claimed(&self.claimant, &self.params)
                .await?;
            if claim.holder == self.claimant {
                return Ok(());
            }
            claim.expire().await;
        }
    }
}

impl Contender for KubertContender {
    async fn acquire(&mut self, deadline: Instant) -> anyhow::Result<Option<Acquired>> {
        Acquired::unfenced_within(deadline, &self.claimant, self.claim()).await
    }

    async fn release(&mut self) -> anyhow::Result<()> {
        if !self.manager.vacate(&self.claimant).await? {
            anyhow::bail!(
                "kubert: {} did not hold the lease it vacated",
                self.claimant
            );
        }
        Ok(())
    }
}

/// A kube-client 1.1 client of the endpoint (kubert's major, not the workspace's kube 5),
/// built as [`crate::bench::kube_rs::client`] builds kube 5's: trusting only the endpoint's
/// CA, with its bearer token, rustls on ring, pooled connections.
fn kube_client(to: &Endpoint) -> anyhow::Result<Client> {
    let mut config = Config::new(to.base_url.parse()?);
    config.root_cert = Some(
        CertificateDer::pem_slice_iter(&to.ca_pem)
            .map(|cert| cert.map(|c| c.to_vec()))
            .collect::<Result<Vec<_>, _>>()?,
    );
    config.auth_info.token = Some(to.token.as_str().into());
    config.default_namespace.clone_from(&to.namespace);
    Ok(Client::try_from(config)?)
}

/// Creates `name` with an empty spec unless it exists (another contender made it).
async fn create_if_missing(api: &Api<Lease>, name: &str) -> anyhow::Result<()> {
    let lease = Lease {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec::default()),
    };
    match api.create(&PostParams::default(), &lease).await {
        Ok(_) => Ok(()),
        Err(kube_client_1::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::Value;

    use super::*;
    use crate::apiserver::{ApiServer, Options};
    use crate::history;

    /// Generous: a waiter learns of a vacate when the holder's 2 s lease would have run out.
    const DEADLINE: Duration = Duration::from_secs(60);

    fn holder(server: &ApiServer) -> Value {
        let stored: Value = serde_json::from_str(&server.stored("bench", "k").unwrap()).unwrap();
        stored["spec"]["holderIdentity"].clone()
    }

    #[tokio::test]
    async fn kubert_waits_out_the_holder_then_takes_over_after_its_vacate() {
        let server = ApiServer::start(Options::default()).await.unwrap();
        server.add_token("t", "system:serviceaccount:bench:kubert", None);
        let to = Endpoint {
            base_url: server.url(),
            ca_pem: server.ca_pem().into_bytes(),
            token: "t".into(),
            namespace: "bench".into(),
        };
        let mut a = KubertContender::new(&to, "a", "k").await.unwrap();
        let mut b = KubertContender::new(&to, "b", "k").await.unwrap();

        let got = a.acquire(Instant::now() + DEADLINE).await.unwrap();
        assert_eq!(got.unwrap().identity, "a");
        assert_eq!(holder(&server), "a");
        // While a holds, b's wait ends at its deadline without the lease.
        let soon = Instant::now() + Duration::from_millis(100);
        assert!(b.acquire(soon).await.unwrap().is_none());
        assert_eq!(holder(&server), "a");

        a.release().await.unwrap();
        assert_eq!(holder(&server), Value::Null);
        let got = b.acquire(Instant::now() + DEADLINE).await.unwrap();
        assert_eq!(got.unwrap().identity, "b");
        assert_eq!(holder(&server), "b");
        // a no longer holds: vacating again is an error, not a silent no-op.
        assert!(a.release().await.is_err());

        let verdict = history::check(&server.history(), "k");
        assert!(verdict.violations.is_empty(), "{verdict:#?}");
    }
}
