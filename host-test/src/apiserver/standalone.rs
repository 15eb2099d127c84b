//! Files clients need to reach the emulator (a service-account directory, a kubeconfig) and
//! the standalone mode behind `host-test apiserver`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;

use super::{ApiServer, Options};

/// Writes `token`, `ca.crt` and `namespace` into `dir` (which must exist).
pub(crate) fn write_service_account_dir(
    dir: &Path,
    ca_pem: &str,
    token: &str,
    namespace: &str,
) -> anyhow::Result<()> {
    for (file, contents) in [
        ("token", token),
        ("ca.crt", ca_pem),
        ("namespace", namespace),
    ] {
        let path = dir.join(file);
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn yq(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The kubeconfig text: one cluster, one user with a bearer token, one current context.
pub(crate) fn kubeconfig(url: &str, ca_pem: &str, token: &str, namespace: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let mut s = String::new();
    let _ = write!(
        s,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-lease-emulator\n  cluster:\n    server: {}\n    certificate-authority-data: {}\nusers:\n- name: kube-lease-emulator\n  user:\n    token: {}\ncontexts:\n- name: kube-lease-emulator\n  context:\n    cluster: kube-lease-emulator\n    user: kube-lease-emulator\n    namespace: {}\ncurrent-context: kube-lease-emulator\npreferences: {{}}\n",
        yq(url),
        yq(&ca),
        yq(token),
        yq(namespace)
    );
    s
}

/// Writes [`kubeconfig`] to `path`.
pub(crate) fn write_kubeconfig(
    path: &Path,
    url: &str,
    ca_pem: &str,
    token: &str,
    namespace: &str,
) -> anyhow::Result<()> {
    std::fs::write(path, kubeconfig(url, ca_pem, token, namespace))
        .with_context(|| format!("writing {}", path.display()))
}

/// Runs an emulator until Ctrl-C: one admin token, an optional kubeconfig and service-account
/// directory for it, and usage hints on stdout.
///
/// # Errors
/// When the server cannot start or a file cannot be written.
pub async fn run_standalone(
    kubeconfig: Option<PathBuf>,
    sa_dir: Option<PathBuf>,
    namespace: String,
) -> anyhow::Result<()> {
    let server = ApiServer::start(Options::default()).await?;
    let token = format!("admin.{}", uuid::Uuid::new_v4().simple());
    server.add_token(&token, "kube-lease-admin", None);
    println!(
        "emulated kube-apiserver (coordination.k8s.io/v1 Leases) at {}",
        server.url()
    );
    if let Some(path) = &kubeconfig {
        server.write_kubeconfig(path, &token, &namespace)?;
        println!("kubeconfig: {}", path.display());
        println!("  try: kubectl --kubeconfig {} get leases", path.display());
    }
    if let Some(dir) = &sa_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        server.write_service_account_dir(dir, &token, &namespace)?;
        println!("service-account directory: {}", dir.display());
        let addr = server.addr();
        println!(
            "  in-cluster env: KUBERNETES_SERVICE_HOST={} KUBERNETES_SERVICE_PORT={}",
            addr.ip(),
            addr.port()
        );
    }
    if kubeconfig.is_none() && sa_dir.is_none() {
        let ca =
            std::env::temp_dir().join(format!("kube-lease-emulator-{}.crt", server.addr().port()));
        std::fs::write(&ca, server.ca_pem())?;
        println!("CA certificate: {}", ca.display());
        println!(
            "  try: kubectl --server {} --certificate-authority {} --token {token} get leases -n {namespace}",
            server.url(),
            ca.display()
        );
    }
    println!("serving until Ctrl-C");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    server.shutdown().await;
    Ok(())
}
