//! Replays of the exact requests the Rust lock crates send (read from their sources:
//! kube-lease-manager 0.12.0 / 0.13.1 `src/state.rs`, kube-leader-election 0.44.0
//! `src/lease.rs`, with kube-core 4.2's request builder), checking each gets the answer the
//! crate's logic expects from a real apiserver.

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

/// kube-lease-manager's lease-lock body (`Patch::Apply`, serde_json's sorted keys).
fn lock_body(identity: &str, now: &str) -> String {
    format!(
        r#"{{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","spec":{{"acquireTime":"{now}","holderIdentity":"{identity}","leaseDurationSeconds":5,"renewTime":"{now}"}}}}"#
    )
}

fn transitions_body(n: i32) -> String {
    format!(
        r#"{{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","spec":{{"leaseTransitions":{n}}}}}"#
    )
}

#[tokio::test]
async fn kube_lease_manager_lock_conflict_renew_release_relock() {
    let (_server, c) = server(Options::default()).await;
    let lease = format!("{LEASES}/lock");
    let patch_a = format!("{lease}?fieldManager=kube-lease-manager-a");
    let patch_b = format!("{lease}?fieldManager=kube-lease-manager-b");
    let t0 = "2026-11-29T18:00:00.000000Z";
    let t1 = "2026-11-29T18:00:01.000000Z";

    // LeaseState::new(AutoCreate): get (404), create an empty lease.
    assert_eq!(kube(&c, Method::GET, &lease, None, "").await.code, 404);
    let r = kube(
        &c,
        Method::POST,
        &format!("{LEASES}?"),
        Some("application/json"),
        r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"lock"}}"#,
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.json()["spec"], serde_json::json!({}));

    // a locks the orphaned lease: apply, then a strategic patch of the transitions.
    let r = kube(
        &c,
        Method::PATCH,
        &patch_a,
        Some(APPLY),
        &lock_body("a", t0),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let r = kube(
        &c,
        Method::PATCH,
        &patch_a,
        Some(STRATEGIC),
        &transitions_body(1),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let v = kube(&c, Method::GET, &lease, None, "").await.json();
    assert_eq!(v["spec"]["holderIdentity"], "a");
    assert_eq!(v["spec"]["leaseTransitions"], 1);

    // b, believing the lease orphaned, tries the same: 409 Conflict is its LockConflict.
    let r = kube(
        &c,
        Method::PATCH,
        &patch_b,
        Some(APPLY),
        &lock_body("b", t1),
    )
    .await;
    assert_eq!(r.code, 409, "{}", r.body);
    assert_eq!(r.json()["reason"], "Conflict");

    // a renews (strategic), then releases (strategic, nulls).
    let renew = format!(
        r#"{{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","spec":{{"leaseDurationSeconds":5,"renewTime":"{t1}"}}}}"#
    );
    let r = kube(&c, Method::PATCH, &patch_a, Some(STRATEGIC), &renew).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.json()["spec"]["renewTime"], t1);
    let release = r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","spec":{"acquireTime":null,"holderIdentity":null,"leaseDurationSeconds":null,"renewTime":null}}"#;
    let r = kube(&c, Method::PATCH, &patch_a, Some(STRATEGIC), release).await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.json()["spec"], serde_json::json!({"leaseTransitions": 1}));

    // Now b's apply goes through.
    let r = kube(
        &c,
        Method::PATCH,
        &patch_b,
        Some(APPLY),
        &lock_body("b", t1),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let r = kube(
        &c,
        Method::PATCH,
        &patch_b,
        Some(STRATEGIC),
        &transitions_body(2),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["spec"]["holderIdentity"], "b");
    assert_eq!(v["spec"]["leaseTransitions"], 2);
    // And a, with a stale view, now conflicts with b.
    let r = kube(
        &c,
        Method::PATCH,
        &patch_a,
        Some(APPLY),
        &lock_body("a", t1),
    )
    .await;
    assert_eq!(r.code, 409, "{}", r.body);
}

#[tokio::test]
async fn kube_leader_election_create_renew_take_over_step_down() {
    let (_server, c) = server(Options::default()).await;
    let lease = format!("{LEASES}/lock");
    let t0 = "2026-11-29T18:00:00.000000+00:00";
    let t1 = "2026-11-29T18:00:20.000000+00:00";

    // try_acquire_or_renew: get (404), create (k8s-openapi serializes MicroTime with `Z`).
    assert_eq!(kube(&c, Method::GET, &lease, None, "").await.code, 404);
    let created = r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"lock"},"spec":{"acquireTime":"2026-11-29T18:00:00.000000Z","holderIdentity":"a","leaseDurationSeconds":15,"leaseTransitions":0,"renewTime":"2026-11-29T18:00:00.000000Z"}}"#;
    let r = kube(
        &c,
        Method::POST,
        &format!("{LEASES}?"),
        Some("application/json"),
        created,
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);

    // renew_lease: a merge patch with a fieldManager and a `+00:00` MicroTime.
    let renew = format!(
        r#"{{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{{"name":"lock"}},"spec":{{"leaseDurationSeconds":15,"renewTime":"{t0}"}}}}"#
    );
    let r = kube(
        &c,
        Method::PATCH,
        &format!("{lease}?fieldManager=a"),
        Some(MERGE),
        &renew,
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.json()["spec"]["renewTime"], "2026-11-29T18:00:00.000000Z");

    // acquire_lease by b once expired.
    let acquire = format!(
        r#"{{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{{"name":"lock"}},"spec":{{"acquireTime":"{t1}","holderIdentity":"b","leaseDurationSeconds":15,"leaseTransitions":1,"renewTime":"{t1}"}}}}"#
    );
    let r = kube(
        &c,
        Method::PATCH,
        &format!("{lease}?fieldManager=b"),
        Some(MERGE),
        &acquire,
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["spec"]["holderIdentity"], "b");
    assert_eq!(v["spec"]["leaseTransitions"], 1);

    // step_down: get, then a merge patch emptying the holder.
    assert_eq!(kube(&c, Method::GET, &lease, None, "").await.code, 200);
    let step_down = format!(
        r#"{{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{{"name":"lock"}},"spec":{{"acquireTime":"{t1}","holderIdentity":"","leaseDurationSeconds":1,"renewTime":"{t1}"}}}}"#
    );
    let r = kube(
        &c,
        Method::PATCH,
        &format!("{lease}?fieldManager=b"),
        Some(MERGE),
        &step_down,
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["spec"]["holderIdentity"], "");
    assert_eq!(v["spec"]["leaseDurationSeconds"], 1);
}
