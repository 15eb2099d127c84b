//! Tests of the embedding with the real component: its pure exports, Lease reads through the
//! host's TLS sender (trusted CA, another CA, a refused origin), and connection pooling.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::test_support::{Behaviour, Pki, counting_server, mint, server};
use super::{ClientHandle, Config, LeaseError, LeaseHost, Replica, Sandbox};

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
        allowed_origins: vec![format!("https://{addr}")],
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
        allowed_origins: vec![format!("https://{addr}")],
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
async fn another_ca_or_origin_is_a_transport_error() -> anyhow::Result<()> {
    let pki = mint(&["127.0.0.1"]);
    let other = mint(&["127.0.0.1"]);
    let addr = server(Some(&pki), Behaviour::Lease).await;
    let cases = [
        (
            "untrusted CA",
            other.ca_pem.clone(),
            format!("https://{addr}"),
        ),
        (
            "refused origin",
            pki.ca_pem.clone(),
            "https://127.0.0.1:1".to_owned(),
        ),
    ];
    for (case, ca, allowed) in cases {
        let sandbox = Sandbox {
            trusted_ca_pem: Some(ca.into_bytes()),
            allowed_origins: vec![allowed],
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

/// A sandbox reaching only `https://{addr}`, trusting `pki`'s CA.
fn https_sandbox(pki: &Pki, addr: std::net::SocketAddr) -> Sandbox {
    Sandbox {
        trusted_ca_pem: Some(pki.ca_pem.clone().into_bytes()),
        allowed_origins: vec![format!("https://{addr}")],
        ..Sandbox::default()
    }
}

/// An instance of `host` in `sandbox` with a client for `https://{addr}`.
async fn connected(
    host: &LeaseHost,
    sandbox: Sandbox,
    addr: std::net::SocketAddr,
) -> anyhow::Result<(Replica, ClientHandle)> {
    let mut replica = host.instantiate(sandbox).await?;
    let client = replica
        .client_with_config(&config(format!("https://{addr}")))
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}\n{}", output(&replica)))?;
    Ok((replica, client))
}

/// Two gets that must both find the lease.
async fn get_twice(replica: &mut Replica, client: &ClientHandle) -> anyhow::Result<()> {
    for _ in 0..2 {
        let got = replica.get(client, "pooled").await?;
        anyhow::ensure!(matches!(got, Ok(Some(_))), "{got:?}\n{}", output(replica));
    }
    Ok(())
}

#[tokio::test]
async fn one_connection_serves_requests_of_one_and_of_several_instances() -> anyhow::Result<()> {
    let pki = mint(&["127.0.0.1"]);
    let (addr, connections) = counting_server(Some(&pki), Behaviour::Lease).await;
    let (mut first, client) = connected(host(), https_sandbox(&pki, addr), addr).await?;
    get_twice(&mut first, &client).await?;
    assert_eq!(connections.accepted(), 1, "two requests of one instance");
    let (mut second, client) = connected(host(), https_sandbox(&pki, addr), addr).await?;
    get_twice(&mut second, &client).await?;
    assert_eq!(connections.accepted(), 1, "requests of a second instance");
    // An instance that opts out of reuse opens its own connection per request.
    let fresh = Sandbox {
        fresh_connections: true,
        ..https_sandbox(&pki, addr)
    };
    let (mut third, client) = connected(host(), fresh, addr).await?;
    get_twice(&mut third, &client).await?;
    assert_eq!(connections.accepted(), 3, "fresh connections");
    Ok(())
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_timeout() -> anyhow::Result<()> {
    let host = LeaseHost::from_built()?.with_idle_timeout(Duration::from_millis(300));
    let pki = mint(&["127.0.0.1"]);
    let (addr, connections) = counting_server(Some(&pki), Behaviour::Lease).await;
    let (mut replica, client) = connected(&host, https_sandbox(&pki, addr), addr).await?;
    get_twice(&mut replica, &client).await?;
    // The instance and the host are alive: only the idle timer can close the connection.
    connections.wait_closed(1).await;
    get_twice(&mut replica, &client).await?;
    assert_eq!(
        connections.accepted(),
        2,
        "a new connection after the idle one closed"
    );
    Ok(())
}

#[tokio::test]
async fn a_malformed_origin_fails_instantiation_naming_it() -> anyhow::Result<()> {
    for origin in [
        "127.0.0.1:6443",
        "https://apiserver:6443/api",
        "ftp://apiserver:21",
    ] {
        let sandbox = Sandbox {
            allowed_origins: vec!["https://ok:443".to_owned(), origin.to_owned()],
            ..Sandbox::default()
        };
        let err = match host().instantiate(sandbox).await {
            Ok(_) => anyhow::bail!("{origin} was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(&format!("{origin:?}")), "{origin}: {err}");
    }
    Ok(())
}
