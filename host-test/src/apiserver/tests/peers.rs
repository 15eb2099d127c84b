//! Replays of the exact requests the Rust lock crates send (read from their sources:
//! kube-lease-manager 0.12.0 / 0.13.1 `src/state.rs`, kube-leader-election 0.44.0
//! `src/lease.rs`, with kube-core's request builder, which writes `?&fieldManager=`), checking
//! each gets the answer the crate's logic expects from a real apiserver.

use super::*;

const APPLY: &str = "application/apply-patch+yaml";
const STRATEGIC: &str = "application/strategic-merge-patch+json";
const MERGE: &str = "application/merge-patch+json";

/// What kube-rs sends: the method, path and query, content type (none for GET) and body.
async fn kube(
    c: &Client,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> Resp {
    let mut headers = vec![("accept", "application/json"), ("user-agent", "kube-rs")];
    if let Some(ct) = content_type {
        headers.push(("content-type", ct));
    }
    c.send(method, path, &headers, body).await.expect("send")
}

/// A kube-rs PATCH of `path`, which must answer `code`; returns the response body.
async fn patch(c: &Client, path: &str, content_type: &str, body: &str, code: u16) -> Value {
    let r = kube(c, Method::PATCH, path, Some(content_type), body).await;
    assert_eq!(r.code, code, "{}", r.body);
    r.json()
}

/// A kube-rs create (`Api::create`: `POST …/leases?`), which must answer 201.
async fn create_as_kube(c: &Client, body: &str) -> Value {
    let path = format!("{LEASES}?");
    let r = kube(c, Method::POST, &path, Some("application/json"), body).await;
    assert_eq!(r.code, 201, "{}", r.body);
    r.json()
}

/// A Lease patch body with `spec` (and `metadata`, if any, as kube-leader-election sends).
fn lease_patch(metadata: bool, spec: &str) -> String {
    let metadata = if metadata {
        r#""metadata":{"name":"lock"},"#
    } else {
        ""
    };
    format!(r#"{{"apiVersion":"coordination.k8s.io/v1","kind":"Lease",{metadata}"spec":{spec}}}"#)
}

/// kube-lease-manager's lease-lock body (`Patch::Apply`, serde_json's sorted keys).
fn lock_body(identity: &str, now: &str) -> String {
    lease_patch(
        false,
        &format!(
            r#"{{"acquireTime":"{now}","holderIdentity":"{identity}","leaseDurationSeconds":5,"renewTime":"{now}"}}"#
        ),
    )
}

fn transitions_body(n: i32) -> String {
    lease_patch(false, &format!(r#"{{"leaseTransitions":{n}}}"#))
}

#[tokio::test]
async fn kube_lease_manager_lock_conflict_renew_release_relock() {
    let (_server, c) = server(Options::default()).await;
    let lease = format!("{LEASES}/lock");
    let patch_a = format!("{lease}?&fieldManager=kube-lease-manager-a");
    let patch_b = format!("{lease}?&fieldManager=kube-lease-manager-b");
    let t0 = "2026-11-29T18:00:00.000000Z";
    let t1 = "2026-11-29T18:00:01.000000Z";

    // LeaseState::new(AutoCreate): get (404), create an empty lease.
    assert_eq!(kube(&c, Method::GET, &lease, None, "").await.code, 404);
    let body =
        r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"lock"}}"#;
    assert_eq!(
        create_as_kube(&c, body).await["spec"],
        serde_json::json!({})
    );

    // a locks the orphaned lease: apply, then a strategic patch of the transitions.
    patch(&c, &patch_a, APPLY, &lock_body("a", t0), 200).await;
    patch(&c, &patch_a, STRATEGIC, &transitions_body(1), 200).await;
    let v = kube(&c, Method::GET, &lease, None, "").await.json();
    assert_eq!(v["spec"]["holderIdentity"], "a");
    assert_eq!(v["spec"]["leaseTransitions"], 1);

    // b, believing the lease orphaned, tries the same: 409 Conflict is its LockConflict.
    let v = patch(&c, &patch_b, APPLY, &lock_body("b", t1), 409).await;
    assert_eq!(v["reason"], "Conflict");

    // a renews (strategic), then releases (strategic, nulls).
    let renew = lease_patch(
        false,
        &format!(r#"{{"leaseDurationSeconds":5,"renewTime":"{t1}"}}"#),
    );
    let v = patch(&c, &patch_a, STRATEGIC, &renew, 200).await;
    assert_eq!(v["spec"]["renewTime"], t1);
    let release = lease_patch(
        false,
        r#"{"acquireTime":null,"holderIdentity":null,"leaseDurationSeconds":null,"renewTime":null}"#,
    );
    let v = patch(&c, &patch_a, STRATEGIC, &release, 200).await;
    assert_eq!(v["spec"], serde_json::json!({"leaseTransitions": 1}));

    // Now b's apply goes through.
    patch(&c, &patch_b, APPLY, &lock_body("b", t1), 200).await;
    let v = patch(&c, &patch_b, STRATEGIC, &transitions_body(2), 200).await;
    assert_eq!(v["spec"]["holderIdentity"], "b");
    assert_eq!(v["spec"]["leaseTransitions"], 2);
    // And a, with a stale view, now conflicts with b.
    patch(&c, &patch_a, APPLY, &lock_body("a", t1), 409).await;
}

#[tokio::test]
async fn kube_leader_election_create_renew_take_over_step_down() {
    let (_server, c) = server(Options::default()).await;
    let lease = format!("{LEASES}/lock");
    let as_a = format!("{lease}?&fieldManager=a");
    let as_b = format!("{lease}?&fieldManager=b");
    let t0 = "2026-11-29T18:00:00.000000+00:00";
    let t1 = "2026-11-29T18:00:20.000000+00:00";

    // try_acquire_or_renew: get (404), create (k8s-openapi serializes MicroTime with `Z`).
    assert_eq!(kube(&c, Method::GET, &lease, None, "").await.code, 404);
    let created = lease_patch(
        true,
        r#"{"acquireTime":"2026-11-29T18:00:00.000000Z","holderIdentity":"a","leaseDurationSeconds":15,"leaseTransitions":0,"renewTime":"2026-11-29T18:00:00.000000Z"}"#,
    );
    create_as_kube(&c, &created).await;

    // renew_lease: a merge patch with a fieldManager and a `+00:00` MicroTime.
    let renew = lease_patch(
        true,
        &format!(r#"{{"leaseDurationSeconds":15,"renewTime":"{t0}"}}"#),
    );
    let v = patch(&c, &as_a, MERGE, &renew, 200).await;
    assert_eq!(v["spec"]["renewTime"], "2026-11-29T18:00:00.000000Z");

    // acquire_lease by b once expired.
    let acquire = lease_patch(
        true,
        &format!(
            r#"{{"acquireTime":"{t1}","holderIdentity":"b","leaseDurationSeconds":15,"leaseTransitions":1,"renewTime":"{t1}"}}"#
        ),
    );
    let v = patch(&c, &as_b, MERGE, &acquire, 200).await;
    assert_eq!(v["spec"]["holderIdentity"], "b");
    assert_eq!(v["spec"]["leaseTransitions"], 1);

    // step_down: get, then a merge patch emptying the holder.
    assert_eq!(kube(&c, Method::GET, &lease, None, "").await.code, 200);
    let step_down = lease_patch(
        true,
        &format!(
            r#"{{"acquireTime":"{t1}","holderIdentity":"","leaseDurationSeconds":1,"renewTime":"{t1}"}}"#
        ),
    );
    let v = patch(&c, &as_b, MERGE, &step_down, 200).await;
    assert_eq!(v["spec"]["holderIdentity"], "");
    assert_eq!(v["spec"]["leaseDurationSeconds"], 1);
}
