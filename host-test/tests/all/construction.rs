//! Building clients: in-cluster from the service account and environment, and explicit config.

use host_test::host::{Config, LeaseError, Sandbox, StatusKind};

use crate::support::*;

fn config_message(e: LeaseError) -> String {
    match e {
        LeaseError::Config(m) => m,
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[tokio::test]
async fn in_cluster_reflects_the_environment() {
    let cluster = cluster().await;
    let account = cluster.account("a").unwrap();
    let mut inside = cluster
        .host
        .instantiate(cluster.sandbox(&account))
        .await
        .unwrap();
    assert!(inside.in_cluster().await.unwrap());
    let mut outside = cluster.host.instantiate(Sandbox::default()).await.unwrap();
    assert!(!outside.in_cluster().await.unwrap());
    // Present but empty still counts, as in the Go original.
    let sandbox = Sandbox {
        env: vec![("KUBERNETES_SERVICE_HOST".into(), String::new())],
        ..Sandbox::default()
    };
    let mut empty = cluster.host.instantiate(sandbox).await.unwrap();
    assert!(empty.in_cluster().await.unwrap());
}

#[tokio::test]
async fn in_cluster_client_uses_the_service_account() {
    let (cluster, _, mut replica, client) = connected().await;
    assert_eq!(replica.namespace(&client).await.unwrap(), NS);
    assert_eq!(replica.base_url(&client).await.unwrap(), cluster.api.url());
    assert_eq!(ok(replica.list(&client).await).items.len(), 0);
}

#[tokio::test]
async fn missing_environment_is_a_config_error_naming_the_variable() {
    let cluster = cluster().await;
    let account = cluster.account("a").unwrap();
    for (drop_var, keep_empty) in [
        ("KUBERNETES_SERVICE_HOST", false),
        ("KUBERNETES_SERVICE_PORT", false),
        ("KUBERNETES_SERVICE_PORT", true),
    ] {
        let mut sandbox = cluster.sandbox(&account);
        sandbox.env.retain(|(k, _)| k != drop_var);
        if keep_empty {
            sandbox.env.push((drop_var.into(), String::new()));
        }
        let mut replica = cluster.host.instantiate(sandbox).await.unwrap();
        let m = config_message(err(replica.client_in_cluster().await));
        assert!(m.contains(drop_var), "{m}");
    }
}

#[tokio::test]
async fn bad_port_is_a_config_error() {
    let cluster = cluster().await;
    let account = cluster.account("a").unwrap();
    let mut sandbox = cluster.sandbox(&account);
    sandbox.env[1].1 = "https".into();
    let mut replica = cluster.host.instantiate(sandbox).await.unwrap();
    let m = config_message(err(replica.client_in_cluster().await));
    assert!(
        m.starts_with("KUBERNETES_SERVICE_PORT") && m.contains("not a port"),
        "{m}"
    );
}

/// A service-account directory with one file changed (None removes it).
async fn with_file(file: &str, contents: Option<&[u8]>) -> LeaseError {
    let cluster = cluster().await;
    let account = cluster.account("a").unwrap();
    let path = account.dir.join(file);
    match contents {
        Some(bytes) => std::fs::write(&path, bytes).unwrap(),
        None => std::fs::remove_file(&path).unwrap(),
    }
    let mut replica = cluster
        .host
        .instantiate(cluster.sandbox(&account))
        .await
        .unwrap();
    match replica.client_in_cluster().await.unwrap() {
        Err(e) => e,
        // The token is read per request: construction succeeds, the first call fails.
        Ok(client) => err(replica.get(&client, "x").await),
    }
}

#[tokio::test]
async fn missing_namespace_file_is_named() {
    let m = config_message(with_file("namespace", None).await);
    assert!(
        m.contains("/var/run/secrets/kubernetes.io/serviceaccount/namespace"),
        "{m}"
    );
}

#[tokio::test]
async fn garbage_namespace_file_is_named() {
    let m = config_message(with_file("namespace", Some(b"Not/A Namespace")).await);
    assert!(
        m.starts_with("/var/run/secrets/kubernetes.io/serviceaccount/namespace"),
        "{m}"
    );
}

#[tokio::test]
async fn missing_ca_file_is_named() {
    let m = config_message(with_file("ca.crt", None).await);
    assert!(m.contains("serviceaccount/ca.crt"), "{m}");
}

#[tokio::test]
async fn ca_without_a_certificate_is_named() {
    let m = config_message(with_file("ca.crt", Some(b"-----BEGIN NONSENSE-----\n")).await);
    assert!(
        m.contains("serviceaccount/ca.crt holds no PEM certificate"),
        "{m}"
    );
}

#[tokio::test]
async fn missing_token_file_fails_the_request_not_the_constructor() {
    let m = config_message(with_file("token", None).await);
    assert!(
        m.contains("cannot read token file /var/run/secrets/kubernetes.io/serviceaccount/token"),
        "{m}"
    );
}

#[tokio::test]
async fn empty_token_file_is_named() {
    let m = config_message(with_file("token", Some(b"\n")).await);
    assert!(m.ends_with("serviceaccount/token is empty"), "{m}");
}

#[tokio::test]
async fn binary_token_file_is_named_without_its_contents() {
    let m = config_message(with_file("token", Some(b"zq\x01xw\xff")).await);
    assert!(m.contains("serviceaccount/token"), "{m}");
    assert!(!m.contains("zq") && !m.contains("xw"), "{m}");
}

#[tokio::test]
async fn unknown_token_is_unauthorized() {
    match with_file("token", Some(b"not-a-known-token\n")).await {
        LeaseError::Api(s) if s.kind == StatusKind::Unauthorized => {
            assert_eq!(
                (s.code, s.reason.as_str(), s.message.as_str()),
                (401, "Unauthorized", "Unauthorized")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn no_service_account_mount_is_a_config_error() {
    let cluster = cluster().await;
    let account = cluster.account("a").unwrap();
    let sandbox = Sandbox {
        service_account_dir: None,
        ..cluster.sandbox(&account)
    };
    let mut replica = cluster.host.instantiate(sandbox).await.unwrap();
    let m = config_message(err(replica.client_in_cluster().await));
    assert!(m.contains("serviceaccount/namespace"), "{m}");
}

#[tokio::test]
async fn explicit_config_with_a_token_file_works() {
    let cluster = cluster().await;
    let account = cluster.account("a").unwrap();
    let sandbox = Sandbox {
        service_account_dir: None,
        extra_dirs: vec![(account.dir.clone(), "/creds".into())],
        ..cluster.sandbox(&account)
    };
    let mut replica = cluster.host.instantiate(sandbox).await.unwrap();
    let config = Config {
        base_url: cluster.api.url(),
        namespace: "other".into(),
        token_file: Some("/creds/token".into()),
        timeout_ms: Some(5000),
        allow_token_over_http: false,
    };
    let client = ok(replica.client_with_config(&config).await);
    assert_eq!(replica.namespace(&client).await.unwrap(), "other");
    let created = ok(replica.create(&client, &held("x", "me", T0)).await);
    assert_eq!(created.namespace.as_deref(), Some("other"));
}

#[tokio::test]
async fn explicit_config_refuses_a_token_over_plain_http() {
    let cluster = cluster().await;
    let mut replica = cluster.host.instantiate(Sandbox::default()).await.unwrap();
    let mut config = Config {
        base_url: "http://127.0.0.1:8001".into(),
        namespace: "default".into(),
        token_file: Some("/token".into()),
        timeout_ms: None,
        allow_token_over_http: false,
    };
    let m = config_message(err(replica.client_with_config(&config).await));
    assert!(m.contains("plain http"), "{m}");
    config.allow_token_over_http = true;
    ok(replica.client_with_config(&config).await);
    config.base_url = "https://127.0.0.1:8001/api?x".into();
    let m = config_message(err(replica.client_with_config(&config).await));
    assert!(m.starts_with("config base-url"), "{m}");
}
