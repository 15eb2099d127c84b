//! Each of the emulator's faults, singly, against the real component: what the caller sees,
//! whether the request was sent again (the request log), and that the lock layer settles a
//! write whose reply was lost by reading the lease back — no phantom hold, no second write.

use std::time::{Duration, Instant};

use host_test::apiserver::{Fault, FaultRule, Verb};
use host_test::host::{ExpiryRule, LeaseError, StatusKind};

use crate::fault_support::*;
use crate::lock_support::*;
use crate::support::*;

#[tokio::test]
async fn a_get_answered_503_once_succeeds_on_the_second_try() {
    let (cluster, _account, mut replica, client) = connected().await;
    ok(replica.create(&client, &held(LEASE, "a", T0)).await);
    cluster.api.inject(once(Fault::Unavailable, "get"));
    let lease = ok(replica.get(&client, LEASE).await).expect("the lease");
    assert_eq!(lease.spec.holder_identity.as_deref(), Some("a"));
    assert_eq!(statuses(&cluster, "GET"), [503, 200]);
}

#[tokio::test]
async fn reads_are_tried_again_after_500_and_504_and_writes_after_neither() {
    let (cluster, _account, mut replica, client) = connected().await;
    cluster.api.inject(once(Fault::InternalError, "get"));
    cluster.api.inject(once(Fault::ServerTimeout, "get"));
    assert_eq!(ok(replica.get(&client, LEASE).await), None);
    assert_eq!(statuses(&cluster, "GET"), [500, 504, 404]);

    for (fault, code) in [(Fault::InternalError, 500), (Fault::ServerTimeout, 504)] {
        cluster.api.inject(once(fault, "create"));
        match err(replica.create(&client, &held(LEASE, "a", T0)).await) {
            LeaseError::Api(s) => assert_eq!((s.kind, s.code), (StatusKind::Server, code)),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(statuses(&cluster, "POST"), [500, 504], "never sent twice");
    assert_eq!(writes(&cluster, Verb::Create), 0);
}

#[tokio::test]
async fn a_write_answered_503_is_tried_again() {
    let (cluster, _account, mut replica, client) = connected().await;
    cluster.api.inject(once(Fault::Unavailable, "create"));
    let mut lease = ok(replica.create(&client, &held(LEASE, "a", T0)).await);
    lease.spec.holder_identity = Some("b".into());
    cluster.api.inject(once(Fault::Unavailable, "update"));
    ok(replica.update(&client, &lease).await);
    assert_eq!(statuses(&cluster, "POST"), [503, 201]);
    assert_eq!(statuses(&cluster, "PUT"), [503, 200]);
    assert_eq!(
        (
            writes(&cluster, Verb::Create),
            writes(&cluster, Verb::Update)
        ),
        (1, 1)
    );
}

#[tokio::test]
async fn a_429_is_waited_out_for_its_retry_after_in_both_forms_even_on_a_write() {
    let (cluster, _account, mut replica, client) = connected().await;
    cluster.api.inject(once(throttled(1, true), "get"));
    let started = Instant::now();
    assert_eq!(ok(replica.get(&client, LEASE).await), None);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1"
    );
    assert_eq!(statuses(&cluster, "GET"), [429, 404]);

    cluster.api.inject(once(throttled(1, false), "create"));
    let started = Instant::now();
    ok(replica.create(&client, &held(LEASE, "a", T0)).await);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "retryAfterSeconds: 1"
    );
    assert_eq!(statuses(&cluster, "POST"), [429, 201]);
    assert_eq!(writes(&cluster, Verb::Create), 1);
}

#[tokio::test]
async fn a_long_retry_after_goes_back_to_the_caller_without_waiting() {
    let (cluster, _account, mut replica, client) = connected().await;
    cluster.api.inject(once(throttled(30, true), "get"));
    let started = Instant::now();
    match err(replica.get(&client, LEASE).await) {
        LeaseError::Api(s) => {
            assert_eq!((s.kind, s.code), (StatusKind::TooManyRequests, 429));
            assert_eq!(s.retry_after_seconds, Some(30));
        }
        other => panic!("{other:?}"),
    }
    // Generous: 30 s were not slept.
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(statuses(&cluster, "GET"), [429]);
}

#[tokio::test]
async fn a_create_whose_reply_was_lost_is_the_hold_when_the_lease_names_us() {
    let cluster = cluster().await;
    let mut a = plain(&cluster, "proxy-0", 300).await;
    cluster.api.inject(once(Fault::ResetAfterApply, "create"));
    let held = a.take(LEASE).await;
    let creates = history_of(&cluster, Verb::Create);
    assert_eq!(creates.len(), 1, "exactly one create");
    assert_eq!(
        held.hold.fencing_token.to_string(),
        creates[0].resource_version
    );
    assert_eq!(held.hold.resource_version, creates[0].resource_version);
    assert_eq!(faults_of(&cluster, "POST"), [Some("reset-after-apply")]);
    // It really is the hold: renewing and releasing it work.
    let renewed = ok(a.replica.renew(&a.locker, &held.hold).await);
    assert_eq!(renewed.fencing_token, held.hold.fencing_token);
    ok(a.replica.release(&a.locker, &renewed).await);
}

#[tokio::test]
async fn a_create_that_did_not_happen_is_an_error_for_one_try_and_retried_by_acquire() {
    let cluster = cluster().await;
    let mut a = plain(&cluster, "proxy-0", 300).await;
    cluster.api.inject(once(Fault::ResetBeforeApply, "create"));
    match err(a.replica.try_acquire(&a.locker, LEASE, &[]).await) {
        LeaseError::Transport(m) => assert!(m.contains("connection"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(cluster.api.stored(NS, LEASE), None, "no phantom lease");
    cluster.api.inject(once(Fault::ResetBeforeApply, "create"));
    let held = a.acquire(LEASE, 5_000).await;
    assert_eq!(writes(&cluster, Verb::Create), 1);
    assert_eq!(
        faults_of(&cluster, "POST"),
        [Some("reset-before-apply"), Some("reset-before-apply"), None]
    );
    assert_eq!(
        held.hold.fencing_token.to_string(),
        history_of(&cluster, Verb::Create)[0].resource_version
    );
}

#[tokio::test]
async fn a_raw_create_whose_reply_was_lost_is_a_transport_error_sent_once() {
    let (cluster, _account, mut replica, client) = connected().await;
    cluster.api.inject(once(Fault::ResetAfterApply, "create"));
    assert!(matches!(
        err(replica.create(&client, &held(LEASE, "a", T0)).await),
        LeaseError::Transport(_)
    ));
    assert_eq!(faults_of(&cluster, "POST"), [Some("reset-after-apply")]);
    // The write happened: the caller of the raw API reads back to learn it.
    assert!(ok(replica.get(&client, LEASE).await).is_some());
}

#[tokio::test]
async fn a_renewal_or_release_whose_reply_was_lost_is_settled_by_reading_back() {
    let cluster = cluster().await;
    let mut a = plain(&cluster, "proxy-0", 300).await;
    let held = a.take(LEASE).await;
    // Applied, reply lost: the renewal stands, written once.
    cluster.api.inject(once(Fault::ResetAfterApply, "update"));
    let renewed = ok(a.replica.renew(&a.locker, &held.hold).await);
    let updates = history_of(&cluster, Verb::Update);
    assert_eq!(updates.len(), 1);
    assert_eq!(renewed.resource_version, updates[0].resource_version);
    assert_eq!(renewed.fencing_token, held.hold.fencing_token);
    // Not applied: the lease still records the hold, so it is written again.
    cluster.api.inject(once(Fault::ResetBeforeApply, "update"));
    let again = ok(a.replica.renew(&a.locker, &renewed).await);
    assert_eq!(writes(&cluster, Verb::Update), 2);
    assert!(again.valid_until.unix_micros >= renewed.valid_until.unix_micros);
    // A release applied with its reply lost is a release.
    cluster.api.inject(once(Fault::ResetAfterApply, "update"));
    ok(a.replica.release(&a.locker, &again).await);
    let stored = cluster.api.stored(NS, LEASE).unwrap();
    assert!(stored.contains(r#""holderIdentity":"""#), "{stored}");
    assert_eq!(writes(&cluster, Verb::Update), 3);
    assert_eq!(
        faults_of(&cluster, "PUT"),
        [
            Some("reset-after-apply"),
            Some("reset-before-apply"),
            None,
            Some("reset-after-apply")
        ]
    );
}

#[tokio::test]
async fn a_hung_request_is_a_timeout_within_the_deadline_and_no_hold() {
    let cluster = cluster().await;
    let (mut replica, client) = short_timeout_client(&cluster, "a", 1_000).await;
    cluster.api.inject(once(Fault::Hang, "get"));
    let started = Instant::now();
    assert!(matches!(
        err(replica.get(&client, LEASE).await),
        LeaseError::Timeout(_)
    ));
    // Generous "never hangs" bound: the hang lasts a minute.
    assert!(started.elapsed() < Duration::from_secs(15));

    let locker = ok(replica
        .locker_create(&client, &options("a", 300, ExpiryRule::ObservedTime))
        .await);
    cluster.api.inject(once(Fault::Hang, "create"));
    let started = Instant::now();
    assert!(matches!(
        err(replica.try_acquire(&locker, LEASE, &[]).await),
        LeaseError::Timeout(_)
    ));
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(cluster.api.stored(NS, LEASE), None, "no phantom lease");
}

#[tokio::test]
async fn bad_bodies_are_decode_or_transport_errors_and_cut_reads_are_tried_again() {
    let (cluster, _account, mut replica, client) = connected().await;
    ok(replica.create(&client, &held(LEASE, "a", T0)).await);
    // Malformed JSON on every try: after the last, the decode error.
    cluster
        .api
        .inject(FaultRule::next(4, Fault::MalformedJson).on_verb("get"));
    assert!(matches!(
        err(replica.get(&client, LEASE).await),
        LeaseError::Decode(_)
    ));
    cluster
        .api
        .inject(once(Fault::OversizedBody { bytes: 2 << 20 }, "get"));
    match err(replica.get(&client, LEASE).await) {
        LeaseError::Decode(m) => assert!(m.contains("larger than"), "{m}"),
        other => panic!("{other:?}"),
    }
    cluster.api.inject(once(Fault::CutBody, "get"));
    assert!(ok(replica.get(&client, LEASE).await).is_some());
    cluster
        .api
        .inject(FaultRule::next(10, Fault::CutBody).on_verb("get"));
    assert!(matches!(
        err(replica.get(&client, LEASE).await),
        LeaseError::Transport(_)
    ));
    cluster.api.clear_faults();
    assert_eq!(
        faults_of(&cluster, "GET"),
        [
            Some("malformed-json"),
            Some("malformed-json"),
            Some("malformed-json"),
            Some("malformed-json"),
            Some("oversized-body"),
            Some("cut-body"),
            None,
            Some("cut-body"),
            Some("cut-body"),
            Some("cut-body"),
            Some("cut-body"),
        ]
    );
}

#[tokio::test]
async fn an_unreadable_reply_to_a_create_is_settled_by_reading_back() {
    let cluster = cluster().await;
    let mut a = plain(&cluster, "proxy-0", 300).await;
    // The emulator does not apply a write it answers with malformed JSON.
    cluster.api.inject(once(Fault::MalformedJson, "create"));
    assert!(matches!(
        err(a.replica.try_acquire(&a.locker, LEASE, &[]).await),
        LeaseError::Decode(_)
    ));
    assert_eq!(cluster.api.stored(NS, LEASE), None);
    // It applies a write whose reply it cuts: that is the hold.
    cluster.api.inject(once(Fault::CutBody, "create"));
    let held = a.take(LEASE).await;
    assert_eq!(
        held.hold.fencing_token.to_string(),
        history_of(&cluster, Verb::Create)[0].resource_version
    );
    assert_eq!(writes(&cluster, Verb::Create), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_silent_or_expired_watch_still_ends_in_the_hold() {
    let cluster = cluster().await;
    for (i, fault) in [Fault::WatchCut, Fault::WatchSilent, Fault::WatchExpired]
        .into_iter()
        .enumerate()
    {
        let name = format!("watched-{i}");
        let kind = fault.kind();
        let mut a = plain(&cluster, &format!("a-{i}"), 1).await;
        let mut b = plain(&cluster, &format!("b-{i}"), 1).await;
        let first = a.take(&name).await;
        cluster
            .api
            .inject(FaultRule::next(1, fault).on_verb("watch").on_name(&name));
        // a never renews: b takes over after a lease duration of silence.
        let second = b.acquire(&name, 10_000).await;
        assert!(
            second.hold.fencing_token > first.hold.fencing_token,
            "{kind}"
        );
        assert_eq!(cluster.api.faults_fired().get(kind), Some(&1), "{kind}");
    }
}

#[tokio::test]
async fn a_restart_keeping_the_store_keeps_the_hold_and_one_losing_it_says_lost() {
    let cluster = cluster().await;
    let mut a = plain(&cluster, "proxy-0", 300).await;
    let held = a.take(LEASE).await;
    cluster.api.restart(true).await.unwrap();
    let renewed = ok(a.replica.renew(&a.locker, &held.hold).await);
    cluster.api.restart(false).await.unwrap();
    match err(a.replica.renew(&a.locker, &renewed).await) {
        LeaseError::Lost(m) => assert!(m.contains("deleted"), "{m}"),
        other => panic!("{other:?}"),
    }
    // Taken again afresh, with a larger token: revisions survive the loss.
    let again = a.take(LEASE).await;
    assert!(again.hold.fencing_token > renewed.fencing_token);
}

#[tokio::test]
async fn a_rotated_certificate_from_the_same_ca_works_and_a_new_ca_is_a_tls_error() {
    let (cluster, account, mut replica, client) = connected().await;
    ok(replica.create(&client, &held(LEASE, "a", T0)).await);
    cluster.api.rotate_certificate(false).unwrap();
    // A restart closes every connection, so the next request makes a new handshake.
    cluster.api.restart(true).await.unwrap();
    assert!(ok(replica.get(&client, LEASE).await).is_some());

    cluster.api.rotate_certificate(true).unwrap();
    cluster.api.restart(true).await.unwrap();
    match err(replica.get(&client, LEASE).await) {
        LeaseError::Transport(m) => assert!(m.contains("TLS"), "{m}"),
        other => panic!("{other:?}"),
    }
    // A pod given the new CA (as a new service-account mount would) gets through.
    cluster
        .api
        .write_service_account_dir(&account.dir, &account.token, NS)
        .unwrap();
    let (mut renewed, client) = cluster.replica(&account).await.unwrap();
    assert!(ok(renewed.get(&client, LEASE).await).is_some());
}

#[tokio::test]
async fn a_slow_body_is_read_within_the_timeout_or_is_a_timeout() {
    let cluster = cluster().await;
    let (mut replica, client) = short_timeout_client(&cluster, "a", 1_000).await;
    ok(replica.create(&client, &held(LEASE, "a", T0)).await);
    cluster
        .api
        .inject(once(Fault::SlowBody { chunk_delay_ms: 2 }, "get"));
    assert!(ok(replica.get(&client, LEASE).await).is_some());
    // Hundreds of 16-byte chunks a quarter second apart: far past the second allowed.
    cluster.api.inject(once(
        Fault::SlowBody {
            chunk_delay_ms: 250,
        },
        "get",
    ));
    let started = Instant::now();
    assert!(matches!(
        err(replica.get(&client, LEASE).await),
        LeaseError::Timeout(_)
    ));
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(
        faults_of(&cluster, "GET"),
        [Some("slow-body"), Some("slow-body")]
    );
}
