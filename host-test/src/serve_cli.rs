//! `host-test serve`: the HTTP lock service (the kube-lease-proxy component) served by the
//! wasmtime embedding, a fresh instance per request, reaching the apiserver as `host-test
//! lease` does: with an `https://` server as in a pod (service account preopened read-only, TLS
//! trusting only its `ca.crt`), with an `http://` one through a `kubectl proxy`
//! (`KUBE_LEASE_BASE_URL`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::host::{ProxyServer, Sandbox, ServeOptions};
use crate::lease_cli::args::{self, Access, Server};
use crate::lease_cli::failure::error_line;
use crate::lease_cli::{proxy_namespace, sandbox_for};

/// Where the front token file's directory is preopened (read-only) in the guest.
pub const FRONT_TOKEN_GUEST_DIR: &str = "/var/run/secrets/kube-lease-front";
/// Where the service listens unless `--listen` says otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The host environment variable whose value becomes the front token (without
/// `--front-token-file`), and the guest's variable for it.
pub const FRONT_TOKEN_VAR: &str = "KUBE_LEASE_FRONT_TOKEN";

/// What `host-test serve` was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Serve {
    /// The apiserver (or `kubectl proxy`) the service calls.
    pub server: Server,
    /// How it reaches it.
    pub access: Access,
    /// Where to listen.
    pub listen: SocketAddr,
    /// The file holding the token callers must present.
    pub front_token_file: Option<PathBuf>,
    /// The allowed lease-name prefixes, comma-separated.
    pub prefixes: Option<String>,
}

/// Reads `--server URL [--sa-dir DIR | --namespace NS] [--listen ADDR] [--front-token-file F]
/// [--prefixes P]`.
///
/// # Errors
///
/// What is missing or wrong, in one line.
pub fn parse(words: &[String]) -> Result<Serve, String> {
    let [
        mut server,
        mut sa_dir,
        mut namespace,
        mut listen,
        mut token_file,
        mut prefixes,
    ] = [const { None::<String> }; 6];
    let mut it = words.iter();
    while let Some(flag) = it.next() {
        let slot = match flag.as_str() {
            "--server" => &mut server,
            "--sa-dir" => &mut sa_dir,
            "--namespace" => &mut namespace,
            "--listen" => &mut listen,
            "--front-token-file" => &mut token_file,
            "--prefixes" => &mut prefixes,
            other => return Err(format!("unknown argument {other:?}")),
        };
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        if slot.replace(value.clone()).is_some() {
            return Err(format!("{flag} given twice"));
        }
    }
    let server = Server::parse(&server.ok_or("--server URL is required")?)?;
    let access = args::access(&server, sa_dir.map(PathBuf::from), namespace)?;
    let listen = listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    Ok(Serve {
        server,
        access,
        listen: listen
            .parse()
            .map_err(|_| format!("--listen {listen:?} is not an IP:PORT address"))?,
        front_token_file: token_file.map(PathBuf::from),
        prefixes,
    })
}

/// What every instance may see: the apiserver as `host-test lease` gives it, the lock
/// service's configuration, and the front token (`front_token` is the host's
/// `KUBE_LEASE_FRONT_TOKEN`, used without a `--front-token-file`).
///
/// # Errors
///
/// When no front token is given, the token file or `ca.crt` cannot be read.
pub fn sandbox(serve: &Serve, front_token: Option<String>) -> Result<Sandbox, String> {
    let mut sandbox = sandbox_for(&serve.server, &serve.access).map_err(|f| error_line(&f))?;
    let mut set = |key: &str, value: String| sandbox.env.push((key.to_owned(), value));
    if let Access::Proxy(namespace) = &serve.access {
        set("KUBE_LEASE_BASE_URL", serve.server.origin());
        let namespace = proxy_namespace(namespace).map_err(|f| error_line(&f))?;
        set("KUBE_LEASE_NAMESPACE", namespace);
    }
    if let Some(prefixes) = &serve.prefixes {
        set("KUBE_LEASE_PREFIXES", prefixes.clone());
    }
    match (
        &serve.front_token_file,
        front_token.filter(|t| !t.is_empty()),
    ) {
        (Some(file), _) => {
            let (dir, name) = token_file_parts(file)?;
            set(
                "KUBE_LEASE_FRONT_TOKEN_FILE",
                format!("{FRONT_TOKEN_GUEST_DIR}/{name}"),
            );
            sandbox
                .extra_dirs
                .push((dir, FRONT_TOKEN_GUEST_DIR.to_owned()));
        }
        (None, Some(token)) => set(FRONT_TOKEN_VAR, token),
        (None, None) => {
            return Err(format!(
                "callers need a front token: pass --front-token-file F or set {FRONT_TOKEN_VAR}"
            ));
        }
    }
    Ok(sandbox)
}

/// The token file's directory (preopened) and name, once it is known to be readable.
fn token_file_parts(file: &Path) -> Result<(PathBuf, String), String> {
    std::fs::read(file)
        .map_err(|e| format!("cannot read --front-token-file {}: {e}", file.display()))?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("--front-token-file {} has no file name", file.display()))?;
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name.to_owned()))
}

/// Runs `host-test serve ARGS`: prints `serving the lock service on http://ADDR/` and serves
/// until Ctrl-C.
///
/// # Errors
///
/// When the arguments are wrong, the sandbox cannot be made, the component cannot be compiled
/// or the address cannot be bound.
pub async fn run(words: &[String]) -> anyhow::Result<()> {
    let serve = parse(words).map_err(|e| anyhow::anyhow!("usage: {e} (see host-test --help)"))?;
    let sandbox =
        sandbox(&serve, std::env::var(FRONT_TOKEN_VAR).ok()).map_err(anyhow::Error::msg)?;
    let server = ProxyServer::start(ServeOptions {
        listen: serve.listen,
        sandbox,
        ..ServeOptions::default()
    })
    .await?;
    println!("serving the lock service on {}", server.url());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    server.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(line: &str) -> Result<Serve, String> {
        let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        parse(&words)
    }

    fn env(sandbox: &Sandbox, key: &str) -> Option<String> {
        let found = sandbox.env.iter().find(|(k, _)| k == key);
        found.map(|(_, v)| v.clone())
    }

    #[test]
    fn https_serves_as_a_pod_with_the_token_file_preopened() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.crt"), "PEM").unwrap();
        std::fs::write(dir.path().join("front"), "t0ken").unwrap();
        let line = format!(
            "--server https://10.0.0.1:6443 --sa-dir {0} --front-token-file {0}/front \
             --prefixes a-,b- --listen 127.0.0.1:0",
            dir.path().display()
        );
        let parsed = serve(&line).unwrap();
        assert_eq!(parsed.listen, "127.0.0.1:0".parse().unwrap());
        let sandbox = sandbox(&parsed, Some("ignored".into())).unwrap();
        assert_eq!(
            env(&sandbox, "KUBERNETES_SERVICE_HOST").unwrap(),
            "10.0.0.1"
        );
        assert_eq!(env(&sandbox, "KUBERNETES_SERVICE_PORT").unwrap(), "6443");
        assert_eq!(env(&sandbox, "KUBE_LEASE_BASE_URL"), None);
        assert_eq!(env(&sandbox, FRONT_TOKEN_VAR), None);
        assert_eq!(
            env(&sandbox, "KUBE_LEASE_FRONT_TOKEN_FILE").unwrap(),
            format!("{FRONT_TOKEN_GUEST_DIR}/front")
        );
        assert_eq!(env(&sandbox, "KUBE_LEASE_PREFIXES").unwrap(), "a-,b-");
        assert_eq!(
            sandbox.extra_dirs,
            [(dir.path().to_path_buf(), FRONT_TOKEN_GUEST_DIR.to_owned())]
        );
        assert_eq!(sandbox.service_account_dir.as_deref(), Some(dir.path()));
        assert_eq!(sandbox.trusted_ca_pem.as_deref(), Some(&b"PEM"[..]));
        assert_eq!(sandbox.allowed_origins, ["https://10.0.0.1:6443"]);
    }

    #[test]
    fn http_serves_through_the_proxy_with_the_hosts_token() {
        let parsed = serve("--server http://127.0.0.1:8001 --namespace netbird").unwrap();
        assert_eq!(parsed.listen, DEFAULT_LISTEN.parse().unwrap());
        let sandbox = sandbox(&parsed, Some("t0ken".into())).unwrap();
        assert_eq!(
            env(&sandbox, "KUBE_LEASE_BASE_URL").unwrap(),
            "http://127.0.0.1:8001"
        );
        assert_eq!(env(&sandbox, "KUBE_LEASE_NAMESPACE").unwrap(), "netbird");
        assert_eq!(env(&sandbox, FRONT_TOKEN_VAR).unwrap(), "t0ken");
        assert_eq!(env(&sandbox, "KUBE_LEASE_PREFIXES"), None);
        assert!(sandbox.service_account_dir.is_none() && sandbox.trusted_ca_pem.is_none());
        assert!(sandbox.extra_dirs.is_empty());
        assert_eq!(sandbox.allowed_origins, ["http://127.0.0.1:8001"]);
    }

    #[test]
    fn bad_invocations_say_what_is_wrong() {
        let no_token = serve("--server http://127.0.0.1:8001").unwrap();
        for token in [None, Some(String::new())] {
            let e = sandbox(&no_token, token).unwrap_err();
            assert!(
                e.contains("--front-token-file F or set KUBE_LEASE_FRONT_TOKEN"),
                "{e}"
            );
        }
        let missing = serve("--server http://h --front-token-file /nonexistent/front").unwrap();
        let e = sandbox(&missing, None).unwrap_err();
        assert!(
            e.starts_with("cannot read --front-token-file /nonexistent/front"),
            "{e}"
        );
        for (line, why) in [
            ("--listen 127.0.0.1:0", "--server URL is required"),
            ("--server https://h", "needs --sa-dir"),
            ("--server http://h --listen localhost", "not an IP:PORT"),
            (
                "--server http://h --token t",
                "unknown argument \"--token\"",
            ),
            ("--server http://h --prefixes", "--prefixes needs a value"),
            ("--server http://h --server http://i", "given twice"),
        ] {
            let e = serve(line).unwrap_err();
            assert!(e.contains(why), "{line}: {e}");
        }
    }
}
