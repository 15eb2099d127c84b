//! Tests of the embedding with the real component: its pure exports, and Lease reads through the
//! host's TLS sender (trusted CA, another CA, a refused authority).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::test_support::{Behaviour, mint, server};
use super::{Config, LeaseError, LeaseHost, Replica, Sandbox};

/// The component, compiled once for all tests.
fn host() -> &'static LeaseHost {
    static HOST: OnceLock<LeaseHost> = OnceLock::new();
    HOST.get_or_init(|| {
        let started = Instant::now();
        let host = LeaseHost::from_built().expect("compile the kube-lease component");
        eprintln!("compiled the component in {:?}", started.elapsed());
        host
    })
}

/// A fresh temporary directory holding `files`.
fn temp_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, contents) in files {
        std::fs::write(dir.path().join(name), contents).unwrap();
    }
    dir
}

/// Explicit configuration for `https://{addr}` in namespace `default`.
fn config(base_url: String) -> Config {
    Config {
        base_url,
        namespace: "default".to_owned(),
        token_file: None,
        timeout_ms: Some(5_000),
        allow_token_over_http: false,
    }
}

/// Prints the guest's output when an assertion is about to fail.
fn output(replica: &Replica) -> String {
    format!("guest output:\n{}", replica.stderr())
}

#[tokio::test]
async fn lease_name_for_domain_and_in_cluster() -> anyhow::Result<()> {
    let mut replica = host().instantiate(Sandbox::default()).await?;
    assert_eq!(
        replica.lease_name_for_domain("example.com").await?,
        "cert-lock-a379a6f6eeafb9a5"
    );
    assert!(!replica.in_cluster().await?, "{}", output(&replica));

    let sandbox = Sandbox {
        env: vec![("KUBERNETES_SERVICE_HOST".to_owned(), String::new())],
        ..Sandbox::default()
    };
    let mut replica = host().instantiate(sandbox).await?;
    assert!(replica.in_cluster().await?, "{}", output(&replica));
    Ok(())
}

#[tokio::test]
async fn instantiation_is_cheap() -> anyhow::Result<()> {
    let host = host();
    // Warm up (lazy initialisation in the engine and allocator).
    host.instantiate(Sandbox::default()).await?;
    let rounds: u32 = 50;
    let started = Instant::now();
    for _ in 0..rounds {
        let replica = host.instantiate(Sandbox::default()).await?;
        drop(replica);
    }
    let per_instance = started.elapsed() / rounds;
    eprintln!("instantiate: {per_instance:?} per instance");
    assert!(per_instance < Duration::from_millis(50), "{per_instance:?}");
    Ok(())
}

#[tokio::test]
async fn get_over_https_trusting_only_the_sandbox_ca() -> anyhow::Result<()> {
    let pki = mint(&["127.0.0.1"]);
    let addr = server(Some(&pki), Behaviour::Lease).await;
    let sandbox = Sandbox {
        trusted_ca_pem: Some(pki.ca_pem.clone().into_bytes()),
        allowed_authority: Some(addr.to_string()),
        ..Sandbox::default()
    };
    let mut replica = host().instantiate(sandbox).await?;
    let client = replica
        .client_with_config(&config(format!("https://{addr}")))
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}\n{}", output(&replica)))?;
    assert_eq!(replica.namespace(&client).await?, "default");

    let started = Instant::now();
    let lease = replica
        .get(&client, "my-lease")
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}\n{}", output(&replica)))?
        .expect("the server always has the lease");
    eprintln!("get over a fresh TLS connection: {:?}", started.elapsed());
    let started = Instant::now();
    let rounds: u32 = 20;
    for _ in 0..rounds {
        let again = replica.get(&client, "my-lease").await?;
        assert!(matches!(again, Ok(Some(_))), "{again:?}");
    }
    eprintln!(
        "get over a pooled connection: {:?}",
        started.elapsed() / rounds
    );
    assert_eq!(lease.name, "my-lease");
    assert_eq!(lease.resource_version.as_deref(), Some("42"));
    assert_eq!(lease.spec.holder_identity.as_deref(), Some("replica-a"));
    assert_eq!(lease.spec.lease_duration_seconds, Some(15));
    // No token file configured: no token sent.
    assert_eq!(
        lease.annotations,
        [("seen-authorization".to_owned(), "-".to_owned())]
    );
    replica.drop_client(client).await?;
    Ok(())
}

#[tokio::test]
async fn in_cluster_reads_the_service_account() -> anyhow::Result<()> {
    let pki = mint(&["127.0.0.1"]);
    let addr = server(Some(&pki), Behaviour::Lease).await;
    let sa = temp_dir(&[
        ("token", "sa-token"),
        ("namespace", "default"),
        ("ca.crt", &pki.ca_pem),
    ]);
    let sandbox = Sandbox {
        env: vec![
            ("KUBERNETES_SERVICE_HOST".to_owned(), addr.ip().to_string()),
            (
                "KUBERNETES_SERVICE_PORT".to_owned(),
                addr.port().to_string(),
            ),
        ],
        service_account_dir: Some(sa.path().to_owned()),
        trusted_ca_pem: Some(pki.ca_pem.clone().into_bytes()),
        allowed_authority: Some(addr.to_string()),
        ..Sandbox::default()
    };
    let mut replica = host().instantiate(sandbox).await?;
    let client = replica
        .client_in_cluster()
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}\n{}", output(&replica)))?;
    assert_eq!(replica.namespace(&client).await?, "default");
    assert_eq!(replica.base_url(&client).await?, format!("https://{addr}"));
    let lease = replica.get(&client, "in-cluster").await?;
    let seen = (
        "seen-authorization".to_owned(),
        "Bearer sa-token".to_owned(),
    );
    assert!(
        matches!(&lease, Ok(Some(l)) if l.name == "in-cluster" && l.annotations == [seen]),
        "{lease:?}\n{}",
        output(&replica)
    );
    Ok(())
}

#[tokio::test]
async fn another_ca_or_authority_is_a_transport_error() -> anyhow::Result<()> {
    let pki = mint(&["127.0.0.1"]);
    let other = mint(&["127.0.0.1"]);
    let addr = server(Some(&pki), Behaviour::Lease).await;
    let cases = [
        ("untrusted CA", other.ca_pem.clone(), addr.to_string()),
        (
            "refused authority",
            pki.ca_pem.clone(),
            "127.0.0.1:1".to_owned(),
        ),
    ];
    for (case, ca, allowed) in cases {
        let sandbox = Sandbox {
            trusted_ca_pem: Some(ca.into_bytes()),
            allowed_authority: Some(allowed),
            ..Sandbox::default()
        };
        let mut replica = host().instantiate(sandbox).await?;
        let client = replica
            .client_with_config(&config(format!("https://{addr}")))
            .await?
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let result = replica.get(&client, "x").await?;
        eprintln!("{case}: {result:?}");
        assert!(
            matches!(result, Err(LeaseError::Transport(_))),
            "{case}: {result:?}\n{}",
            output(&replica)
        );
    }
    Ok(())
}
