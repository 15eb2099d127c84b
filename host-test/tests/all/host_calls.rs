//! How many WASI calls a fresh instance makes to build its in-cluster client and send its
//! first requests, counted from the `wit-bindgen import` spans wasmtime-wasi opens around each
//! call: the service account is read in one pass (the environment fetched once, the preopens
//! listed once, each file opened and read once), and the token read with it is the one the
//! first requests send.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Dispatch, Event, Metadata, Subscriber};

use host_test::cluster::{Account, Cluster};

use crate::support::*;

/// Counts the WASI calls made on the thread it is the default subscriber of, by function.
#[derive(Clone, Default)]
struct CallCounter {
    calls: Arc<Mutex<BTreeMap<String, usize>>>,
    next_id: Arc<AtomicU64>,
}

impl CallCounter {
    /// The calls of `function` so far.
    fn of(&self, function: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .get(function)
            .copied()
            .unwrap_or(0)
    }
}

/// The `function` field of a span.
struct FunctionName(Option<String>);

impl Visit for FunctionName {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "function" {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "function" {
            self.0 = Some(format!("{value:?}").trim_matches('"').to_owned());
        }
    }
}

impl Subscriber for CallCounter {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        if span.metadata().name() == "wit-bindgen import" {
            let mut name = FunctionName(None);
            span.record(&mut name);
            let function = name.0.unwrap_or_else(|| "?".into());
            *self.calls.lock().unwrap().entry(function).or_default() += 1;
        }
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// A fresh instance of `cluster`'s host for `account` builds its in-cluster client, then
/// creates and reads lease `name`.
async fn fresh_client_creates_and_gets(cluster: &Cluster, account: &Account, name: &str) {
    let (mut replica, client) = cluster.replica(account).await.unwrap();
    ok(replica.create(&client, &held(name, "a", T0)).await);
    assert!(ok(replica.get(&client, name).await).is_some());
}

#[tokio::test]
async fn a_fresh_client_reads_each_service_account_file_once_and_sends_the_token_it_read() {
    let cluster = cluster().await;
    let account = cluster.account("counted").unwrap();
    let counter = CallCounter::default();
    let _default = tracing::dispatcher::set_default(&Dispatch::new(counter.clone()));
    // Once untimed, so every call site is registered, then the interest every call site
    // cached is recomputed: one registered by another test's thread while this subscriber
    // was being added may have cached "nobody listens".
    fresh_client_creates_and_gets(&cluster, &account, "warm").await;
    tracing::callsite::rebuild_interest_cache();
    counter.calls.lock().unwrap().clear();
    fresh_client_creates_and_gets(&cluster, &account, "counted").await;
    let calls = counter.calls.lock().unwrap().clone();
    eprintln!("WASI calls of a fresh client, a create and a get: {calls:?}");
    assert_eq!(counter.of("get-environment"), 1, "{calls:?}");
    assert_eq!(counter.of("get-directories"), 1, "{calls:?}");
    // namespace, ca.crt and token, each in one read; the requests send the token read.
    assert_eq!(counter.of("[method]descriptor.open-at"), 3, "{calls:?}");
    assert_eq!(counter.of("[method]descriptor.read"), 3, "{calls:?}");
}
