//! The floor: a native hyper + rustls client doing the lease requests directly, with the
//! guests' pooled client settings (same connector, TLS configuration and connection reuse).

use std::sync::Arc;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use serde_json::{Value, json};

use super::{Endpoint, LeaseOps};
use crate::host::{DEFAULT_IDLE_TIMEOUT, Policy, client_config_trusting, pooled_client};

/// A bearer-token client of one namespace's leases.
pub struct Plain {
    client: Client<crate::host::Connector, Full<Bytes>>,
    leases: String,
    authorization: String,
}

impl Plain {
    /// A client of the endpoint, trusting only its CA.
    pub fn new(to: &Endpoint) -> anyhow::Result<Self> {
        let policy = Arc::new(Policy::parse(std::slice::from_ref(&to.base_url))?);
        let tls = Some(client_config_trusting(&to.ca_pem)?);
        Ok(Self {
            client: pooled_client(policy, tls, DEFAULT_IDLE_TIMEOUT, 8),
            leases: format!(
                "{}/apis/coordination.k8s.io/v1/namespaces/{}/leases",
                to.base_url, to.namespace
            ),
            authorization: format!("Bearer {}", to.token),
        })
    }

    /// The URL of the namespace's lease collection.
    pub fn collection(&self) -> &str {
        &self.leases
    }

    /// The URL of lease `name`.
    pub fn item(&self, name: &str) -> String {
        format!("{}/{name}", self.leases)
    }

    /// One request: its status and the whole answer, read as every client does.
    pub async fn exchange(
        &self,
        method: &str,
        uri: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Bytes)> {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", &self.authorization)
            .header("accept", "application/json");
        let body = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Bytes::from(serde_json::to_vec(body)?)
            }
            None => Bytes::new(),
        };
        let response = self
            .client
            .request(request.body(Full::new(body))?)
            .await
            .with_context(|| format!("{method} {uri}"))?;
        let status = response.status().as_u16();
        Ok((status, response.into_body().collect().await?.to_bytes()))
    }

    /// One request that must answer `expected`; the answer parsed.
    async fn send(
        &self,
        method: &str,
        uri: &str,
        body: Option<Value>,
        expected: u16,
    ) -> anyhow::Result<Value> {
        let (status, bytes) = self.exchange(method, uri, body.as_ref()).await?;
        if status != expected {
            bail!(
                "{method} {uri}: {status} {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        Ok(serde_json::from_slice(&bytes)?)
    }
}

impl LeaseOps for Plain {
    async fn create(&mut self, name: &str, holder: &str) -> anyhow::Result<String> {
        let lease = lease(name, holder, None);
        let stored = self.send("POST", &self.leases, Some(lease), 201).await?;
        resource_version(&stored)
    }

    async fn get(&mut self, name: &str) -> anyhow::Result<String> {
        let stored = self.send("GET", &self.item(name), None, 200).await?;
        resource_version(&stored)
    }

    async fn replace(&mut self, name: &str, holder: &str, rv: &str) -> anyhow::Result<String> {
        let lease = lease(name, holder, Some(rv));
        let stored = self.send("PUT", &self.item(name), Some(lease), 200).await?;
        resource_version(&stored)
    }

    async fn delete(&mut self, name: &str) -> anyhow::Result<()> {
        self.send("DELETE", &self.item(name), None, 200).await?;
        Ok(())
    }
}

fn lease(name: &str, holder: &str, resource_version: Option<&str>) -> Value {
    let spec = json!({ "holderIdentity": holder, "leaseDurationSeconds": 15 });
    lease_body(name, resource_version, spec)
}

/// A Lease body named `name` with `spec`, at `resource_version` if given.
pub fn lease_body(name: &str, resource_version: Option<&str>, spec: Value) -> Value {
    let mut metadata = json!({ "name": name });
    if let Some(rv) = resource_version {
        metadata["resourceVersion"] = json!(rv);
    }
    json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": metadata,
        "spec": spec,
    })
}

/// The resourceVersion of a lease as the server answered it.
pub fn resource_version(stored: &Value) -> anyhow::Result<String> {
    stored["metadata"]["resourceVersion"]
        .as_str()
        .map(str::to_owned)
        .context("the stored lease has no resourceVersion")
}
