//! The arguments of `host-test lease`: the apiserver's origin, the service-account directory or
//! namespace, and the operation.

use std::path::PathBuf;
use std::time::Duration;

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
    /// Take a hold on a lease, keep it a while, give it back.
    Lock(Lock),
    /// Give back the hold `identity` has on lease `name`.
    Unlock {
        /// The lease's name.
        name: String,
        /// The holder whose hold to release.
        identity: String,
    },
}

/// `lock NAME [--identity ID] [--duration S] [--hold S] [--wait S]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lock {
    /// The lease's name.
    pub name: String,
    /// The holder identity (default: the component's, a random one outside a pod).
    pub identity: Option<String>,
    /// `leaseDurationSeconds` to write (default: the component's, 300).
    pub duration_seconds: Option<i32>,
    /// How long to keep the hold, renewing it, before releasing it.
    pub hold: Duration,
    /// How long to wait for the lease; zero makes one attempt.
    pub wait: Duration,
}

/// The flags only `lock` and `unlock` take, as given.
#[derive(Debug, Default)]
struct LockFlags {
    identity: Option<String>,
    duration: Option<String>,
    hold: Option<String>,
    wait: Option<String>,
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

/// Reads `--server URL [--sa-dir DIR] [--namespace NS] OPERATION`, where the operation is
/// `get NAME`, `list`, `delete NAME`, `lock NAME [--identity ID] [--duration S] [--hold S]
/// [--wait S]` or `unlock NAME --identity ID`; the flags may come in any order, before or after
/// the operation.
///
/// # Errors
///
/// What is missing or wrong, in one line.
pub fn parse(args: &[String]) -> Result<Invocation, String> {
    let (mut server, mut sa_dir, mut namespace) = (None, None, None);
    let mut lock = LockFlags::default();
    let mut words = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let slot = match arg.as_str() {
            "--server" => &mut server,
            "--sa-dir" => &mut sa_dir,
            "--namespace" => &mut namespace,
            "--identity" => &mut lock.identity,
            "--duration" => &mut lock.duration,
            "--hold" => &mut lock.hold,
            "--wait" => &mut lock.wait,
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
        operation: operation(&words, lock)?,
    })
}

/// How to reach `server`: https needs a service-account directory; http takes a directory or a
/// namespace, not both.
///
/// # Errors
///
/// What is missing or given too much, in one line.
pub fn access(
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

/// The operations, as the usage names them.
const OPERATIONS: &str = "get NAME, list, delete NAME, lock NAME or unlock NAME";

/// The operation from the words that are not flags, and the lock flags it may take.
fn operation(words: &[&str], flags: LockFlags) -> Result<Operation, String> {
    let simple = match words {
        ["get", name] => Operation::Get((*name).to_owned()),
        ["list"] => Operation::List,
        ["delete", name] => Operation::Delete((*name).to_owned()),
        ["lock", name] => return lock(name, flags).map(Operation::Lock),
        ["unlock", name] => return unlock(name, flags),
        [] => return Err(format!("missing operation: {OPERATIONS}")),
        _ => {
            return Err(format!("expected {OPERATIONS}, not {:?}", words.join(" ")));
        }
    };
    match flags {
        LockFlags {
            identity: None,
            duration: None,
            hold: None,
            wait: None,
        } => Ok(simple),
        _ => Err("--identity, --duration, --hold and --wait are for lock and unlock".into()),
    }
}

/// `lock NAME` and its flags.
fn lock(name: &str, flags: LockFlags) -> Result<Lock, String> {
    let duration_seconds = match flags.duration {
        None => None,
        Some(text) => Some(
            text.parse::<i32>()
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| format!("--duration {text:?} is not a positive whole number"))?,
        ),
    };
    Ok(Lock {
        name: name.to_owned(),
        identity: flags.identity,
        duration_seconds,
        hold: seconds("--hold", flags.hold)?,
        wait: seconds("--wait", flags.wait)?,
    })
}

/// `unlock NAME --identity ID`.
fn unlock(name: &str, flags: LockFlags) -> Result<Operation, String> {
    if flags.duration.is_some() || flags.hold.is_some() || flags.wait.is_some() {
        return Err("unlock takes only --identity".into());
    }
    let identity = flags
        .identity
        .ok_or("unlock needs --identity ID (whose hold to release)")?;
    Ok(Operation::Unlock {
        name: name.to_owned(),
        identity,
    })
}

/// A flag's seconds (decimals allowed), zero when absent.
fn seconds(flag: &str, text: Option<String>) -> Result<Duration, String> {
    let Some(text) = text else {
        return Ok(Duration::ZERO);
    };
    text.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .filter(|d| *d <= MAX_SECONDS)
        .ok_or_else(|| format!("{flag} {text:?} is not a number of seconds from 0 to 86400"))
}

/// The longest `--hold` or `--wait`: a day.
const MAX_SECONDS: Duration = Duration::from_secs(86_400);

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
    fn lock_takes_its_flags_and_defaults_to_one_attempt_and_no_hold() {
        let inv = parse(&args(
            "--server https://h --sa-dir /sa lock cert-lock-1 --identity me --duration 15 --hold 2.5 --wait 10",
        ))
        .unwrap();
        assert_eq!(
            inv.operation,
            Operation::Lock(Lock {
                name: "cert-lock-1".into(),
                identity: Some("me".into()),
                duration_seconds: Some(15),
                hold: Duration::from_millis(2500),
                wait: Duration::from_secs(10),
            })
        );
        let Operation::Lock(bare) = parse(&args("--server https://h --sa-dir /sa lock x"))
            .unwrap()
            .operation
        else {
            panic!("not a lock")
        };
        assert_eq!((bare.identity, bare.duration_seconds), (None, None));
        assert_eq!((bare.hold, bare.wait), (Duration::ZERO, Duration::ZERO));
        assert_eq!(
            parse(&args(
                "--server https://h --sa-dir /sa unlock x --identity me"
            ))
            .unwrap()
            .operation,
            Operation::Unlock {
                name: "x".into(),
                identity: "me".into()
            }
        );
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
            (
                "--server https://h --sa-dir /sa get x --identity a",
                "are for lock and unlock",
            ),
            (
                "--server https://h --sa-dir /sa unlock x",
                "needs --identity",
            ),
            (
                "--server https://h --sa-dir /sa unlock x --identity a --hold 1",
                "only --identity",
            ),
            (
                "--server https://h --sa-dir /sa lock x --duration 0",
                "positive whole number",
            ),
            (
                "--server https://h --sa-dir /sa lock x --wait -1",
                "number of seconds",
            ),
            (
                "--server https://h --sa-dir /sa lock x --hold soon",
                "number of seconds",
            ),
            ("--server https://h --sa-dir /sa lock", "expected get NAME"),
        ] {
            let e = parse(&args(line)).unwrap_err();
            assert!(e.contains(why), "{line}: {e}");
        }
    }
}
