//! `host-test lease`: calls the component against any apiserver, the way a pod would run it.
//!
//! With an `https://` server the wasmtime host gives the component what a pod has:
//! `KUBERNETES_SERVICE_HOST`/`_PORT` from the URL, the service-account directory preopened
//! read-only, TLS trusting only its `ca.crt`, and that origin as the only destination; the
//! component builds its client with `in-cluster`. With an `http://` server (a `kubectl proxy`)
//! it uses `with-config` and sends no token: the proxy authenticates.
//!
//! A lease prints as Kubernetes JSON on stdout, a hold taken by `lock` as one JSON line
//! ([`lock::hold_json`]); a failure is one line on stderr ([`failure::error_line`]) and exit
//! status 1.

pub mod args;
pub mod failure;
pub mod json;
pub mod lock;

use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;

use self::args::{Access, Invocation, Operation, ProxyNamespace, Server};
use self::failure::{Failure, error_line};
use crate::host::{ClientHandle, Config, LeaseHost, Preconditions, Replica, Sandbox};

/// Runs `host-test lease ARGS`: prints the result and returns the exit status.
pub async fn main(args: &[String]) -> ExitCode {
    match run(args).await {
        Ok(Some(value)) => {
            println!("{}", pretty(&value));
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{}", error_line(&failure));
            ExitCode::FAILURE
        }
    }
}

/// Parses `args`, runs the component and performs the operation; what to print, if anything.
///
/// # Errors
///
/// The failure to report.
pub async fn run(args: &[String]) -> Result<Option<Value>, Failure> {
    let invocation = args::parse(args).map_err(Failure::Usage)?;
    let host = LeaseHost::from_built().map_err(host_failure)?;
    let mut replica = host
        .instantiate(sandbox(&invocation)?)
        .await
        .map_err(host_failure)?;
    let client = connect(&mut replica, &invocation).await?;
    match &invocation.operation {
        Operation::Get(name) => match called(replica.get(&client, name).await)? {
            Some(lease) => Ok(Some(json::lease(&lease))),
            None => Err(Failure::Absent {
                name: name.clone(),
                namespace: replica.namespace(&client).await.map_err(host_failure)?,
            }),
        },
        Operation::List => Ok(Some(json::lease_list(&called(
            replica.list(&client).await,
        )?))),
        Operation::Delete(name) => {
            let unconditional = Preconditions {
                resource_version: None,
                uid: None,
            };
            called(replica.delete(&client, name, &unconditional).await)?;
            eprintln!("lease.coordination.k8s.io {name:?} deleted");
            Ok(None)
        }
        Operation::Lock(request) => {
            lock::lock(&mut replica, &client, request).await?;
            Ok(None)
        }
        Operation::Unlock { name, identity } => {
            lock::unlock(&mut replica, &client, name, identity).await?;
            Ok(None)
        }
    }
}

/// What the component may see for `invocation` (see [`sandbox_for`]).
fn sandbox(invocation: &Invocation) -> Result<Sandbox, Failure> {
    sandbox_for(&invocation.server, &invocation.access)
}

/// What a component reaching `server` may see: for `https`, a pod's view of the service
/// account and the apiserver (`KUBERNETES_SERVICE_HOST`/`_PORT`, the directory preopened
/// read-only, TLS trusting only its `ca.crt`); for `http`, nothing but the proxy. Either way
/// the server's origin is the only destination.
///
/// # Errors
///
/// When the directory's `ca.crt` cannot be read.
pub fn sandbox_for(server: &Server, access: &Access) -> Result<Sandbox, Failure> {
    let mut sandbox = only_destination(server);
    if let Access::InCluster(dir) = access {
        sandbox.env = vec![
            ("KUBERNETES_SERVICE_HOST".into(), server.bare_host().into()),
            ("KUBERNETES_SERVICE_PORT".into(), server.port.to_string()),
        ];
        sandbox.trusted_ca_pem = Some(read(&dir.join("ca.crt"))?.into_bytes());
        sandbox.service_account_dir = Some(dir.clone());
    }
    Ok(sandbox)
}

/// A sandbox whose only allowed destination is the server's origin.
fn only_destination(server: &Server) -> Sandbox {
    Sandbox {
        allowed_origins: vec![server.origin()],
        ..Sandbox::default()
    }
}

/// The component's client: `in-cluster`, or `with-config` for a proxy.
async fn connect(replica: &mut Replica, invocation: &Invocation) -> Result<ClientHandle, Failure> {
    let result = match &invocation.access {
        Access::InCluster(_) => replica.client_in_cluster().await,
        Access::Proxy(namespace) => {
            let config = proxy_config(&invocation.server, namespace)?;
            replica.client_with_config(&config).await
        }
    };
    called(result)
}

/// `with-config` for a `kubectl proxy`: its origin, the namespace, and no token.
fn proxy_config(server: &Server, namespace: &ProxyNamespace) -> Result<Config, Failure> {
    Ok(Config {
        base_url: server.origin(),
        namespace: proxy_namespace(namespace)?,
        token_file: None,
        timeout_ms: None,
        allow_token_over_http: false,
    })
}

/// The namespace of a client behind a `kubectl proxy`.
///
/// # Errors
///
/// When the directory's `namespace` file cannot be read.
pub fn proxy_namespace(namespace: &ProxyNamespace) -> Result<String, Failure> {
    Ok(match namespace {
        ProxyNamespace::File(dir) => read(&dir.join("namespace"))?.trim().to_owned(),
        ProxyNamespace::Given(namespace) => namespace.clone(),
    })
}

/// A call's result: a trap is a host failure, the component's error a lease failure.
fn called<T>(result: crate::host::CallResult<T>) -> Result<T, Failure> {
    Ok(result.map_err(host_failure)??)
}

/// A host-side failure with its causes, on one line.
fn host_failure(e: anyhow::Error) -> Failure {
    Failure::Host(format!("{e:#}"))
}

/// A file of the service-account directory the host reads itself.
fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| {
        Failure::Lease(crate::host::LeaseError::Config(format!(
            "cannot read {}: {e}",
            path.display()
        )))
    })
}

/// JSON indented as `kubectl get -o json` indents it.
fn pretty(value: &Value) -> String {
    use serde::Serialize as _;
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    // Serializing a `Value` into memory cannot fail.
    let _ = value.serialize(&mut serializer);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invocation(line: &str) -> Invocation {
        let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        args::parse(&words).unwrap()
    }

    #[test]
    fn https_gives_the_component_a_pods_view() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.crt"), "PEM").unwrap();
        let line = format!(
            "--server https://[::1]:6443 --sa-dir {} list",
            dir.path().display()
        );
        let sandbox = sandbox(&invocation(&line)).unwrap();
        assert_eq!(
            sandbox.env,
            [
                ("KUBERNETES_SERVICE_HOST".to_owned(), "::1".to_owned()),
                ("KUBERNETES_SERVICE_PORT".to_owned(), "6443".to_owned()),
            ]
        );
        assert_eq!(sandbox.service_account_dir.as_deref(), Some(dir.path()));
        assert_eq!(sandbox.trusted_ca_pem.as_deref(), Some(&b"PEM"[..]));
        assert_eq!(sandbox.allowed_origins, ["https://[::1]:6443"]);
    }

    #[test]
    fn http_gives_the_component_no_token_and_no_service_account() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("namespace"), "netbird\n").unwrap();
        std::fs::write(dir.path().join("token"), "secret").unwrap();
        let line = format!(
            "--server http://127.0.0.1:8001 --sa-dir {} list",
            dir.path().display()
        );
        let inv = invocation(&line);
        let sandbox = sandbox(&inv).unwrap();
        assert!(sandbox.env.is_empty() && sandbox.service_account_dir.is_none());
        assert!(sandbox.trusted_ca_pem.is_none());
        assert_eq!(sandbox.allowed_origins, ["http://127.0.0.1:8001"]);
        let Access::Proxy(namespace) = &inv.access else {
            panic!("{inv:?}")
        };
        let config = proxy_config(&inv.server, namespace).unwrap();
        assert_eq!(config.base_url, "http://127.0.0.1:8001");
        assert_eq!(config.namespace, "netbird");
        assert_eq!(config.token_file, None);
        assert!(!config.allow_token_over_http);
    }

    #[test]
    fn a_missing_ca_is_a_config_failure_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let line = format!(
            "--server https://127.0.0.1:6443 --sa-dir {} list",
            dir.path().display()
        );
        let e = error_line(&sandbox(&invocation(&line)).unwrap_err());
        assert!(
            e.starts_with("error: config: cannot read ") && e.contains("ca.crt"),
            "{e}"
        );
    }

    #[test]
    fn output_is_indented_like_kubectl() {
        let value = serde_json::json!({"kind": "Lease", "spec": {"holderIdentity": "a"}});
        assert_eq!(
            pretty(&value),
            "{\n    \"kind\": \"Lease\",\n    \"spec\": {\n        \"holderIdentity\": \"a\"\n    }\n}"
        );
    }
}
