//! The arguments of `host-test lease`: the apiserver's origin, the service-account directory or
//! namespace, and the operation.

use std::path::PathBuf;

use http::Uri;
use http::uri::Scheme;

/// What `host-test lease` was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// The apiserver (or `kubectl proxy`) to call.
    pub server: Server,
    /// How the component reaches it.
    pub access: Access,
    /// The operation.
    pub operation: Operation,
}

/// How the component reaches the apiserver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// `https`: as in a pod, from this service-account directory (`token`, `ca.crt`, `namespace`).
    InCluster(PathBuf),
    /// `http` (a `kubectl proxy`): no token, the namespace from a directory's `namespace` file
    /// or given.
    Proxy(ProxyNamespace),
}

/// Where the namespace of an `http` client comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyNamespace {
    /// The `namespace` file of this service-account directory.
    File(PathBuf),
    /// This namespace (`--namespace`, else `default`).
    Given(String),
}

/// One lease operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Print the lease of this name.
    Get(String),
    /// Print every lease in the namespace.
    List,
    /// Delete the lease of this name.
    Delete(String),
}

/// The apiserver's origin, from `--server`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    /// `https` (else plain `http`).
    pub https: bool,
    /// The host as written in a URL: IPv6 in brackets.
    pub host: String,
    /// The explicit port, else the scheme's default.
    pub port: u16,
}

impl Server {
    /// Reads `scheme://host[:port]`, with at most a `/` after it.
    ///
    /// # Errors
    ///
    /// When the URL is not http(s), has user info, a path or a query.
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("--server {url:?} is not a URL: {e}"))?;
        let https = match uri.scheme() {
            Some(s) if *s == Scheme::HTTPS => true,
            Some(s) if *s == Scheme::HTTP => false,
            _ => {
                return Err(format!(
                    "--server {url:?} must start with https:// or http://"
                ));
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| format!("--server {url:?} has no host"))?;
        if authority.as_str().contains('@') {
            return Err(format!("--server {url:?} must not carry user info"));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(format!("--server {url:?} must have no path or query"));
        }
        Ok(Self {
            https,
            host: authority.host().to_owned(),
            port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
        })
    }

    /// `host:port` (IPv6 in brackets).
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// `scheme://host:port`.
    pub fn origin(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.authority())
    }

    /// The host without IPv6 brackets, as Kubernetes sets `KUBERNETES_SERVICE_HOST`.
    pub fn bare_host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }
}

/// Reads `--server URL [--sa-dir DIR] [--namespace NS] (get NAME | list | delete NAME)`; the
/// flags may come in any order, before or after the operation.
///
/// # Errors
///
/// What is missing or wrong, in one line.
pub fn parse(args: &[String]) -> Result<Invocation, String> {
    let (mut server, mut sa_dir, mut namespace) = (None, None, None);
    let mut words = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let slot = match arg.as_str() {
            "--server" => &mut server,
            "--sa-dir" => &mut sa_dir,
            "--namespace" => &mut namespace,
            flag if flag.starts_with('-') => return Err(format!("unknown flag {flag:?}")),
            word => {
                words.push(word);
                continue;
            }
        };
        let value = it.next().ok_or_else(|| format!("{arg} needs a value"))?;
        if slot.replace(value.clone()).is_some() {
            return Err(format!("{arg} given twice"));
        }
    }
    let server = Server::parse(&server.ok_or("--server URL is required")?)?;
    let access = access(&server, sa_dir.map(PathBuf::from), namespace)?;
    Ok(Invocation {
        server,
        access,
        operation: operation(&words)?,
    })
}

/// How to reach `server`: https needs a service-account directory; http takes a directory or a
/// namespace, not both.
fn access(
    server: &Server,
    sa_dir: Option<PathBuf>,
    namespace: Option<String>,
) -> Result<Access, String> {
    match (server.https, sa_dir, namespace) {
        (true, Some(dir), None) => Ok(Access::InCluster(dir)),
        (true, None, _) => Err("an https:// server needs --sa-dir DIR".into()),
        (true, Some(_), Some(_)) => Err(
            "--namespace is for an http:// proxy; in-cluster the namespace is DIR/namespace".into(),
        ),
        (false, Some(_), Some(_)) => Err("give --sa-dir or --namespace, not both".into()),
        (false, Some(dir), None) => Ok(Access::Proxy(ProxyNamespace::File(dir))),
        (false, None, ns) => Ok(Access::Proxy(ProxyNamespace::Given(
            ns.unwrap_or_else(|| "default".into()),
        ))),
    }
}

/// The operation from the words that are not flags.
fn operation(words: &[&str]) -> Result<Operation, String> {
    match words {
        ["get", name] => Ok(Operation::Get((*name).to_owned())),
        ["list"] => Ok(Operation::List),
        ["delete", name] => Ok(Operation::Delete((*name).to_owned())),
        [] => Err("missing operation: get NAME, list or delete NAME".into()),
        _ => Err(format!(
            "expected get NAME, list or delete NAME, not {:?}",
            words.join(" ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn https_takes_the_service_account_directory() {
        let inv = parse(&args(
            "--server https://10.0.0.1:6443 --sa-dir /sa get my-lease",
        ))
        .unwrap();
        assert_eq!(inv.access, Access::InCluster("/sa".into()));
        assert_eq!(inv.operation, Operation::Get("my-lease".into()));
        assert_eq!(inv.server.origin(), "https://10.0.0.1:6443");
        assert_eq!(inv.server.bare_host(), "10.0.0.1");
    }

    #[test]
    fn flags_may_follow_the_operation() {
        let inv = parse(&args("delete x --sa-dir /sa --server https://k8s.example")).unwrap();
        assert_eq!(inv.operation, Operation::Delete("x".into()));
        assert_eq!(inv.server.authority(), "k8s.example:443");
    }

    #[test]
    fn ipv6_is_bracketed_in_the_origin_and_bare_in_the_environment() {
        let server = Server::parse("https://[fd00::1]:6443/").unwrap();
        assert_eq!(server.authority(), "[fd00::1]:6443");
        assert_eq!(server.origin(), "https://[fd00::1]:6443");
        assert_eq!(server.bare_host(), "fd00::1");
    }

    #[test]
    fn http_takes_a_directory_a_namespace_or_neither() {
        let ns = |line: &str| parse(&args(line)).map(|i| i.access);
        assert_eq!(
            ns("--server http://127.0.0.1:8001 list"),
            Ok(Access::Proxy(ProxyNamespace::Given("default".into())))
        );
        assert_eq!(
            ns("--server http://127.0.0.1:8001 --namespace kube-system list"),
            Ok(Access::Proxy(ProxyNamespace::Given("kube-system".into())))
        );
        assert_eq!(
            ns("--server http://127.0.0.1:8001 --sa-dir /sa list"),
            Ok(Access::Proxy(ProxyNamespace::File("/sa".into())))
        );
        assert!(ns("--server http://localhost:8001 --sa-dir /sa --namespace x list").is_err());
    }

    #[test]
    fn bad_invocations_say_what_is_wrong() {
        for (line, why) in [
            ("list", "--server URL is required"),
            ("--server https://h list", "needs --sa-dir"),
            (
                "--server https://h --sa-dir /sa --namespace x list",
                "--namespace is for",
            ),
            ("--server ftp://h list", "https:// or http://"),
            ("--server https://u:p@h --sa-dir /sa list", "user info"),
            ("--server https://h/api --sa-dir /sa list", "no path"),
            ("--server https://h --sa-dir /sa get", "expected get NAME"),
            (
                "--server https://h --sa-dir /sa list extra",
                "expected get NAME",
            ),
            ("--server https://h --sa-dir /sa", "missing operation"),
            (
                "--server https://h --sa-dir /sa --token t list",
                "unknown flag",
            ),
            (
                "--server https://h --server https://i --sa-dir /sa list",
                "given twice",
            ),
            ("--server https://h list --sa-dir", "--sa-dir needs a value"),
        ] {
            let e = parse(&args(line)).unwrap_err();
            assert!(e.contains(why), "{line}: {e}");
        }
    }
}
