//! Injected faults that answer (status codes and unusable bodies) and how rules pick their
//! requests: each reply byte for byte, the write not applied, the fault counted and logged.

use std::collections::BTreeMap;

use super::super::{Fault, FaultRule};
use super::*;

/// Creates lease `name` with `fault` injected on the next create; returns the response.
async fn faulted_create(fault: Fault, name: &str) -> (ApiServer, Client, Resp) {
    let (server, c) = server(Options::default()).await;
    server.inject(FaultRule::next(1, fault).on_verb("create"));
    let r = c.post(LEASES, &lease_body(name, SPEC)).await;
    (server, c, r)
}

/// The write was not applied, the request is logged with `status` and `kind`, and the rule
/// is spent: the same create now succeeds.
async fn not_applied(server: &ApiServer, c: &Client, name: &str, status: u16, kind: &str) {
    assert!(server.history().is_empty(), "{kind}: the write was applied");
    assert_eq!(server.stored(NS, name), None);
    let last = server.requests().pop().expect("logged");
    assert_eq!((last.status, last.fault), (status, Some(kind)));
    assert_eq!(
        server.faults_fired(),
        BTreeMap::from([(kind.to_owned(), 1)])
    );
    create(c, name).await;
    assert_eq!(server.requests().pop().expect("logged").fault, None);
}

const STATUS_HEAD: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","#;

#[tokio::test]
async fn status_faults_answer_as_the_real_server_and_apply_nothing() {
    let cases = [
        (
            Fault::InternalError,
            500,
            r#""message":"Internal error occurred: injected fault","reason":"InternalError","details":{"causes":[{"message":"injected fault"}]},"code":500}"#,
        ),
        (
            Fault::Unavailable,
            503,
            r#""message":"the server is currently unable to handle the request","reason":"ServiceUnavailable","code":503}"#,
        ),
        (
            Fault::TooManyRequests {
                retry_after_s: 3,
                plain_text: false,
            },
            429,
            r#""message":"Too many requests, please try again later.","reason":"TooManyRequests","details":{"retryAfterSeconds":3},"code":429}"#,
        ),
        (
            Fault::ServerTimeout,
            504,
            r#""message":"Timeout: request did not complete within requested timeout - context deadline exceeded","reason":"Timeout","details":{},"code":504}"#,
        ),
    ];
    for (fault, code, rest) in cases {
        let (server, c, r) = faulted_create(fault.clone(), "s").await;
        assert_eq!(r.code, code, "{fault:?}");
        assert_eq!(r.text(), format!("{STATUS_HEAD}{rest}"), "{fault:?}");
        assert_eq!(r.headers["content-type"], "application/json");
        let retry_after = r.headers.get("retry-after").map(|v| v.to_str().unwrap());
        assert_eq!(retry_after, (code == 429).then_some("3"), "{fault:?}");
        not_applied(&server, &c, "s", code, fault.kind()).await;
    }
}

#[tokio::test]
async fn the_plain_text_429_is_api_priority_and_fairness_form() {
    let fault = Fault::TooManyRequests {
        retry_after_s: 2,
        plain_text: true,
    };
    let (server, c, r) = faulted_create(fault, "t").await;
    assert_eq!(r.code, 429);
    assert_eq!(r.body, "Too many requests, please try again later.\n");
    assert_eq!(r.headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(r.headers["retry-after"], "2");
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    not_applied(&server, &c, "t", 429, "too-many-requests-text").await;
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_200_and_apply_nothing() {
    let (server, c, r) = faulted_create(Fault::MalformedJson, "m").await;
    assert_eq!(r.code, 200);
    assert_eq!(r.headers["content-type"], "application/json");
    assert!(
        serde_json::from_str::<Value>(&r.body).is_err(),
        "{}",
        r.body
    );
    assert!(r.body.starts_with(r#"{"kind":"Lease""#), "{}", r.body);
    not_applied(&server, &c, "m", 200, "malformed-json").await;

    let bytes = 3 * 1024 * 1024 + 5;
    let (server, c, r) = faulted_create(Fault::OversizedBody { bytes }, "o").await;
    assert_eq!((r.code, r.body.len()), (200, bytes));
    assert_eq!(r.headers["content-length"], bytes.to_string().as_str());
    assert_eq!(r.json()["kind"], "Lease", "well-formed, just too big");
    not_applied(&server, &c, "o", 200, "oversized-body").await;
}

#[tokio::test]
async fn rules_pick_requests_by_verb_and_name_and_next_n_runs_out() {
    let (server, c) = server(Options::default()).await;
    create(&c, "a").await;
    create(&c, "b").await;
    server.inject(
        FaultRule::next(2, Fault::Unavailable)
            .on_verb("get")
            .on_name("a"),
    );
    assert_eq!(c.get(&format!("{LEASES}/b")).await.code, 200, "other name");
    assert_eq!(c.get(LEASES).await.code, 200, "a list is not a get");
    assert_eq!(c.get(&format!("{LEASES}/a")).await.code, 503);
    assert_eq!(c.get(&format!("{LEASES}/a")).await.code, 503);
    assert_eq!(
        c.get(&format!("{LEASES}/a")).await.code,
        200,
        "spent after 2"
    );
    assert_eq!(server.faults_fired()["unavailable"], 2);

    // A list or watch selecting one lease by field selector counts as that lease's.
    server.inject(FaultRule::next(1, Fault::InternalError).on_name("b"));
    let selected = format!("{LEASES}?fieldSelector=metadata.name%3Da");
    assert_eq!(c.get(&selected).await.code, 200);
    let selected = format!("{LEASES}?fieldSelector=metadata.name%3Db");
    assert_eq!(c.get(&selected).await.code, 500);

    // Watch faults never hit other verbs; discovery is never faulted.
    server.inject(FaultRule::next(1, Fault::WatchExpired));
    server.inject(FaultRule::next(1, Fault::InternalError));
    assert_eq!(c.get("/apis/coordination.k8s.io/v1").await.code, 200);
    assert_eq!(c.get(LEASES).await.code, 500, "the second rule fires");
    server.clear_faults();
    assert_eq!(
        c.get(&format!("{LEASES}?watch=1&timeoutSeconds=1"))
            .await
            .code,
        200
    );
    let fired = server.faults_fired();
    assert_eq!(fired.get("watch-expired"), None);
    assert_eq!(fired["internal-error"], 2);
}

/// Which of `n` gets of lease `a` fail under `rule`, after seeding with `seed`.
async fn pattern(server: &ApiServer, c: &Client, seed: u64, rule: FaultRule) -> Vec<bool> {
    server.clear_faults();
    server.seed_faults(seed);
    server.inject(rule);
    let mut failed = Vec::new();
    for _ in 0..40 {
        failed.push(c.get(&format!("{LEASES}/a")).await.code == 503);
    }
    failed
}

#[tokio::test]
async fn chance_rules_are_reproducible_from_the_seed() {
    let (server, c) = server(Options::default()).await;
    create(&c, "a").await;
    let rule = || FaultRule::chance(0.5, Fault::Unavailable).on_verb("get");
    let first = pattern(&server, &c, 42, rule()).await;
    assert_eq!(pattern(&server, &c, 42, rule()).await, first, "same seed");
    let hits = first.iter().filter(|f| **f).count();
    assert!((5..=35).contains(&hits), "p=0.5 over 40: {hits}");
    assert_ne!(
        pattern(&server, &c, 43, rule()).await,
        first,
        "another seed"
    );
    let never = pattern(&server, &c, 42, FaultRule::chance(0.0, Fault::Unavailable)).await;
    assert!(never.iter().all(|f| !f));
    let always = pattern(&server, &c, 42, FaultRule::chance(1.0, Fault::Unavailable)).await;
    assert!(always.iter().all(|f| *f));
}
