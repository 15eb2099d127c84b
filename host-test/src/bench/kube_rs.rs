//! What a Rust user would pick instead: kube-rs's `Api<Lease>` (kube 5, k8s-openapi 0.29),
//! trusting only the emulator's CA with a bearer token. Its client pools connections as the
//! others do (hyper-util's, rustls with ring).

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use kube::api::{DeleteParams, ObjectMeta, PostParams};
use kube::{Api, Client, Config};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::{Endpoint, LeaseOps};

/// kube-rs's typed lease API for one namespace.
pub struct KubeRs {
    api: Api<Lease>,
}

impl KubeRs {
    /// A client of the endpoint, trusting only its CA.
    ///
    /// # Errors
    /// When the URL or CA is unusable.
    pub fn new(to: &Endpoint) -> anyhow::Result<Self> {
        Ok(Self {
            api: Api::namespaced(client(to)?, &to.namespace),
        })
    }
}

/// A kube-rs client of the endpoint, trusting only its CA, with its bearer token.
///
/// # Errors
/// When the URL or CA is unusable.
pub fn client(to: &Endpoint) -> anyhow::Result<Client> {
    let mut config = Config::new(to.base_url.parse()?);
    let ca = CertificateDer::pem_slice_iter(&to.ca_pem)
        .map(|cert| cert.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()?;
    config.root_cert = Some(ca);
    config.auth_info.token = Some(secrecy::SecretString::from(to.token.as_str()));
    config.default_namespace = to.namespace.clone();
    Ok(Client::try_from(config)?)
}

fn lease(name: &str, holder: &str, resource_version: Option<&str>) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            resource_version: resource_version.map(str::to_owned),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            lease_duration_seconds: Some(15),
            ..LeaseSpec::default()
        }),
    }
}

fn resource_version(stored: Lease) -> anyhow::Result<String> {
    stored
        .metadata
        .resource_version
        .ok_or_else(|| anyhow::anyhow!("the stored lease has no resourceVersion"))
}

impl LeaseOps for KubeRs {
    async fn create(&mut self, name: &str, holder: &str) -> anyhow::Result<String> {
        let stored = self
            .api
            .create(&PostParams::default(), &lease(name, holder, None))
            .await?;
        resource_version(stored)
    }

    async fn get(&mut self, name: &str) -> anyhow::Result<String> {
        resource_version(self.api.get(name).await?)
    }

    async fn replace(&mut self, name: &str, holder: &str, rv: &str) -> anyhow::Result<String> {
        let stored = self
            .api
            .replace(name, &PostParams::default(), &lease(name, holder, Some(rv)))
            .await?;
        resource_version(stored)
    }

    async fn delete(&mut self, name: &str) -> anyhow::Result<()> {
        self.api.delete(name, &DeleteParams::default()).await?;
        Ok(())
    }
}
