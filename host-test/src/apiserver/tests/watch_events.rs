//! What a watch sends (`/work/shared/k8s-watch.md` §2, §4, §5, §8): the initial ADDEDs and
//! the initial-events-end bookmark, bookmarks only when allowed (periodic and before the
//! deadline), DELETED with the delete's revision, selector transitions as ADDED / DELETED,
//! and a client disconnect ending the watch.

use std::time::Duration;

use super::stream::{NEVER_HANGS, RawWatch};
use super::*;

/// A BOOKMARK line at `rv`, as the doc shows it.
fn bookmark(rv: u64) -> String {
    format!(
        r#"{{"type":"BOOKMARK","object":{{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{{"resourceVersion":"{rv}"}},"spec":{{}}}}}}"#
    ) + "\n"
}

/// An event line for `name` as stored now.
fn stored_line(server: &ApiServer, kind: &str, name: &str) -> String {
    let stored = server.stored(NS, name).expect("stored");
    format!("{{\"type\":\"{kind}\",\"object\":{stored}}}\n")
}

/// A server whose bookmarks follow `interval` and `before_deadline`.
async fn bookmarking(interval: Duration, before_deadline: Duration) -> (ApiServer, Client) {
    let limits = Limits {
        bookmark_interval: interval,
        bookmark_before_deadline: before_deadline,
        ..Limits::default()
    };
    server_with(Options::default(), limits).await
}

#[tokio::test]
async fn an_unset_or_0_resource_version_opens_with_the_state_and_the_end_bookmark() {
    let (server, c) = server(Options::default()).await;
    let a = create(&c, "a").await;
    create(&c, "b").await;
    let mut next = a.clone();
    next["spec"]["holderIdentity"] = "c".into();
    assert_eq!(
        c.put(&format!("{LEASES}/a"), &next.to_string()).await.code,
        200
    );
    let state = [
        stored_line(&server, "ADDED", "a"),
        stored_line(&server, "ADDED", "b"),
    ];
    assert!(
        state[0].contains(r#""resourceVersion":"3""#),
        "each its own RV"
    );
    assert!(
        state[1].contains(r#""resourceVersion":"2""#),
        "each its own RV"
    );
    let end = concat!(
        r#"{"type":"BOOKMARK","object":{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","#,
        r#""metadata":{"resourceVersion":"3","annotations":{"k8s.io/initial-events-end":"true"}},"#,
        r#""spec":{}}}"#,
        "\n"
    );
    for rv in ["", "&resourceVersion=0", "&resourceVersion="] {
        let path = format!("{LEASES}?watch=true{rv}&allowWatchBookmarks=true&timeoutSeconds=1");
        let (mut watch, _) = RawWatch::open(&server, &path).await;
        assert_eq!(watch.rest().await, [&state[0], &state[1], end], "{rv}");
        let path = format!("{LEASES}?watch=true{rv}&timeoutSeconds=1");
        let (mut watch, _) = RawWatch::open(&server, &path).await;
        assert_eq!(watch.rest().await, state, "no bookmark unless allowed");
    }
    // An explicit resourceVersion: only the changes after it.
    let path = format!("{LEASES}?watch=true&resourceVersion=1&timeoutSeconds=1");
    let (mut watch, _) = RawWatch::open(&server, &path).await;
    let after = [
        stored_line(&server, "ADDED", "b"),
        stored_line(&server, "MODIFIED", "a"),
    ];
    assert_eq!(watch.rest().await, after);
}

#[tokio::test]
async fn bookmarks_come_periodically_only_when_allowed() {
    let (server, c) = bookmarking(Duration::from_millis(100), Duration::from_millis(300)).await;
    let v = create(&c, "a").await;
    let from = format!(
        "{LEASES}?watch=true&resourceVersion={}&timeoutSeconds=2",
        rv(&v)
    );
    let (mut watch, _) = RawWatch::open(&server, &format!("{from}&allowWatchBookmarks=true")).await;
    let lines = watch.rest().await;
    assert!(!lines.is_empty(), "bookmarks every 100 ms for 1.7 s");
    for line in &lines {
        assert_eq!(line, &bookmark(1));
    }
    let (mut watch, _) = RawWatch::open(&server, &from).await;
    assert_eq!(
        watch.rest().await,
        Vec::<String>::new(),
        "none unless allowed"
    );
}

#[tokio::test]
async fn a_bookmark_comes_shortly_before_the_deadline() {
    // The periodic bookmark is an hour away: the only one is the pre-deadline bookmark.
    let (server, c) = bookmarking(Duration::from_secs(3600), Duration::from_millis(500)).await;
    let v = create(&c, "a").await;
    let path = format!(
        "{LEASES}?watch=true&resourceVersion={}&allowWatchBookmarks=true&timeoutSeconds=3",
        rv(&v)
    );
    let (mut watch, _) = RawWatch::open(&server, &path).await;
    // A write first (2.5 s before the bookmark is due): the bookmark carries the latest
    // resourceVersion, past every event sent.
    let mut next = v.clone();
    next["spec"]["holderIdentity"] = "b".into();
    assert_eq!(
        c.put(&format!("{LEASES}/a"), &next.to_string()).await.code,
        200
    );
    let modified = stored_line(&server, "MODIFIED", "a");
    assert_eq!(watch.rest().await, [modified, bookmark(2)]);
}

#[tokio::test]
async fn deleted_carries_the_lease_as_it_was_with_the_deletes_resource_version() {
    let (server, c) = server(Options::default()).await;
    let v = create(&c, "a").await;
    let before = server.stored(NS, "a").expect("stored");
    let path = format!("{LEASES}?watch=true&resourceVersion={}", rv(&v));
    let (mut watch, _) = RawWatch::open(&server, &path).await;
    assert_eq!(c.delete(&format!("{LEASES}/a"), "").await.code, 200);
    assert_eq!(server.revision(), 2);
    let gone = before.replace(r#""resourceVersion":"1""#, r#""resourceVersion":"2""#);
    let line = format!("{{\"type\":\"DELETED\",\"object\":{gone}}}\n");
    assert_eq!(watch.next_line().await, Some(line));
}

/// A lease body with labels `team=<team>` and holder `holder`.
fn labelled(name: &str, team: &str, holder: &str, rv: &str) -> String {
    format!(
        r#"{{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{{"name":"{name}","labels":{{"team":"{team}"}},"resourceVersion":"{rv}"}},"spec":{{"holderIdentity":"{holder}"}}}}"#
    )
}

#[tokio::test]
async fn a_lease_entering_or_leaving_a_label_selector_is_added_or_deleted() {
    let (server, c) = server(Options::default()).await;
    let r = c.post(LEASES, &labelled("a", "y", "h1", "")).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let path = format!("{LEASES}?watch=true&labelSelector=team%3Dx&resourceVersion=1");
    let (mut watch, _) = RawWatch::open(&server, &path).await;
    let put = |team: &'static str, holder: &'static str| {
        let c = &c;
        let server = &server;
        async move {
            let body = labelled("a", team, holder, &server.revision().to_string());
            assert_eq!(c.put(&format!("{LEASES}/a"), &body).await.code, 200);
        }
    };
    put("x", "h1").await;
    assert_eq!(
        watch.next_line().await,
        Some(stored_line(&server, "ADDED", "a"))
    );
    put("x", "h2").await;
    let matching = server.stored(NS, "a").expect("stored");
    assert_eq!(
        watch.next_line().await,
        Some(stored_line(&server, "MODIFIED", "a"))
    );
    put("y", "h3").await;
    // The old object (team=x, holder h2) at the revision of the update that moved it out.
    let gone = matching.replace(r#""resourceVersion":"3""#, r#""resourceVersion":"4""#);
    assert_eq!(
        watch.next_line().await,
        Some(format!("{{\"type\":\"DELETED\",\"object\":{gone}}}\n"))
    );
    // Changes to a lease outside the selector are not sent; the next line is b's ADDED.
    put("y", "h4").await;
    assert_eq!(c.delete(&format!("{LEASES}/a"), "").await.code, 200);
    assert_eq!(
        c.post(LEASES, &labelled("b", "x", "h1", "")).await.code,
        201
    );
    assert_eq!(
        watch.next_line().await,
        Some(stored_line(&server, "ADDED", "b"))
    );
}

/// Waits (generously) until the server counts `n` open watches.
async fn open_watches_reach(server: &ApiServer, n: usize) {
    tokio::time::timeout(NEVER_HANGS, async {
        while server.open_watches() != n {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("open watches stay at {}, not {n}", server.open_watches()));
}

#[tokio::test]
async fn a_client_disconnect_or_the_deadline_ends_the_watch() {
    let (server, c) = server(Options::default()).await;
    create(&c, "a").await;
    let (mut first, _) = RawWatch::open(&server, &format!("{LEASES}?watch=true")).await;
    let (second, _) = RawWatch::open(&server, &format!("{LEASES}?watch=true")).await;
    assert!(first.next_line().await.is_some(), "the initial ADDED");
    assert_eq!(server.open_watches(), 2);
    drop(first);
    open_watches_reach(&server, 1).await;
    drop(second);
    open_watches_reach(&server, 0).await;

    let (mut timed, _) =
        RawWatch::open(&server, &format!("{LEASES}?watch=true&timeoutSeconds=1")).await;
    assert_eq!(server.open_watches(), 1);
    timed.rest().await;
    open_watches_reach(&server, 0).await;
}

#[tokio::test]
async fn a_waiting_clients_watch_sees_only_its_lease_and_resumes_from_the_bookmark() {
    // The component's request: one name, from the RV of its GET, bookmarks, a timeout. The
    // writes have 2.5 s before the pre-deadline bookmark is due.
    let (server, c) = bookmarking(Duration::from_secs(3600), Duration::from_millis(500)).await;
    let held = create(&c, "lock-a").await;
    create(&c, "lock-b").await;
    let watch_from = |rv: &str| {
        format!(
            "{LEASES}?watch=true&fieldSelector=metadata.name%3Dlock-a&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=3"
        )
    };
    let (mut watch, _) = RawWatch::open(&server, &watch_from(&rv(&held))).await;
    assert_eq!(c.delete(&format!("{LEASES}/lock-b"), "").await.code, 200);
    let before = server.stored(NS, "lock-a").expect("stored");
    assert_eq!(c.delete(&format!("{LEASES}/lock-a"), "").await.code, 200);
    let gone = before.replace(r#""resourceVersion":"1""#, r#""resourceVersion":"4""#);
    let deleted = format!("{{\"type\":\"DELETED\",\"object\":{gone}}}\n");
    assert_eq!(watch.rest().await, [deleted, bookmark(4)]);

    // Re-watching from the bookmark: the re-created lease arrives as ADDED.
    let (mut watch, _) = RawWatch::open(&server, &watch_from("4")).await;
    create(&c, "lock-a").await;
    let added = stored_line(&server, "ADDED", "lock-a");
    assert_eq!(watch.rest().await, [added, bookmark(5)]);
}
