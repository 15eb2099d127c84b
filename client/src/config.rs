//! Where a client sends its requests and with what credentials: the in-cluster rules of
//! client-go and the Go original, and explicit configuration, validated before any request.

use crate::prelude::*;

use crate::error::Error;
use crate::go_json::quoted;
use crate::names::dns1123_label_error;
use crate::pem;

/// The service-account directory every pod gets.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The bearer token file.
pub const TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";
/// The cluster CA bundle.
pub const CA_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
/// The pod's namespace.
pub const NAMESPACE_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
/// [`TOKEN_PATH`]'s name in [`SERVICE_ACCOUNT_DIR`].
pub const TOKEN_FILE: &str = "token";
/// [`CA_PATH`]'s name in [`SERVICE_ACCOUNT_DIR`].
pub const CA_FILE: &str = "ca.crt";
/// [`NAMESPACE_PATH`]'s name in [`SERVICE_ACCOUNT_DIR`].
pub const NAMESPACE_FILE: &str = "namespace";
/// The apiserver host variable.
pub const HOST_VAR: &str = "KUBERNETES_SERVICE_HOST";
/// The apiserver port variable.
pub const PORT_VAR: &str = "KUBERNETES_SERVICE_PORT";
/// The request timeout when none is configured (the Go original's).
pub const DEFAULT_TIMEOUT_MS: u32 = 10_000;

/// `http` or `https`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP (a local `kubectl proxy`).
    Http,
    /// HTTPS; the host runtime does TLS.
    Https,
}

/// A validated apiserver origin: scheme and `host[:port]` (IPv6 bracketed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl {
    /// The scheme.
    pub scheme: Scheme,
    /// `host[:port]` as it goes into the request's authority.
    pub authority: String,
}

impl core::fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        write!(f, "{scheme}://{}", self.authority)
    }
}

impl BaseUrl {
    /// Parses `scheme://host[:port][/]`; anything more (path, query, user info) is refused.
    ///
    /// # Errors
    /// A description of what is wrong with the URL.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or("has no scheme (want https://host:port)")?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            other => {
                return Err(format!(
                    "has scheme {}; only https and http are supported",
                    quoted(other)
                ));
            }
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#', '@']) {
            return Err(
                "must be only scheme://host[:port], without path, query or user info".into(),
            );
        }
        let (host, port) = split_host_port(authority)?;
        let port = port.map(parse_port).transpose()?;
        Ok(Self::from_parts(scheme, host, port))
    }

    /// `https://` + host + `:` + port from the in-cluster variables, bracketing an IPv6 host.
    ///
    /// # Errors
    /// `Config` naming the variable that is missing, empty or malformed.
    pub fn in_cluster(host: Option<&str>, port: Option<&str>) -> Result<Self, Error> {
        let missing = |var: &str| {
            Error::Config(format!(
                "{var} is not set or empty: not running in a Kubernetes pod \
                 ({HOST_VAR} and {PORT_VAR} must both be defined)"
            ))
        };
        let host = host
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or_else(|| missing(HOST_VAR))?;
        let port = port
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| missing(PORT_VAR))?;
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        check_host(bare).map_err(|why| Error::Config(format!("{HOST_VAR} {why}")))?;
        let port = parse_port(port).map_err(|why| Error::Config(format!("{PORT_VAR} {why}")))?;
        Ok(Self::from_parts(Scheme::Https, bare, Some(port)))
    }

    fn from_parts(scheme: Scheme, host: &str, port: Option<u16>) -> Self {
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_ascii_lowercase()
        };
        let authority = match port {
            Some(p) => format!("{host}:{p}"),
            None => host,
        };
        Self { scheme, authority }
    }
}

/// `host[:port]` or `[v6][:port]`, with the host checked.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), String> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or("has an unclosed [ in its host")?;
        match after {
            "" => (host, None),
            p => (
                host,
                Some(p.strip_prefix(':').ok_or("has junk after its IPv6 host")?),
            ),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => {
                return Err("has an IPv6 host that is not in brackets".into());
            }
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    check_host(host)?;
    Ok((host, port))
}

/// A DNS name, IPv4 address or (unbracketed) IPv6 address.
fn check_host(host: &str) -> Result<(), String> {
    let ok = if host.contains(':') {
        host.parse::<core::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} is not a valid host name or address",
            quoted(host)
        ))
    }
}

fn parse_port(port: &str) -> Result<u16, String> {
    match port.parse::<u16>() {
        Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => Ok(p),
        _ => Err(format!("{} is not a port number (1-65535)", quoted(port))),
    }
}

/// Everything a client needs, validated: where, which namespace, which token, how long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// The apiserver origin.
    pub base_url: BaseUrl,
    /// The namespace of every operation.
    pub namespace: String,
    /// The token file, read on every request; `None` sends no token.
    pub token_file: Option<String>,
    /// The per-request timeout.
    pub timeout_ms: u32,
}

/// Explicit configuration as the caller gives it (the WIT `config` record).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExplicitConfig {
    /// `https://host[:port]` or `http://host[:port]`.
    pub base_url: String,
    /// The namespace.
    pub namespace: String,
    /// The token file, if any.
    pub token_file: Option<String>,
    /// The timeout; default [`DEFAULT_TIMEOUT_MS`].
    pub timeout_ms: Option<u32>,
    /// Allow the token over plain http.
    pub allow_token_over_http: bool,
}

/// The longest timeout accepted (one hour): longer is surely a unit mistake.
const MAX_TIMEOUT_MS: u32 = 3_600_000;

impl ClientConfig {
    /// Validates explicit configuration.
    ///
    /// # Errors
    /// `Config` naming the field: a bad URL, namespace or timeout, or a token that would
    /// travel over plain http without `allow_token_over_http`.
    pub fn explicit(cfg: ExplicitConfig) -> Result<Self, Error> {
        let base_url = BaseUrl::parse(&cfg.base_url).map_err(|why| {
            Error::Config(format!(
                "config base-url {} {why}",
                quoted(&shown_url(&cfg.base_url))
            ))
        })?;
        if let Some(why) = dns1123_label_error(&cfg.namespace) {
            return Err(Error::Config(format!(
                "config namespace {}: {why}",
                quoted(&cfg.namespace)
            )));
        }
        let timeout_ms = cfg.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        if timeout_ms == 0 || timeout_ms > MAX_TIMEOUT_MS {
            return Err(Error::Config(format!(
                "config timeout-ms {timeout_ms} is outside 1..={MAX_TIMEOUT_MS}"
            )));
        }
        if let Some(path) = &cfg.token_file {
            if path.is_empty() {
                return Err(Error::Config(
                    "config token-file is empty; use none for no token".into(),
                ));
            }
            if base_url.scheme == Scheme::Http && !cfg.allow_token_over_http {
                return Err(Error::Config(format!(
                    "refusing to send the token from {path} over plain http to {base_url}: \
                     use https, or set allow-token-over-http for a trusted local proxy"
                )));
            }
        }
        Ok(Self {
            base_url,
            namespace: cfg.namespace,
            token_file: cfg.token_file,
            timeout_ms,
        })
    }

    /// The in-cluster configuration from the environment and the service-account files
    /// (`Err` holds why a file could not be read).
    ///
    /// # Errors
    /// `Config` naming the variable or file that is missing, empty or malformed.
    pub fn in_cluster(
        host: Option<&str>,
        port: Option<&str>,
        namespace_file: Result<Vec<u8>, String>,
        ca_file: Result<Vec<u8>, String>,
    ) -> Result<Self, Error> {
        let base_url = BaseUrl::in_cluster(host, port)?;
        let unreadable =
            |path: &str, why: String| Error::Config(format!("cannot read {path}: {why}"));
        let namespace = namespace_file.map_err(|why| unreadable(NAMESPACE_PATH, why))?;
        let namespace = String::from_utf8(namespace)
            .map_err(|_| Error::Config(format!("{NAMESPACE_PATH} is not text")))?
            .trim()
            .to_owned();
        if let Some(why) = dns1123_label_error(&namespace) {
            return Err(Error::Config(format!(
                "{NAMESPACE_PATH} holds {}, not a namespace: {why}",
                quoted(&namespace)
            )));
        }
        let ca = ca_file.map_err(|why| unreadable(CA_PATH, why))?;
        if !pem::has_certificate(&ca) {
            return Err(Error::Config(format!("{CA_PATH} holds no PEM certificate")));
        }
        Ok(Self {
            base_url,
            namespace,
            token_file: Some(TOKEN_PATH.to_owned()),
            timeout_ms: DEFAULT_TIMEOUT_MS,
        })
    }
}

/// `url` as an error shows it: user info (it may hold credentials), path, query and fragment
/// (they may hold a token) withheld as `…`.
fn shown_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let mut shown = scheme.map_or_else(String::new, |s| format!("{s}://"));
    if let Some((_, host)) = authority.rsplit_once('@') {
        shown.push_str("…@");
        shown.push_str(host);
    } else {
        shown.push_str(authority);
    }
    if !tail.is_empty() {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &[u8] = b"-----BEGIN CERTIFICATE-----\nMIIBYjCCAQig\n-----END CERTIFICATE-----\n";

    fn in_cluster(host: Option<&str>, port: Option<&str>) -> Result<ClientConfig, Error> {
        ClientConfig::in_cluster(host, port, Ok(b"netbird\n".to_vec()), Ok(CA.to_vec()))
    }

    fn config_error(r: Result<ClientConfig, Error>) -> String {
        match r {
            Err(Error::Config(m)) => m,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn the_service_account_paths_are_its_directory_and_file_names() {
        for (path, name) in [
            (TOKEN_PATH, TOKEN_FILE),
            (CA_PATH, CA_FILE),
            (NAMESPACE_PATH, NAMESPACE_FILE),
        ] {
            assert_eq!(path, format!("{SERVICE_ACCOUNT_DIR}/{name}"));
        }
    }

    #[test]
    fn in_cluster_builds_https_base_url() {
        let c = in_cluster(Some("10.96.0.1"), Some("443")).unwrap();
        assert_eq!(c.base_url.to_string(), "https://10.96.0.1:443");
        assert_eq!(c.namespace, "netbird");
        assert_eq!(c.token_file.as_deref(), Some(TOKEN_PATH));
        assert_eq!(c.timeout_ms, 10_000);
        let c = in_cluster(Some("kubernetes.default.svc"), Some("6443")).unwrap();
        assert_eq!(c.base_url.authority, "kubernetes.default.svc:6443");
    }

    #[test]
    fn in_cluster_brackets_ipv6() {
        for host in ["fd00::1", "[fd00::1]"] {
            let c = in_cluster(Some(host), Some("443")).unwrap();
            assert_eq!(c.base_url.to_string(), "https://[fd00::1]:443");
        }
        assert_eq!(
            in_cluster(Some("::1"), Some("8443"))
                .unwrap()
                .base_url
                .authority,
            "[::1]:8443"
        );
    }

    #[test]
    fn in_cluster_names_the_missing_or_bad_variable() {
        assert!(config_error(in_cluster(None, Some("443"))).starts_with(HOST_VAR));
        assert!(config_error(in_cluster(Some(""), Some("443"))).starts_with(HOST_VAR));
        assert!(config_error(in_cluster(Some("10.0.0.1"), None)).starts_with(PORT_VAR));
        assert!(config_error(in_cluster(Some("10.0.0.1"), Some(" "))).starts_with(PORT_VAR));
        for port in ["0", "65536", "https", "-1", "+443", "44 3"] {
            let m = config_error(in_cluster(Some("10.0.0.1"), Some(port)));
            assert!(m.starts_with(PORT_VAR) && m.contains("not a port"), "{m}");
        }
        for host in ["a/b", "host?x", "fd00::zz", "a b", "user@host"] {
            let m = config_error(in_cluster(Some(host), Some("443")));
            assert!(m.starts_with(HOST_VAR), "{m}");
        }
    }

    #[test]
    fn in_cluster_names_the_bad_file() {
        let r = ClientConfig::in_cluster(
            Some("h"),
            Some("1"),
            Err("No such file or directory".into()),
            Ok(CA.to_vec()),
        );
        assert_eq!(
            config_error(r),
            format!("cannot read {NAMESPACE_PATH}: No such file or directory")
        );
        for ns in [&b""[..], b"\n", b"Kube-System", b"a/b", b"\xff"] {
            let r =
                ClientConfig::in_cluster(Some("h"), Some("1"), Ok(ns.to_vec()), Ok(CA.to_vec()));
            assert!(config_error(r).starts_with(NAMESPACE_PATH));
        }
        let r = ClientConfig::in_cluster(
            Some("h"),
            Some("1"),
            Ok(b"ns".to_vec()),
            Err("Permission denied".into()),
        );
        assert_eq!(
            config_error(r),
            format!("cannot read {CA_PATH}: Permission denied")
        );
        let r = ClientConfig::in_cluster(
            Some("h"),
            Some("1"),
            Ok(b"ns".to_vec()),
            Ok(b"not a cert".to_vec()),
        );
        assert_eq!(
            config_error(r),
            format!("{CA_PATH} holds no PEM certificate")
        );
    }

    fn explicit(url: &str) -> ExplicitConfig {
        ExplicitConfig {
            base_url: url.into(),
            namespace: "default".into(),
            ..Default::default()
        }
    }

    #[test]
    fn explicit_urls() {
        let ok = [
            ("https://127.0.0.1:6443", "https://127.0.0.1:6443"),
            ("https://127.0.0.1:6443/", "https://127.0.0.1:6443"),
            ("HTTPS://Example.COM", "https://example.com"),
            ("http://localhost:8001", "http://localhost:8001"),
            ("https://[::1]:6443", "https://[::1]:6443"),
            ("https://[::1]", "https://[::1]"),
        ];
        for (url, want) in ok {
            let c = ClientConfig::explicit(explicit(url)).unwrap();
            assert_eq!(c.base_url.to_string(), want);
        }
        let bad = [
            "127.0.0.1:6443",
            "ftp://host",
            "https://host/api",
            "https://host?x=1",
            "https://user:pw@host",
            "https://host#f",
            "https://host:0",
            "https://host:99999",
            "https://::1:6443",
            "https://[::1",
            "https://[::1]x",
            "https://",
            "https://ho st",
        ];
        for url in bad {
            let m = config_error(ClientConfig::explicit(explicit(url)));
            assert!(m.starts_with("config base-url"), "{url}: {m}");
        }
    }

    #[test]
    fn a_bad_base_url_is_shown_without_user_info_path_or_query() {
        for (url, shown) in [
            ("https://user:pw@host", r#""https://…@host""#),
            ("https://tok3n@[::1", r#""https://…@[::1""#),
            ("https://host/api?token=tok3n", r#""https://host…""#),
            ("tok3n@host", r#""…@host""#),
            ("ftp://host", r#""ftp://host""#),
        ] {
            let m = config_error(ClientConfig::explicit(explicit(url)));
            assert!(m.starts_with(&format!("config base-url {shown} ")), "{m}");
            assert!(!m.contains("pw") && !m.contains("tok3n"), "{m}");
        }
    }

    #[test]
    fn explicit_validates_namespace_timeout_and_token_transport() {
        let mut c = explicit("https://h");
        c.namespace = "Bad_NS".into();
        assert!(config_error(ClientConfig::explicit(c)).starts_with("config namespace"));
        for t in [0, 3_600_001] {
            let mut c = explicit("https://h");
            c.timeout_ms = Some(t);
            assert!(config_error(ClientConfig::explicit(c)).contains("timeout-ms"));
        }
        let mut c = explicit("https://h");
        c.timeout_ms = Some(250);
        assert_eq!(ClientConfig::explicit(c).unwrap().timeout_ms, 250);

        let mut c = explicit("http://127.0.0.1:8001");
        c.token_file = Some("/token".into());
        let m = config_error(ClientConfig::explicit(c.clone()));
        assert!(
            m.contains("plain http") && m.contains("allow-token-over-http"),
            "{m}"
        );
        c.allow_token_over_http = true;
        assert!(ClientConfig::explicit(c).is_ok());
        // No token: plain http is fine without the switch.
        assert!(ClientConfig::explicit(explicit("http://127.0.0.1:8001")).is_ok());
        let mut c = explicit("https://h");
        c.token_file = Some(String::new());
        assert!(config_error(ClientConfig::explicit(c)).contains("token-file"));
    }
}
