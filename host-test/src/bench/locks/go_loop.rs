//! A native replay of the Go original's lock loop on the plain hyper + rustls client:
//! try-acquire (get, then create or take over by update); on failure sleep 500 ms, doubling
//! up to 10 s. Release gets the lease again and clears the holder if it is still ours.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use super::{Acquired, Contender, LEASE_SECONDS};
use crate::bench::Endpoint;
use crate::bench::plain::{Plain, lease_body, resource_version};
use crate::history::now_micros;
use kube_lease_client::MicroTime;

/// The original's first wait after a failed attempt.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The original's longest wait.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// One replica of the Go original contending for one lease.
pub struct GoLoop {
    client: Plain,
    identity: String,
    lease: String,
}

impl GoLoop {
    /// A replica writing `identity`, with its own client of the endpoint.
    ///
    /// # Errors
    /// When the client cannot be made.
    pub fn new(to: &Endpoint, identity: &str, lease: &str) -> anyhow::Result<Self> {
        Ok(Self {
            client: Plain::new(to)?,
            identity: identity.to_owned(),
            lease: lease.to_owned(),
        })
    }

    /// The lease as the original writes it: holder, both times and the duration.
    fn lease(&self, holder: &str, now: Option<&str>, rv: Option<&str>) -> Value {
        let spec = json!({
            "holderIdentity": holder,
            "acquireTime": now,
            "renewTime": now,
            "leaseDurationSeconds": LEASE_SECONDS,
        });
        lease_body(&self.lease, rv, spec)
    }

    /// The lease as stored, `None` when absent.
    async fn get(&self) -> anyhow::Result<Option<Value>> {
        let (status, body) = self
            .client
            .exchange("GET", &self.client.item(&self.lease), None)
            .await?;
        match status {
            404 => Ok(None),
            200 => Ok(Some(serde_json::from_slice(&body)?)),
            _ => bail!("GET {}: {status}", self.lease),
        }
    }

    /// Writes `lease` (`POST` to create, `PUT` to update); its resourceVersion, `None` on a
    /// conflict (someone else won).
    async fn write(&self, method: &str, lease: &Value) -> anyhow::Result<Option<String>> {
        let uri = match method {
            "POST" => self.client.collection().to_owned(),
            _ => self.client.item(&self.lease),
        };
        let (status, body) = self.client.exchange(method, &uri, Some(lease)).await?;
        match status {
            200 | 201 => Ok(Some(resource_version(&serde_json::from_slice(&body)?)?)),
            409 => Ok(None),
            _ => bail!("{method} {}: {status}", self.lease),
        }
    }

    /// The original's tryAcquire; the acquiring write's resourceVersion when it won.
    async fn try_acquire(&self) -> anyhow::Result<Option<String>> {
        let now = MicroTime {
            unix_micros: now_micros(),
        };
        let stamp = now.to_rfc3339_micros().ok();
        let Some(current) = self.get().await? else {
            let lease = self.lease(&self.identity, stamp.as_deref(), None);
            return self.write("POST", &lease).await;
        };
        if !free_for(&current["spec"], &self.identity, now.unix_micros) {
            return Ok(None);
        }
        let rv = resource_version(&current)?;
        let lease = self.lease(&self.identity, stamp.as_deref(), Some(&rv));
        self.write("PUT", &lease).await
    }
}

/// Whether the original takes over a lease with `spec` at `now` (µs): no holder, its own, or
/// `renewTime + leaseDurationSeconds` before now (missing either counts as expired).
pub fn free_for(spec: &Value, identity: &str, now: i64) -> bool {
    let holder = spec["holderIdentity"].as_str().unwrap_or_default();
    if holder.is_empty() || holder == identity {
        return true;
    }
    let renew = spec["renewTime"]
        .as_str()
        .and_then(|t| MicroTime::parse(t).ok());
    match (renew, spec["leaseDurationSeconds"].as_i64()) {
        (Some(renew), Some(seconds)) => renew.unix_micros + seconds * 1_000_000 < now,
        _ => true,
    }
}

impl Contender for GoLoop {
    async fn acquire(&mut self, deadline: Instant) -> anyhow::Result<Option<Acquired>> {
        let mut backoff = FIRST_BACKOFF;
        loop {
            if let Some(rv) = self.try_acquire().await? {
                let token = rv.parse().context("a numeric resourceVersion")?;
                return Ok(Some(Acquired {
                    identity: self.identity.clone(),
                    token: Some(token),
                }));
            }
            // The caller's context ends before the next attempt: give up, as the original does.
            if Instant::now() + backoff >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn release(&mut self) -> anyhow::Result<()> {
        let Some(current) = self.get().await? else {
            return Ok(());
        };
        if current["spec"]["holderIdentity"].as_str() != Some(self.identity.as_str()) {
            return Ok(());
        }
        let rv = resource_version(&current)?;
        // A conflict is logged by the original, not retried.
        self.write("PUT", &self.lease("", None, Some(&rv))).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_over_free_own_or_expired_leases_only() {
        let now = MicroTime::parse("2026-01-01T00:00:10.000000Z")
            .unwrap()
            .unix_micros;
        // A lease renewed at `renew` (seconds past 00:00:00) for 2 s, held by `holder`.
        let free = |holder: &str, renew: &str| {
            let renew = format!("2026-01-01T00:00:{renew}Z");
            let spec =
                json!({ "holderIdentity": holder, "renewTime": renew, "leaseDurationSeconds": 2 });
            free_for(&spec, "me", now)
        };
        assert!(free("", "09.000000"));
        assert!(free("me", "09.000000"));
        assert!(!free("you", "09.000000"));
        assert!(free("you", "07.999999"));
        assert!(free_for(&json!({ "holderIdentity": null }), "me", now));
        assert!(free_for(&json!({ "holderIdentity": "you" }), "me", now));
    }
}
