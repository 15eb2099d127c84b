//! The hold checker on hand-made histories: a safe one passes, and each kind of unsafety is
//! caught.

use super::{HoldRecord, check_holds};
use crate::apiserver::{Verb, WriteRecord};

const LEASE: &str = "cert-lock-a379a6f6eeafb9a5";

/// The accepted writes of `LEASE`, in log order: (revision, at ms, verb, holder; "" released).
fn log(writes: &[(u64, i64, Verb, &str)]) -> Vec<WriteRecord> {
    (1..)
        .zip(writes)
        .map(|(seq, &(rv, at, verb, holder))| write(seq, rv, at, verb, holder))
        .collect()
}

/// The `seq`th write: of `LEASE` at `at` ms, revision `rv`, holder `holder`.
fn write(seq: u64, rv: u64, at: i64, verb: Verb, holder: &str) -> WriteRecord {
    WriteRecord {
        seq,
        at_unix_micros: at * 1000,
        verb,
        namespace: "netbird".into(),
        name: LEASE.into(),
        resource_version: rv.to_string(),
        uid: "u".into(),
        user: "system:serviceaccount:netbird:test".into(),
        holder: Some(holder.into()),
        acquire_time: None,
        renew_time: None,
        lease_duration_seconds: Some(2),
        lease_transitions: None,
    }
}

/// A hold of `LEASE` by `identity` with `token`, from `from` to `to` ms.
fn hold(identity: &str, token: u64, from: i64, to: i64) -> HoldRecord {
    HoldRecord {
        lease: LEASE.into(),
        identity: identity.into(),
        token,
        acquired_at: from * 1000,
        released_at: to * 1000,
    }
}

/// a holds from 10 to 20 ms and releases; b takes it at 25 and holds to 40.
fn handoff() -> (Vec<WriteRecord>, Vec<HoldRecord>) {
    let log = log(&[
        (1, 9, Verb::Create, "a"),
        (2, 21, Verb::Update, "a"),
        (3, 21, Verb::Update, ""),
        (4, 24, Verb::Update, "b"),
    ]);
    (log, vec![hold("b", 4, 25, 40), hold("a", 1, 10, 20)])
}

#[test]
fn a_clean_handoff_is_safe() {
    let (log, holds) = handoff();
    let verdict = check_holds(&log, &holds);
    assert!(verdict.is_safe(), "{verdict:?}");
    assert_eq!(verdict.holds, 2);
}

#[test]
fn overlapping_holds_are_caught() {
    // a keeps acting until 30 although b took the lease at 24.
    let (log, mut holds) = handoff();
    holds[1].released_at = 30_000;
    let verdict = check_holds(&log, &holds);
    assert_eq!(verdict.overlaps.len(), 2, "{verdict:?}");
    assert!(
        verdict.overlaps[0].contains("b wrote it (rv 4"),
        "{verdict:?}"
    );
    assert!(
        verdict.overlaps[1].contains("b (token 4) held it from 24000 while a"),
        "{verdict:?}"
    );
    assert!(verdict.token_regressions.is_empty() && verdict.unlogged.is_empty());
}

#[test]
fn an_overlap_is_caught_from_the_reports_alone() {
    // The log window no longer has the writes: the reported intervals still give it away.
    let verdict = check_holds(&[], &[hold("a", 1, 10, 20), hold("b", 2, 15, 30)]);
    assert_eq!(verdict.unlogged.len(), 2, "{verdict:?}");
    assert_eq!(
        verdict.overlaps,
        [format!(
            "{LEASE}: b (token 2) held it from 15000 while a (token 1) held it until 20000 (5 ms together)"
        )]
    );
}

#[test]
fn a_token_that_does_not_increase_is_caught() {
    // b's hold follows a's in time but carries a smaller token.
    let log = log(&[
        (5, 9, Verb::Create, "a"),
        (6, 21, Verb::Update, ""),
        (4, 24, Verb::Update, "b"),
    ]);
    let verdict = check_holds(&log, &[hold("a", 5, 10, 20), hold("b", 4, 25, 40)]);
    assert_eq!(
        verdict.token_regressions,
        [format!("{LEASE}: b's token 4 follows a's token 5")]
    );
    assert!(verdict.overlaps.is_empty());
    assert!(!verdict.is_safe());
}

#[test]
fn a_repeated_token_is_caught() {
    let (log, _) = handoff();
    let verdict = check_holds(&log, &[hold("a", 1, 10, 20), hold("a", 1, 30, 40)]);
    assert_eq!(verdict.token_regressions.len(), 1, "{verdict:?}");
}

#[test]
fn a_token_the_log_does_not_back_is_caught() {
    let (log, _) = handoff();
    // rv 4 made b the holder, not c; rv 7 was never written.
    let verdict = check_holds(&log, &[hold("c", 4, 25, 30), hold("c", 7, 31, 40)]);
    assert_eq!(verdict.unlogged.len(), 2, "{verdict:?}");
}

#[test]
fn a_delete_during_a_hold_is_caught() {
    let log = log(&[(1, 9, Verb::Create, "a"), (2, 15, Verb::Delete, "a")]);
    let verdict = check_holds(&log, &[hold("a", 1, 10, 20)]);
    assert_eq!(verdict.overlaps.len(), 1, "{verdict:?}");
    assert!(verdict.overlaps[0].contains("a delete"), "{verdict:?}");
}

#[test]
fn holds_of_different_leases_may_overlap() {
    let mut log = log(&[(1, 9, Verb::Create, "a")]);
    let mut other = write(2, 2, 9, Verb::Create, "b");
    other.name = "other".into();
    log.push(other);
    let mut b = hold("b", 2, 10, 20);
    b.lease = "other".into();
    let verdict = check_holds(&log, &[hold("a", 1, 10, 20), b]);
    assert!(verdict.is_safe(), "{verdict:?}");
}
