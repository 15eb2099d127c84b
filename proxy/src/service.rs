//! The service's configuration from the environment and each action run against the
//! apiserver with a fresh client and locker (every request gets a fresh instance, so locks
//! use the stateless wall-clock expiry rule with the max-skew margin).

use kube_lease_client::lock::Hold;
use kube_lease_client::lock::options::{ExpiryRule, LockerOptions};
use kube_lease_client::lock::rules;
use kube_lease_client::shell::Client;
use kube_lease_client::shell::locker::{Attempt, DOMAIN_ANNOTATION, Locker};
use kube_lease_client::{Error, ExplicitConfig, Lease, MicroTime, lease_name_for_domain};
use serde_json::json;

use crate::respond::{self, Reply};
use crate::routes::{Action, Guard};

/// The apiserver origin, e.g. a `kubectl proxy` sidecar's `http://127.0.0.1:8001`; unset, the
/// service runs in-cluster (`KUBERNETES_SERVICE_HOST`/`_PORT` and the mounted service account).
pub const BASE_URL_VAR: &str = "KUBE_LEASE_BASE_URL";
/// The namespace of the leases (default `default`).
pub const NAMESPACE_VAR: &str = "KUBE_LEASE_NAMESPACE";
/// The apiserver bearer token's file, if the origin needs one.
pub const TOKEN_FILE_VAR: &str = "KUBE_LEASE_TOKEN_FILE";
/// The apiserver request timeout in milliseconds.
pub const TIMEOUT_VAR: &str = "KUBE_LEASE_TIMEOUT_MS";
/// The bearer token callers must present.
pub const FRONT_TOKEN_VAR: &str = "KUBE_LEASE_FRONT_TOKEN";
/// A file holding that token (read on every request, so it can rotate).
pub const FRONT_TOKEN_FILE_VAR: &str = "KUBE_LEASE_FRONT_TOKEN_FILE";
/// The comma-separated allowed lease-name prefixes (default `cert-lock-`).
pub const PREFIXES_VAR: &str = "KUBE_LEASE_PREFIXES";

/// How often a lock without a wait reads again after losing a write race.
const RACE_TRIES: usize = 3;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The guard rails' settings; 500 when no front token is configured.
pub fn guard() -> Result<Guard, Reply> {
    let front_token = match (env(FRONT_TOKEN_VAR), env(FRONT_TOKEN_FILE_VAR)) {
        (Some(token), _) => token,
        (None, Some(path)) => std::fs::read_to_string(&path)
            .map(|t| t.trim().to_owned())
            .map_err(|e| {
                respond::error(
                    500,
                    "config",
                    &format!("cannot read {FRONT_TOKEN_FILE_VAR} {path:?}: {e}"),
                )
            })?,
        (None, None) => {
            return Err(respond::error(
                500,
                "config",
                &format!("set {FRONT_TOKEN_VAR} or {FRONT_TOKEN_FILE_VAR}"),
            ));
        }
    };
    if front_token.is_empty() {
        return Err(respond::error(500, "config", "the front token is empty"));
    }
    Ok(Guard {
        front_token,
        prefixes: Guard::parse_prefixes(env(PREFIXES_VAR).as_deref()),
    })
}

fn client() -> Result<Client, Error> {
    let Some(base_url) = env(BASE_URL_VAR) else {
        return Client::in_cluster();
    };
    let timeout_ms = match env(TIMEOUT_VAR) {
        Some(ms) => Some(
            ms.parse()
                .map_err(|_| Error::Config(format!("{TIMEOUT_VAR} {ms:?} is not milliseconds")))?,
        ),
        None => None,
    };
    Client::with_config(ExplicitConfig {
        base_url,
        namespace: env(NAMESPACE_VAR).unwrap_or_else(|| "default".into()),
        token_file: env(TOKEN_FILE_VAR),
        timeout_ms,
        allow_token_over_http: false,
    })
}

/// `action`'s reply; `front_token` is scrubbed from any error.
pub fn run(action: Action, front_token: &str) -> Reply {
    run_action(action).unwrap_or_else(|e| respond::from_error(e, &[front_token]))
}

fn run_action(action: Action) -> Result<Reply, Error> {
    match action {
        Action::Health => Ok(Reply::json(200, &json!({ "status": "ok" }))),
        Action::LeaseNameForDomain { domain } => Ok(respond::domain_lease_name(
            &domain,
            &lease_name_for_domain(&domain),
        )),
        Action::GetLease { name } => Ok(match client()?.get(&name)? {
            Some(lease) => respond::lease(&lease),
            None => respond::lease_not_found(&name),
        }),
        Action::Lock {
            name,
            domain,
            identity,
            lease_duration_seconds,
            wait_seconds,
        } => {
            let locker = locker(identity, lease_duration_seconds)?;
            let annotations: Vec<_> = domain
                .map(|d| (DOMAIN_ANNOTATION.to_owned(), d))
                .into_iter()
                .collect();
            if wait_seconds > 0 {
                let hold = locker.acquire(&name, &annotations, wait_seconds * 1000)?;
                return Ok(respond::hold(&hold, true));
            }
            lock_now(&locker, &name, &annotations)
        }
        Action::Renew { name, identity } => {
            let (locker, hold) = match held(name, identity)? {
                Ok(held) => held,
                Err(refused) => return Ok(refused),
            };
            Ok(respond::hold(&locker.renew(&hold)?, false))
        }
        Action::Release { name, identity } => {
            let (locker, hold) = match held(name, identity)? {
                Ok(held) => held,
                Err(refused) => return Ok(refused),
            };
            locker.release(&hold)?;
            Ok(respond::released(&hold.name))
        }
    }
}

fn locker(identity: String, lease_duration_seconds: Option<i32>) -> Result<Locker, Error> {
    Locker::new(
        client()?,
        LockerOptions {
            identity: Some(identity),
            lease_duration_seconds,
            expiry: Some(ExpiryRule::WallClock),
            ..LockerOptions::default()
        },
    )
}

/// One try (a few after lost write races): the hold, or 409 naming the live holder.
fn lock_now(locker: &Locker, name: &str, annotations: &[(String, String)]) -> Result<Reply, Error> {
    for _ in 0..RACE_TRIES {
        let lease = locker.client().get(name)?;
        match locker.attempt(name, lease.as_ref(), annotations)? {
            Attempt::Held(hold) => return Ok(respond::hold(&hold, true)),
            Attempt::Wait { holder, .. } => return Ok(respond::held_by(name, &holder)),
            Attempt::Raced => {}
        }
    }
    Ok(respond::error(
        409,
        "conflict",
        &format!("lease {name:?} kept changing under {RACE_TRIES} attempts; try again"),
    ))
}

/// `identity`'s hold on lease `name` as the lease records it, with a locker to act on it;
/// 409 when `identity` is not the holder.
fn held(name: String, identity: String) -> Result<Result<(Locker, Hold), Reply>, Error> {
    let locker = locker(identity.clone(), None)?;
    let lease = locker.client().get(&name)?;
    let acquire_time = lease
        .as_ref()
        .filter(|l| l.spec.holder_identity.as_deref() == Some(identity.as_str()))
        .and_then(|l| l.spec.acquire_time);
    let Some(acquire_time) = acquire_time else {
        return Ok(Err(refused(&name, lease.as_ref())));
    };
    let hold = Hold {
        resource_version: lease.and_then(|l| l.resource_version).unwrap_or_default(),
        name,
        identity,
        acquire_time,
        valid_until: MicroTime::from_unix_micros(0),
        valid_until_monotonic_ns: 0,
        // A stateless renewal cannot know the acquiring write's token; it is not answered.
        fencing_token: 0,
    };
    Ok(Ok((locker, hold)))
}

fn refused(name: &str, lease: Option<&Lease>) -> Reply {
    match lease.and_then(|l| l.spec.holder_identity.as_deref()) {
        Some(holder) if !holder.is_empty() => respond::held_by(name, holder),
        _ => respond::from_error(rules::lost(name, lease), &[]),
    }
}
