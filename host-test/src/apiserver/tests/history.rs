//! The history window: the write record, the request log and the watch's replay window keep
//! only the last N entries, and a watch or list from a compacted resourceVersion gets
//! `410 Expired` as kube-apiserver answers it.

use std::time::Duration;

use super::*;

/// A server keeping the last `history` writes and `requests` requests.
async fn windowed(history: usize, requests: usize) -> (ApiServer, Client) {
    let limits = Limits {
        history_window: history,
        request_log_window: requests,
        ..Limits::default()
    };
    server_with(Options::default(), limits).await
}

/// A generous bound that only proves "the stream ends by itself".
const NEVER_HANGS: Duration = Duration::from_secs(30);

#[tokio::test]
async fn history_and_request_log_never_exceed_their_windows() {
    let (server, c) = windowed(4, 6).await;
    for i in 1..=25 {
        create(&c, &format!("l{i}")).await;
        assert!(server.history().len() <= 4, "after write {i}");
        assert!(server.requests().len() <= 6, "after request {i}");
    }
    let history = server.history();
    let seqs: Vec<u64> = history.iter().map(|w| w.seq).collect();
    assert_eq!(seqs, [22, 23, 24, 25], "oldest dropped first");
    let names: Vec<&str> = history.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["l22", "l23", "l24", "l25"]);
    assert_eq!(history[3].resource_version, "25");

    assert_eq!(c.get(&format!("{LEASES}?limit=1")).await.code, 200);
    let requests = server.requests();
    assert_eq!(requests.len(), 6);
    let bodies: Vec<String> = requests[..5]
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["metadata"]["name"].to_string())
        .collect();
    assert_eq!(
        bodies,
        ["\"l21\"", "\"l22\"", "\"l23\"", "\"l24\"", "\"l25\""]
    );
    assert_eq!(requests[5].path_and_query, format!("{LEASES}?limit=1"));
}

#[tokio::test]
async fn watch_from_a_compacted_resource_version_gets_an_expired_error_event() {
    let (_server, c) = windowed(3, 100).await;
    for i in 1..=10 {
        create(&c, &format!("l{i}")).await;
    }
    // Revisions 8, 9 and 10 are kept: a watch can start from 7 at the oldest.
    let watch = |rv: u64| format!("{LEASES}?watch=true&resourceVersion={rv}");
    let r = tokio::time::timeout(NEVER_HANGS, c.get(&watch(6)))
        .await
        .expect("the stream ends after the ERROR event");
    assert_eq!(r.code, 200);
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(
        r.body,
        concat!(
            r#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","#,
            r#""message":"too old resource version: 6 (7)","reason":"Expired","code":410}}"#,
            "\n"
        )
    );
    // A selector does not help: the revision is what is too old.
    let one = format!("{}&fieldSelector=metadata.name%3Dl10", watch(1));
    let r = tokio::time::timeout(NEVER_HANGS, c.get(&one))
        .await
        .unwrap();
    assert!(
        r.body
            .contains(r#""message":"too old resource version: 1 (7)""#),
        "{}",
        r.body
    );
    assert_eq!(r.body.lines().count(), 1);

    // From the oldest kept revision: every later change, and no error.
    let r = c.get(&format!("{}&timeoutSeconds=1", watch(7))).await;
    assert_eq!(r.code, 200);
    assert_eq!(events(&r.body), ["ADDED l8", "ADDED l9", "ADDED l10"]);
}

#[tokio::test]
async fn lists_at_a_compacted_resource_version_get_410_expired() {
    let (_server, c) = windowed(3, 100).await;
    for i in 1..=5 {
        create(&c, &format!("l{i}")).await;
    }
    let first = c.get(&format!("{LEASES}?limit=2")).await.json();
    let token = first["metadata"]["continue"].as_str().unwrap().to_owned();
    let next = format!("{LEASES}?limit=2&continue={token}");
    assert_eq!(c.get(&next).await.code, 200, "revision 5 is still kept");
    let exact = |rv: u64| format!("{LEASES}?resourceVersion={rv}&resourceVersionMatch=Exact");
    assert_eq!(c.get(&exact(2)).await.code, 200, "revision 2 is still kept");

    for i in 6..=9 {
        create(&c, &format!("l{i}")).await;
    }
    let r = c.get(&next).await;
    assert_eq!(r.code, 410);
    assert_eq!(
        r.text(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.","reason":"Expired","code":410}"#
    );
    let r = c.get(&exact(5)).await;
    assert_eq!(r.code, 410);
    assert_eq!(
        r.text(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"The resourceVersion for the provided list is too old.","reason":"Expired","code":410}"#
    );
    assert_eq!(c.get(&exact(6)).await.code, 200, "the oldest kept revision");
    assert_eq!(
        c.get(&format!("{LEASES}?resourceVersion=1")).await.code,
        200,
        "not Exact"
    );
}
