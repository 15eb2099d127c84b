//! The HTTP lock service under the real `wasmtime serve` (CLI 48.0.8): each request a fresh
//! instance of the proxy component, reaching the emulator as a pod reaches its apiserver
//! through a `kubectl proxy` sidecar (plain http, no token from the guest) — the emulator's
//! own proxy listener, or a real `kubectl proxy` in front of it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use host_test::cluster::Cluster;
use host_test::history::{HoldRecord, check_holds, now_micros};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::fake::{self, Behaviour};
use crate::kubectl_proxy::Proxy;
use crate::support::*;
use crate::wasmtime_serve::{FRONT_TOKEN, WasmtimeServe};

/// Generous bound for a request the service must answer with an error: proves it never hangs.
const ANSWER_DEADLINE: Duration = Duration::from_secs(60);

/// The user the emulator's proxy listener serves requests as.
const SERVICE_USER: &str = "system:serviceaccount:netbird:lock-service";

/// A cluster with its proxy listener, and `wasmtime serve` pointed at the listener.
async fn started(env: &[(&str, &str)]) -> (Cluster, WasmtimeServe) {
    let cluster = cluster().await;
    let upstream = cluster
        .api
        .start_proxy_listener(SERVICE_USER)
        .await
        .unwrap();
    let serve = WasmtimeServe::start(&upstream, &cluster.path("serve"), env).await;
    (cluster, serve)
}

fn lock_body(identity: &str, wait_seconds: u32) -> String {
    json!({ "identity": identity, "leaseDurationSeconds": 15, "waitSeconds": wait_seconds })
        .to_string()
}

fn holder(lease: &Value) -> &str {
    lease["spec"]["holderIdentity"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wasmtime_serve_lock_contention_between_http_callers_never_overlaps() {
    const CALLERS: usize = 6;
    const ROUNDS: usize = 4;
    const LEASE: &str = "cert-lock-contended";
    let (cluster, serve) = started(&[]).await;
    let serve = Arc::new(serve);

    let mut callers = JoinSet::new();
    for caller in 0..CALLERS {
        let serve = serve.clone();
        callers.spawn(async move {
            let identity = format!("caller-{caller}");
            let mut holds = Vec::new();
            for _ in 0..ROUNDS {
                let path = format!("/v1/locks/{LEASE}");
                let (status, hold) = serve
                    .call("POST", &path, Some(&lock_body(&identity, 120)))
                    .await;
                assert_eq!(status, 200, "{identity}: {hold}");
                let acquired_at = now_micros();
                assert_eq!(hold["identity"], identity.as_str());
                tokio::time::sleep(Duration::from_millis(3)).await;
                let released_at = now_micros();
                let (status, released) = serve
                    .call("DELETE", &format!("{path}?identity={identity}"), None)
                    .await;
                assert_eq!(status, 200, "{identity}: {released}");
                holds.push(HoldRecord {
                    lease: LEASE.into(),
                    identity: identity.clone(),
                    token: hold["fencingToken"].as_u64().expect("a fencing token"),
                    acquired_at,
                    released_at,
                });
            }
            holds
        });
    }
    let holds: Vec<HoldRecord> = callers.join_all().await.into_iter().flatten().collect();

    let verdict = check_holds(&cluster.api.history(), &holds);
    assert_eq!(verdict.holds, CALLERS * ROUNDS);
    assert!(verdict.is_safe(), "{verdict:#?}");
    assert!(!serve.stderr().contains(FRONT_TOKEN));
}

#[tokio::test]
async fn wasmtime_serve_guard_rails_answer_before_the_apiserver_is_touched() {
    let (cluster, serve) = started(&[]).await;
    let before = cluster.api.requests().len();

    // A liveness probe needs no token and touches nothing.
    let (status, health) = serve.call_as(None, "GET", "/healthz", None).await;
    assert_eq!((status, health), (200, json!({ "status": "ok" })));

    let body = lock_body("a", 0);
    for token in [None, Some("not-the-front-token")] {
        let (status, refused) = serve
            .call_as(token, "POST", "/v1/locks/cert-lock-x", Some(&body))
            .await;
        assert_eq!(status, 401, "{refused}");
        assert_eq!(refused["error"], "unauthorized");
        assert!(!refused.to_string().contains(FRONT_TOKEN));
    }

    let (status, refused) = serve
        .call("POST", "/v1/locks/kube-scheduler", Some(&body))
        .await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("cert-lock-"));

    let (status, refused) = serve
        .call(
            "POST",
            "/v1/locks/cert-lock-x",
            Some(r#"{"identity": "a","#),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    let message = refused["message"].as_str().unwrap();
    assert!(message.starts_with("invalid JSON body"), "{message}");

    let huge = format!(r#"{{"identity": "{}"}}"#, "a".repeat(20 * 1024));
    let (status, refused) = serve
        .call("POST", "/v1/locks/cert-lock-x", Some(&huge))
        .await;
    assert_eq!(status, 413, "{refused}");

    assert_eq!(
        cluster.api.requests().len(),
        before,
        "no refused request reached the apiserver"
    );
    assert!(!serve.stderr().contains(FRONT_TOKEN));
}

#[tokio::test]
async fn wasmtime_serve_only_the_holder_releases_and_the_next_caller_then_acquires() {
    let (cluster, serve) = started(&[]).await;
    let path = "/v1/locks/cert-lock-shared";

    let (status, hold_a) = serve.call("POST", path, Some(&lock_body("a", 0))).await;
    assert_eq!(status, 200, "{hold_a}");
    let first_token = hold_a["fencingToken"].as_u64().unwrap();

    let (status, refused) = serve.call("POST", path, Some(&lock_body("b", 0))).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(
        (&refused["error"], &refused["holder"]),
        (&json!("held"), &json!("a"))
    );

    let (status, refused) = serve
        .call("DELETE", &format!("{path}?identity=b"), None)
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["holder"], "a");

    // A wait that runs out while `a` holds: 504, naming the holder.
    let (status, timed_out) = serve.call("POST", path, Some(&lock_body("b", 1))).await;
    assert_eq!(status, 504, "{timed_out}");
    assert_eq!(timed_out["error"], "timeout");
    assert!(
        timed_out["message"].as_str().unwrap().contains("held by a"),
        "{timed_out}"
    );

    // Only the holder renews; the renewal extends the hold.
    let renew = |identity: &str| json!({ "identity": identity }).to_string();
    let (status, refused) = serve.call("PUT", path, Some(&renew("b"))).await;
    assert_eq!((status, &refused["holder"]), (409, &json!("a")));
    let (status, renewed) = serve.call("PUT", path, Some(&renew("a"))).await;
    assert_eq!(status, 200, "{renewed}");
    assert!(renewed["validUntilUnixMicros"].as_i64() > hold_a["validUntilUnixMicros"].as_i64());
    let hold_a = renewed;

    let (status, lease) = serve.call("GET", "/v1/leases/cert-lock-shared", None).await;
    assert_eq!(status, 200, "{lease}");
    assert_eq!(holder(&lease), "a");
    assert_eq!(
        lease["metadata"]["resourceVersion"],
        hold_a["resourceVersion"]
    );

    let (status, _) = serve
        .call("DELETE", &format!("{path}?identity=a"), None)
        .await;
    assert_eq!(status, 200);
    let (status, hold_b) = serve.call("POST", path, Some(&lock_body("b", 0))).await;
    assert_eq!(status, 200, "{hold_b}");
    assert!(hold_b["fencingToken"].as_u64() > Some(first_token));
    let stored: Value =
        serde_json::from_str(&cluster.api.stored(NS, "cert-lock-shared").unwrap()).unwrap();
    assert_eq!(holder(&stored), "b");

    let (status, absent) = serve.call("GET", "/v1/leases/cert-lock-none", None).await;
    assert_eq!((status, &absent["error"]), (404, &json!("not-found")));
}

#[tokio::test]
async fn wasmtime_serve_takes_the_originals_per_domain_lock_through_a_real_kubectl_proxy() {
    let cluster = cluster().await;
    let account = cluster.account("lock-service").unwrap();
    let proxy = Proxy::start(&cluster, &account).await;
    let serve = WasmtimeServe::start(&proxy.url, &cluster.path("serve"), &[]).await;
    let (status, named) = serve
        .call("GET", "/v1/domains/example.com/lease-name", None)
        .await;
    assert_eq!(status, 200, "{named}");
    let name = named["name"].as_str().unwrap().to_owned();
    assert!(name.starts_with("cert-lock-"), "{name}");

    let (status, hold) = serve
        .call(
            "POST",
            "/v1/domains/example.com/lock",
            Some(&lock_body("proxy-0", 0)),
        )
        .await;
    assert_eq!(status, 200, "{hold}");
    assert_eq!(hold["name"], name.as_str());
    let stored: Value = serde_json::from_str(&cluster.api.stored(NS, &name).unwrap()).unwrap();
    assert_eq!(holder(&stored), "proxy-0");
    assert_eq!(
        stored["metadata"]["annotations"]["netbird.io/domain"],
        "example.com"
    );
}

#[tokio::test]
async fn wasmtime_serve_answers_502_when_the_apiserver_is_down_and_504_when_it_hangs() {
    // Down: the sidecar stops; connections are refused.
    let (cluster, serve) = started(&[]).await;
    let (status, hold) = serve
        .call("POST", "/v1/locks/cert-lock-x", Some(&lock_body("a", 0)))
        .await;
    assert_eq!(status, 200, "{hold}");
    cluster.api.stop_proxy_listener().await;
    let renew = r#"{"identity": "a"}"#.to_owned();
    let calls = [
        ("PUT", "/v1/locks/cert-lock-x", Some(renew)),
        ("GET", "/v1/leases/cert-lock-x", None),
    ];
    answers_within_deadline(&serve, calls, (502, "transport"), "apiserver down").await;
    drop(serve);

    // Hanging: the apiserver reads the request and never answers.
    let hanging = format!("http://{}", fake::serve(Behaviour::Hang).await);
    let serve = WasmtimeServe::start(
        &hanging,
        &cluster.path("hang"),
        &[("KUBE_LEASE_TIMEOUT_MS", "1500")],
    )
    .await;
    let calls = [
        ("POST", "/v1/locks/cert-lock-x", Some(lock_body("a", 0))),
        ("GET", "/v1/leases/cert-lock-x", None),
    ];
    answers_within_deadline(&serve, calls, (504, "timeout"), "apiserver hanging").await;
}

/// Each call answers `expected` (status, error kind) before [`ANSWER_DEADLINE`], never hangs.
async fn answers_within_deadline(
    serve: &WasmtimeServe,
    calls: [(&str, &str, Option<String>); 2],
    expected: (u16, &str),
    what: &str,
) {
    for (method, path, body) in calls {
        let started = Instant::now();
        let (status, failed) =
            tokio::time::timeout(ANSWER_DEADLINE, serve.call(method, path, body.as_deref()))
                .await
                .expect("answered, not hung");
        assert_eq!(status, expected.0, "{method} {path}: {failed}");
        assert_eq!(failed["error"], expected.1);
        eprintln!("{what}: {method} {status} after {:?}", started.elapsed());
    }
}

/// What one `wasmtime serve` process sustains for lock + release (two requests, each a fresh
/// instance and two to three apiserver round trips): printed, not asserted. Quote it only from
/// a release build of the host (the README's "Run it under `wasmtime serve`" gives the command).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wasmtime_serve_sustains_lock_and_release_cycles() {
    const CYCLES: usize = 400;
    let (_cluster, serve) = started(&[]).await;
    let serve = Arc::new(serve);
    for callers in [1usize, 4] {
        let started = Instant::now();
        let mut tasks = JoinSet::new();
        for caller in 0..callers {
            let serve = serve.clone();
            tasks.spawn(async move {
                // One lease per caller: this measures the service, not contention.
                let path = format!("/v1/locks/cert-lock-rate-{caller}");
                let identity = format!("caller-{caller}");
                for _ in 0..CYCLES / callers {
                    let (status, hold) = serve
                        .call("POST", &path, Some(&lock_body(&identity, 0)))
                        .await;
                    assert_eq!(status, 200, "{hold}");
                    let release = format!("{path}?identity={identity}");
                    let (status, released) = serve.call("DELETE", &release, None).await;
                    assert_eq!(status, 200, "{released}");
                }
            });
        }
        tasks.join_all().await;
        let seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "wasmtime serve, {callers} caller(s): {CYCLES} lock + release cycles in {seconds:.2} s: \
             {:.0} cycles/s, {:.0} requests/s",
            CYCLES as f64 / seconds,
            2.0 * CYCLES as f64 / seconds
        );
    }
}
