//! `lock` and `unlock`: the component's locker on the command line. `lock` takes a hold (one
//! try, or waiting by watch up to `--wait`), prints it as one JSON line, keeps it for `--hold`
//! renewing before it runs out, and releases it; `unlock` releases the hold an identity has.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::args::Lock;
use super::failure::Failure;
use super::json::micro_time;
use super::{called, host_failure};
use crate::history::now_micros;
use crate::host::{ClientHandle, Hold, LeaseError, LockerHandle, LockerOptions, Replica};

/// The shortest wait between renewals, whatever the hold's validity.
const MIN_RENEW_WAIT: Duration = Duration::from_millis(20);

/// Runs `lock`: prints the hold on stdout, progress on stderr.
///
/// # Errors
///
/// `held` when another holder kept the lease; the component's error (`lost` when the hold was
/// lost while kept).
pub async fn lock(
    replica: &mut Replica,
    client: &ClientHandle,
    lock: &Lock,
) -> Result<(), Failure> {
    let options = LockerOptions {
        identity: lock.identity.clone(),
        lease_duration_seconds: lock.duration_seconds,
        renew_deadline_ms: None,
        backoff: None,
        expiry: None,
        max_clock_skew_ms: None,
    };
    let locker = called(replica.locker_create(client, &options).await)?;
    let mut hold = acquire(replica, client, &locker, lock).await?;
    println!("{}", hold_json(&hold));
    let until = Instant::now() + lock.hold;
    // One listener for the whole hold, so that a Ctrl-C during a renewal is not missed.
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    let interrupted = loop {
        let now = Instant::now();
        if now >= until {
            break false;
        }
        let renew_at = now + renew_wait(&hold, now_micros());
        tokio::select! {
            () = tokio::time::sleep_until(renew_at.min(until)) => {}
            _ = &mut interrupt => break true,
        }
        if renew_at < until {
            hold = called(replica.renew(&locker, &hold).await)?;
            eprintln!(
                "renewed lease {:?}: valid until {}",
                hold.name,
                text(micro_time(hold.valid_until))
            );
        }
    };
    called(replica.release(&locker, &hold).await)?;
    let why = if interrupted { " (interrupted)" } else { "" };
    eprintln!("released lease {:?}{why}", hold.name);
    Ok(())
}

/// One try-acquire, or `acquire` waiting up to `--wait`; `held` naming the holder otherwise.
async fn acquire(
    replica: &mut Replica,
    client: &ClientHandle,
    locker: &LockerHandle,
    lock: &Lock,
) -> Result<Hold, Failure> {
    let name = &lock.name;
    if lock.wait.is_zero() {
        if let Some(hold) = called(replica.try_acquire(locker, name, &[]).await)? {
            return Ok(hold);
        }
    } else {
        let timeout_ms = u32::try_from(lock.wait.as_millis()).unwrap_or(u32::MAX);
        match called(replica.acquire(locker, name, &[], timeout_ms).await) {
            Err(Failure::Lease(LeaseError::Timeout(_))) => {}
            other => return other,
        }
    }
    let holder = called(replica.get(client, name).await)?
        .and_then(|lease| lease.spec.holder_identity)
        .unwrap_or_default();
    Err(Failure::Held {
        name: name.clone(),
        holder,
        waited: lock.wait,
    })
}

/// Runs `unlock`: releases the hold `identity` has on lease `name`.
///
/// # Errors
///
/// `not-holder` when someone else (or nobody) holds it; the component's error.
pub async fn unlock(
    replica: &mut Replica,
    client: &ClientHandle,
    name: &str,
    identity: &str,
) -> Result<(), Failure> {
    let Some(lease) = called(replica.get(client, name).await)? else {
        return Err(Failure::Absent {
            name: name.to_owned(),
            namespace: replica.namespace(client).await.map_err(host_failure)?,
        });
    };
    let holder = lease.spec.holder_identity.clone().filter(|h| !h.is_empty());
    if holder.as_deref() != Some(identity) {
        return Err(Failure::NotHolder {
            name: name.to_owned(),
            identity: identity.to_owned(),
            holder,
        });
    }
    let options = LockerOptions {
        identity: Some(identity.to_owned()),
        lease_duration_seconds: None,
        renew_deadline_ms: None,
        backoff: None,
        expiry: None,
        max_clock_skew_ms: None,
    };
    let locker = called(replica.locker_create(client, &options).await)?;
    let resource_version = lease.resource_version.clone().unwrap_or_default();
    let renewed = lease.spec.renew_time.or(lease.spec.acquire_time);
    let duration = i64::from(lease.spec.lease_duration_seconds.unwrap_or(0));
    // The hold as read from the lease: release re-reads it and clears it only while it still
    // records this identity and acquireTime. The acquiring write's revision (the real fencing
    // token) is not on the lease; release does not use it.
    let hold = Hold {
        name: name.to_owned(),
        identity: identity.to_owned(),
        fencing_token: resource_version.parse().unwrap_or(0),
        resource_version,
        acquire_time: lease
            .spec
            .acquire_time
            .unwrap_or(crate::host::MicroTime { unix_micros: 0 }),
        valid_until: crate::host::MicroTime {
            unix_micros: renewed.map_or(0, |t| t.unix_micros + duration * 1_000_000),
        },
        valid_until_monotonic_ns: 0,
    };
    called(replica.release(&locker, &hold).await)?;
    eprintln!("released lease {name:?} held by {identity:?}");
    Ok(())
}

/// How long to wait before renewing: half of what is left of the hold's validity (wall clock
/// `now_micros`), at least [`MIN_RENEW_WAIT`].
fn renew_wait(hold: &Hold, now_micros: i64) -> Duration {
    let left = u64::try_from(hold.valid_until.unix_micros - now_micros).unwrap_or(0);
    Duration::from_micros(left / 2).max(MIN_RENEW_WAIT)
}

/// The hold as one JSON object: name, identity, resourceVersion, acquireTime, validUntil and
/// fencingToken.
pub fn hold_json(hold: &Hold) -> Value {
    json!({
        "name": hold.name,
        "identity": hold.identity,
        "resourceVersion": hold.resource_version,
        "acquireTime": micro_time(hold.acquire_time),
        "validUntil": micro_time(hold.valid_until),
        "fencingToken": hold.fencing_token,
    })
}

/// A JSON string's text (`null` as such).
fn text(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::MicroTime;

    fn hold(valid_until: i64) -> Hold {
        Hold {
            name: "cert-lock-1".into(),
            identity: "a".into(),
            resource_version: "41".into(),
            acquire_time: MicroTime {
                unix_micros: 1_795_860_000_123_456,
            },
            valid_until: MicroTime {
                unix_micros: valid_until,
            },
            valid_until_monotonic_ns: 7,
            fencing_token: 41,
        }
    }

    #[test]
    fn a_hold_prints_as_one_line_with_its_fencing_token() {
        let line = hold_json(&hold(1_795_860_010_000_000)).to_string();
        assert_eq!(
            line,
            r#"{"name":"cert-lock-1","identity":"a","resourceVersion":"41","acquireTime":"2026-11-28T10:00:00.123456Z","validUntil":"2026-11-28T10:00:10.000000Z","fencingToken":41}"#
        );
    }

    #[test]
    fn renewal_comes_at_half_the_validity_left_and_never_in_a_busy_loop() {
        let now = 1_000_000_000;
        assert_eq!(
            renew_wait(&hold(now + 4_000_000), now),
            Duration::from_secs(2)
        );
        assert_eq!(renew_wait(&hold(now - 1), now), MIN_RENEW_WAIT);
    }
}
