//! Injected watch faults on the wire: a watch cut after its initial events (no last chunk), a
//! silent one (the head, then nothing), and one that ends with a 410 `Expired` ERROR event.

use std::time::Duration;

use super::super::{Fault, FaultRule};
use super::stream::{RawWatch, head_header};
use super::*;

#[tokio::test]
async fn a_cut_watch_sends_its_initial_events_then_the_connection_closes() {
    let (server, c) = server(Options::default()).await;
    create(&c, "a").await;
    create(&c, "b").await;
    server.inject(FaultRule::next(1, Fault::WatchCut));
    let (mut watch, head) = RawWatch::open(&server, &format!("{LEASES}?watch=1")).await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    let mut lines = Vec::new();
    while let Some(line) = watch.next_line().await {
        lines.push(events(&line).join(""));
    }
    assert_eq!(lines, ["ADDED a", "ADDED b"]);
    assert!(!watch.ended, "cut, not ended with the last chunk");
    let last = server.requests().pop().expect("logged");
    assert_eq!((last.status, last.fault), (200, Some("watch-cut")));
}

#[tokio::test]
async fn a_cut_watch_from_a_resource_version_sends_the_backlog_then_closes() {
    let (server, c) = server(Options::default()).await;
    let v = create(&c, "a").await;
    create(&c, "b").await;
    server.inject(FaultRule::next(1, Fault::WatchCut).on_name("b"));
    let path = format!(
        "{LEASES}?watch=1&resourceVersion={}&fieldSelector=metadata.name%3Db",
        rv(&v)
    );
    let (mut watch, _) = RawWatch::open(&server, &path).await;
    assert_eq!(
        watch.next_line().await.map(|l| events(&l)),
        Some(vec!["ADDED b".to_owned()])
    );
    assert_eq!(watch.next_line().await, None);
    assert!(!watch.ended);
}

#[tokio::test]
async fn a_silent_watch_sends_its_head_and_then_nothing() {
    let (server, c) = server(Options::default()).await;
    let v = create(&c, "a").await;
    server.inject(FaultRule::next(1, Fault::WatchSilent));
    let path = format!(
        "{LEASES}?watch=1&allowWatchBookmarks=true&resourceVersion={}",
        rv(&v)
    );
    let (mut watch, head) = RawWatch::open(&server, &path).await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(head_header(&head, "content-type"), ["application/json"]);
    let mut next = v.clone();
    next["spec"]["holderIdentity"] = "b".into();
    assert_eq!(
        c.put(&format!("{LEASES}/a"), &next.to_string()).await.code,
        200
    );
    // A real watch would deliver the change at once; this one stays quiet.
    let quiet = tokio::time::timeout(Duration::from_millis(500), watch.next_line()).await;
    assert!(quiet.is_err(), "an event came: {quiet:?}");
    assert!(
        watch.raw.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&watch.raw)
    );
    assert_eq!(server.faults_fired()["watch-silent"], 1);
}

#[tokio::test]
async fn an_expired_watch_gets_one_410_error_event_and_ends() {
    let (server, c) = server(Options::default()).await;
    let v = create(&c, "a").await;
    server.inject(FaultRule::next(1, Fault::WatchExpired).on_verb("watch"));
    let path = format!("{LEASES}?watch=1&resourceVersion={}", rv(&v));
    let (mut watch, head) = RawWatch::open(&server, &path).await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    let lines = watch.rest().await;
    assert_eq!(
        lines,
        [format!(
            "{{\"type\":\"ERROR\",\"object\":{{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{{}},\"status\":\"Failure\",\"message\":\"too old resource version: {} ({})\",\"reason\":\"Expired\",\"code\":410}}}}\n",
            rv(&v),
            server.revision()
        )]
    );
    assert_eq!(server.faults_fired()["watch-expired"], 1);
}
