//! Files clients need to reach the emulator (a service-account directory, a kubeconfig) and
//! the standalone mode behind `host-test apiserver`.
//!
//! Every file is private: written 0600 (to a fresh temporary file in the same directory, then
//! renamed over the target, so a reader never sees half a file), in a directory created 0700
//! when absent. Nothing goes to a predictable path: without a directory named by the user, the
//! CA goes into a fresh private temporary directory.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;

use super::{ApiServer, FaultRule, Limits, Options};

/// Creates `dir` and its missing parents, each 0700 (an existing directory is left as it is).
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

/// Writes `contents` to `path` readable by the owner only (0600), creating its directory.
pub(crate) fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    create_private_dir(dir)?;
    let context = || format!("writing {}", path.display());
    // tempfile creates the file 0600 under a random name.
    let mut file = tempfile::Builder::new()
        .prefix(".kube-lease-")
        .tempfile_in(dir)
        .with_context(context)?;
    file.write_all(contents.as_bytes()).with_context(context)?;
    file.persist(path).with_context(context)?;
    Ok(())
}

/// Writes `token`, `ca.crt` and `namespace` into `dir` (created 0700 if absent), each 0600.
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
        write_private(&dir.join(file), contents)?;
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

/// Writes [`kubeconfig`] to `path` (0600; its directory created 0700 if absent).
pub(crate) fn write_kubeconfig(
    path: &Path,
    url: &str,
    ca_pem: &str,
    token: &str,
    namespace: &str,
) -> anyhow::Result<()> {
    write_private(path, &kubeconfig(url, ca_pem, token, namespace))
}

/// The user the standalone server's token (and proxy listener) act as.
const ADMIN: &str = "kube-lease-admin";

/// Runs an emulator with `limits` until Ctrl-C: one admin token, an optional kubeconfig and
/// service-account directory for it (else the CA in a fresh private temporary directory,
/// removed at exit), with `proxy_port` a `kubectl proxy`-like plain-http listener acting as the
/// admin there (0 = OS-chosen), `faults` injected (chance rules drawing from `fault_seed`), and
/// usage hints on stdout; at exit, the faults fired.
///
/// # Errors
/// When the server cannot start or a file cannot be written.
pub async fn run_standalone(
    kubeconfig: Option<PathBuf>,
    sa_dir: Option<PathBuf>,
    namespace: String,
    limits: Limits,
    proxy_port: Option<u16>,
    faults: Vec<FaultRule>,
    fault_seed: u64,
) -> anyhow::Result<()> {
    let server = ApiServer::start_with_limits(Options::default(), limits).await?;
    if !faults.is_empty() {
        println!(
            "injecting {} fault rule(s), seed {fault_seed}",
            faults.len()
        );
    }
    server.seed_faults(fault_seed);
    for rule in faults {
        server.inject(rule);
    }
    let token = format!("admin.{}", uuid::Uuid::new_v4().simple());
    server.add_token(&token, ADMIN, None);
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
        server.write_service_account_dir(dir, &token, &namespace)?;
        println!("service-account directory: {}", dir.display());
        let addr = server.addr();
        println!(
            "  in-cluster env: KUBERNETES_SERVICE_HOST={} KUBERNETES_SERVICE_PORT={}",
            addr.ip(),
            addr.port()
        );
    }
    if let Some(port) = proxy_port {
        let url = server.start_proxy_listener_at(ADMIN, port).await?;
        println!("kubectl-proxy-style listener (plain http, no token needed) at {url}");
        println!("  try: kubectl --server {url} get leases -n {namespace}");
    }
    // Without a directory named by the user: a fresh private one, removed when serving ends.
    let _scratch = if kubeconfig.is_none() && sa_dir.is_none() {
        Some(write_scratch_ca(&server, &token, &namespace)?)
    } else {
        None
    };
    // Listen before saying so: a SIGTERM right after the message must not kill the process
    // before the scratch directory is removed.
    let stop = stop_signal()?;
    println!("serving until Ctrl-C (or SIGTERM)");
    stop.await?;
    let fired = server.faults_fired();
    if !fired.is_empty() {
        println!("faults fired: {fired:?}");
    }
    server.shutdown().await;
    Ok(())
}

/// Writes the CA into a fresh 0700 temporary directory and prints where, with a kubectl hint.
fn write_scratch_ca(
    server: &ApiServer,
    token: &str,
    namespace: &str,
) -> anyhow::Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("kube-lease-emulator-");
    // tempfile creates directories with the umask's mode (often 0755): ask for 0700.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    let dir = builder
        .tempdir()
        .context("creating a private temporary directory")?;
    let ca = dir.path().join("ca.crt");
    write_private(&ca, &server.ca_pem())?;
    println!("CA certificate: {}", ca.display());
    println!(
        "  try: kubectl --server {} --certificate-authority {} --token {token} get leases -n {namespace}",
        server.url(),
        ca.display()
    );
    Ok(dir)
}

/// A future that resolves on Ctrl-C or (on Unix) SIGTERM; on Unix both are handled from this
/// call on, so that the scratch directory is removed either way.
#[cfg(unix)]
fn stop_signal() -> anyhow::Result<impl std::future::Future<Output = anyhow::Result<()>>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).context("listening for Ctrl-C")?;
    let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        Ok(())
    })
}

/// A future that resolves on Ctrl-C.
#[cfg(not(unix))]
fn stop_signal() -> anyhow::Result<impl std::future::Future<Output = anyhow::Result<()>>> {
    Ok(async { tokio::signal::ctrl_c().await.context("waiting for Ctrl-C") })
}
