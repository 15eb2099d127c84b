//! The watch request and its framing (`/work/shared/k8s-watch.md` §1, §3, §6, §8): which
//! requests watch, the response head sent before any event, one chunk per event line, the
//! clean end at `timeoutSeconds`, and the 400 / 422 answers given before any stream.

use super::stream::{NEVER_HANGS, RawWatch, head_header};
use super::*;

const WATCH_PATH: &str = "/apis/coordination.k8s.io/v1/watch/namespaces/default/leases";

/// The response to `path`, read whole (the stream must end by itself).
async fn whole(c: &Client, path: &str) -> Resp {
    tokio::time::timeout(NEVER_HANGS, c.get(path))
        .await
        .expect("the stream ends by itself")
}

#[tokio::test]
async fn the_head_comes_at_once_and_each_event_is_one_flushed_chunk() {
    let (server, c) = server(Options::default()).await;
    let v = create(&c, "quiet").await;
    // Nothing happens on this lease: the head must still arrive.
    let path = format!("{LEASES}?watch=true&resourceVersion={}", rv(&v));
    let (mut watch, head) = RawWatch::open(&server, &path).await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(head_header(&head, "content-type"), ["application/json"]);
    assert_eq!(head_header(&head, "transfer-encoding"), ["chunked"]);
    assert!(head_header(&head, "content-length").is_empty(), "{head}");

    let mut next = v.clone();
    next["spec"]["holderIdentity"] = "b".into();
    assert_eq!(
        c.put(&format!("{LEASES}/quiet"), &next.to_string())
            .await
            .code,
        200
    );
    let stored = server.stored(NS, "quiet").expect("stored");
    let line = format!("{{\"type\":\"MODIFIED\",\"object\":{stored}}}\n");
    assert_eq!(watch.next_line().await.as_deref(), Some(line.as_str()));
    let chunk = format!("{:x}\r\n{line}\r\n", line.len());
    assert_eq!(
        String::from_utf8_lossy(&watch.raw),
        chunk,
        "one chunk, flushed"
    );
}

#[tokio::test]
async fn timeout_seconds_ends_the_stream_with_the_last_chunk_and_no_event() {
    let (server, c) = server(Options::default()).await;
    let v = create(&c, "a").await;
    let path = format!(
        "{LEASES}?watch=1&resourceVersion={}&timeoutSeconds=1",
        rv(&v)
    );
    let (mut watch, _) = RawWatch::open(&server, &path).await;
    assert_eq!(watch.rest().await, Vec::<String>::new());
    assert_eq!(watch.raw, b"0\r\n\r\n");
}

#[tokio::test]
async fn watch_is_on_unless_0_or_false_in_any_case() {
    let (_server, c) = server(Options::default()).await;
    create(&c, "a").await;
    for on in ["true", "1", "TRUE", "yes", ""] {
        let r = whole(&c, &format!("{LEASES}?watch={on}&timeoutSeconds=1")).await;
        assert_eq!(events(&r.body), ["ADDED a"], "watch={on}");
    }
    for off in ["0", "false", "False", "FALSE"] {
        let r = whole(&c, &format!("{LEASES}?watch={off}&timeoutSeconds=1")).await;
        assert_eq!(r.json()["kind"], "LeaseList", "watch={off}");
    }
}

#[tokio::test]
async fn the_deprecated_watch_paths_always_watch_and_their_name_selects() {
    let (_server, c) = server(Options::default()).await;
    create(&c, "a").await;
    create(&c, "b").await;
    let r = whole(&c, &format!("{WATCH_PATH}?timeoutSeconds=1")).await;
    assert_eq!(r.code, 200);
    assert_eq!(events(&r.body), ["ADDED a", "ADDED b"]);
    let r = whole(&c, &format!("{WATCH_PATH}?watch=false&timeoutSeconds=1")).await;
    assert_eq!(
        events(&r.body),
        ["ADDED a", "ADDED b"],
        "watch=false is ignored"
    );
    let r = whole(&c, &format!("{WATCH_PATH}/b?timeoutSeconds=1")).await;
    assert_eq!(events(&r.body), ["ADDED b"]);
    let all = "/apis/coordination.k8s.io/v1/watch/leases?timeoutSeconds=1";
    assert_eq!(events(&whole(&c, all).await.body), ["ADDED a", "ADDED b"]);

    let same = format!("{WATCH_PATH}/b?fieldSelector=metadata.name%3Db&timeoutSeconds=1");
    assert_eq!(events(&whole(&c, &same).await.body), ["ADDED b"]);
    let other = format!("{WATCH_PATH}/b?fieldSelector=metadata.name%3Da");
    let r = c.get(&other).await;
    assert_eq!(r.code, 400);
    assert_eq!(
        r.text(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"fieldSelector metadata.name doesn't match requested name","reason":"BadRequest","code":400}"#
    );
}

#[tokio::test]
async fn the_item_path_with_watch_is_a_plain_get() {
    let (server, c) = server(Options::default()).await;
    create(&c, "a").await;
    let r = whole(&c, &format!("{LEASES}/a?watch=true")).await;
    assert_eq!(r.code, 200);
    assert_eq!(r.text(), server.stored(NS, "a").expect("stored"));
}

#[tokio::test]
async fn unknown_field_selectors_are_400_before_any_stream() {
    let (_server, c) = server(Options::default()).await;
    let r = c
        .get(&format!(
            "{LEASES}?watch=true&fieldSelector=spec.holderIdentity%3Da"
        ))
        .await;
    assert_eq!(r.code, 400);
    assert_eq!(
        r.text(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"\"spec.holderIdentity\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"","reason":"BadRequest","code":400}"#
    );
    let r = whole(
        &c,
        &format!("{LEASES}?watch=1&fieldSelector=metadata.namespace%3Ddefault&timeoutSeconds=1"),
    )
    .await;
    assert_eq!(r.code, 200);
}

/// The 422 body for ListOptions field errors, given as (field, message) pairs.
fn invalid_list_options(errors: &[(&str, &str)]) -> String {
    let all: Vec<String> = errors.iter().map(|(f, m)| format!("{f}: {m}")).collect();
    let agg = match all.len() {
        1 => all[0].clone(),
        _ => format!("[{}]", all.join(", ")),
    };
    let causes: Vec<String> = errors
        .iter()
        .map(|(f, m)| {
            let reason = if m.starts_with("Forbidden") {
                "FieldValueForbidden"
            } else {
                "FieldValueNotSupported"
            };
            format!(
                r#"{{"reason":"{reason}","message":{},"field":"{f}"}}"#,
                gojson_item(&(*m).into())
            )
        })
        .collect();
    format!(
        r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":{},"reason":"Invalid","details":{{"group":"meta.k8s.io","kind":"ListOptions","causes":[{}]}},"code":422}}"#,
        gojson_item(&format!("ListOptions.meta.k8s.io \"\" is invalid: {agg}").into()),
        causes.join(",")
    )
}

#[tokio::test]
async fn bad_resource_version_match_combinations_are_422_before_any_stream() {
    let (_server, c) = server(Options::default()).await;
    let v = create(&c, "a").await;
    let forbidden_rvm = "Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided";
    let needs_rvm =
        "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan";
    let cases: [(&str, Vec<(&str, &str)>); 4] = [
        (
            "resourceVersionMatch=NotOlderThan",
            vec![("resourceVersionMatch", forbidden_rvm)],
        ),
        (
            "sendInitialEvents=true&resourceVersion=1",
            vec![("resourceVersionMatch", needs_rvm)],
        ),
        (
            "sendInitialEvents=false&resourceVersionMatch=Exact",
            vec![
                ("resourceVersionMatch", needs_rvm),
                (
                    "resourceVersionMatch",
                    r#"Unsupported value: "Exact": supported values: "NotOlderThan""#,
                ),
            ],
        ),
        // The options are checked before the field names.
        (
            "resourceVersionMatch=NotOlderThan&fieldSelector=spec.x%3D1",
            vec![("resourceVersionMatch", forbidden_rvm)],
        ),
    ];
    for (query, errors) in cases {
        let r = c.get(&format!("{LEASES}?watch=true&{query}")).await;
        assert_eq!(r.code, 422, "{query}: {}", r.body);
        assert_eq!(r.text(), invalid_list_options(&errors), "{query}");
    }

    // The allowed combinations stream: with the initial state, or without it.
    let with = format!(
        "{LEASES}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion={}&timeoutSeconds=1",
        rv(&v)
    );
    assert_eq!(events(&whole(&c, &with).await.body), ["ADDED a"]);
    let without = format!(
        "{LEASES}?watch=true&sendInitialEvents=false&resourceVersionMatch=NotOlderThan&timeoutSeconds=1"
    );
    let r = whole(&c, &without).await;
    assert_eq!((r.code, r.body.as_str()), (200, ""));
}

#[test]
fn without_timeout_seconds_the_server_picks_1800_to_3600_seconds() {
    use super::super::exchange::Query;
    use super::super::watch_options::WatchOptions;
    let parse = |q: &str| WatchOptions::parse(&Query::parse(Some(q)), "", true).expect("valid");
    let picks: Vec<u64> = (0..200)
        .map(|_| parse("watch=true").timeout.as_secs())
        .chain((0..200).map(|_| parse("watch=true&timeoutSeconds=0").timeout.as_secs()))
        .collect();
    assert!(picks.iter().all(|s| (1800..=3600).contains(s)), "{picks:?}");
    assert!(picks.iter().any(|s| *s != picks[0]), "random, not fixed");
    assert_eq!(parse("timeoutSeconds=120").timeout.as_secs(), 120);
}

#[tokio::test]
async fn a_watch_selecting_one_name_is_authorized_for_that_name() {
    let (server, _) = server(Options::default()).await;
    let c = narrow_client(&server);
    let refused = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"leases.coordination.k8s.io \"lock-a\" is forbidden: User \"system:serviceaccount:ns:sa\" cannot watch resource \"leases\" in API group \"coordination.k8s.io\" in the namespace \"default\"","reason":"Forbidden","details":{"name":"lock-a","group":"coordination.k8s.io","kind":"leases"},"code":403}"#;
    for path in [
        format!("{LEASES}?watch=true&fieldSelector=metadata.name%3Dlock-a"),
        format!("{WATCH_PATH}/lock-a"),
    ] {
        let r = c.get(&path).await;
        assert_eq!((r.code, r.text()), (403, refused), "{path}");
    }
}

#[tokio::test]
async fn without_watch_list_initial_events_are_422_and_a_legacy_watch_gets_no_end_bookmark() {
    let older = Options {
        without_watch_list: true,
        ..Options::default()
    };
    let (_server, c) = server(older).await;
    let v = create(&c, "a").await;
    let gated = "Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled";
    let needs_rvm =
        "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan";
    let cases: [(&str, Vec<(&str, &str)>); 2] = [
        (
            "sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true",
            vec![("sendInitialEvents", gated)],
        ),
        (
            "sendInitialEvents=false",
            vec![
                ("resourceVersionMatch", needs_rvm),
                ("sendInitialEvents", gated),
            ],
        ),
    ];
    for (query, errors) in cases {
        let r = c.get(&format!("{LEASES}?watch=true&{query}")).await;
        assert_eq!(r.code, 422, "{query}: {}", r.body);
        assert_eq!(r.text(), invalid_list_options(&errors), "{query}");
    }
    // The legacy watch from "now" still opens with the state, but never says it ended.
    for rv in ["", "&resourceVersion=0"] {
        let path = format!("{LEASES}?watch=true{rv}&allowWatchBookmarks=true&timeoutSeconds=1");
        let body = whole(&c, &path).await.body;
        assert_eq!(events(&body), ["ADDED a"], "{rv}");
        assert!(!body.contains("initial-events-end"), "{rv}: {body}");
    }
    let from = format!(
        "{LEASES}?watch=true&resourceVersion={}&allowWatchBookmarks=true&timeoutSeconds=1",
        rv(&v)
    );
    assert_eq!(events(&whole(&c, &from).await.body), Vec::<String>::new());
}
