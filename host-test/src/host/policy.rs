//! Where a guest may send requests: the sandbox's origins (`scheme://host:port`), compared
//! exactly, as Spin's `allowed_outbound_hosts` does. No origin means no network at all.

use std::fmt;

use anyhow::{Context as _, bail};
use http::Uri;
use http::uri::{Authority, Scheme};
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;

/// One origin: scheme, host and port.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Origin {
    /// `https` (else `http`).
    pub(crate) https: bool,
    /// The host, lower-cased (an IPv6 address in brackets).
    pub(crate) host: String,
    /// The port: the scheme's default when the URL names none.
    pub(crate) port: u16,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

impl Origin {
    /// Parses an allow-list entry: `http://` or `https://`, a host, an optional port and
    /// nothing else (no user info, path, query or wildcard).
    ///
    /// # Errors
    ///
    /// Naming the entry and what is wrong with it.
    pub(crate) fn parse(text: &str) -> anyhow::Result<Self> {
        let uri: Uri = text
            .parse()
            .with_context(|| format!("allowed origin {text:?} is not a URL"))?;
        let problem = match (uri.scheme(), uri.authority()) {
            (None, _) | (_, None) => Some("must look like scheme://host:port"),
            (Some(s), _) if *s != Scheme::HTTPS && *s != Scheme::HTTP => {
                Some("has a scheme other than http or https")
            }
            (_, Some(a)) if a.as_str().contains('@') => Some("has user info"),
            (_, Some(a)) if a.host().contains('*') => Some("has a wildcard"),
            (Some(s), Some(a)) if port(a, *s == Scheme::HTTPS).is_none() => Some("has a bad port"),
            _ if !matches!(
                uri.path_and_query().map(|p| p.as_str()),
                None | Some("" | "/")
            ) =>
            {
                Some("has a path or query")
            }
            _ => None,
        };
        if let Some(problem) = problem {
            bail!("allowed origin {text:?} {problem}");
        }
        Self::of(&uri).map_err(|_| anyhow::anyhow!("allowed origin {text:?} is not a URL"))
    }

    /// The origin an absolute request URI goes to.
    ///
    /// # Errors
    ///
    /// `HttpProtocolError` for a scheme other than http(s), `HttpRequestUriInvalid` without an
    /// authority, `HttpRequestDenied` with user info.
    pub(crate) fn of(uri: &Uri) -> Result<Self, ErrorCode> {
        let https = match uri.scheme() {
            Some(s) if *s == Scheme::HTTPS => true,
            Some(s) if *s == Scheme::HTTP => false,
            _ => return Err(ErrorCode::HttpProtocolError),
        };
        let authority = uri.authority().ok_or(ErrorCode::HttpRequestUriInvalid)?;
        if authority.as_str().contains('@') {
            return Err(ErrorCode::HttpRequestDenied);
        }
        Ok(Self {
            https,
            host: authority.host().to_ascii_lowercase(),
            port: port(authority, https).ok_or(ErrorCode::HttpRequestUriInvalid)?,
        })
    }

    /// The host without IPv6 brackets.
    pub(crate) fn bare_host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }
}

/// The port `authority` names, else the scheme's default; `None` when it names a bad one (the
/// `http` crate reads a port beyond 65535 as no port at all).
fn port(authority: &Authority, https: bool) -> Option<u16> {
    match authority.as_str().strip_prefix(authority.host()) {
        None | Some("") => Some(if https { 443 } else { 80 }),
        Some(text) => text.strip_prefix(':')?.parse().ok(),
    }
}

/// The origins one sandbox may reach.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Policy {
    /// Sorted, without duplicates.
    origins: Vec<Origin>,
}

impl Policy {
    /// The policy allowing exactly `origins`.
    ///
    /// # Errors
    ///
    /// As [`Origin::parse`], for the first malformed entry.
    pub(crate) fn parse(origins: &[String]) -> anyhow::Result<Self> {
        let mut parsed = origins
            .iter()
            .map(|o| Origin::parse(o))
            .collect::<anyhow::Result<Vec<_>>>()?;
        parsed.sort();
        parsed.dedup();
        Ok(Self { origins: parsed })
    }

    /// The origin of `uri`, if this policy allows it.
    ///
    /// # Errors
    ///
    /// `HttpRequestDenied` for an origin not listed, else as [`Origin::of`].
    pub(crate) fn allow(&self, uri: &Uri) -> Result<Origin, ErrorCode> {
        let origin = Origin::of(uri)?;
        if self.origins.binary_search(&origin).is_ok() {
            Ok(origin)
        } else {
            Err(ErrorCode::HttpRequestDenied)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Origin, Policy};
    use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;

    /// The policy allowing `origins`, which must parse.
    fn policy(origins: &[&str]) -> Policy {
        let origins: Vec<String> = origins.iter().map(|o| o.to_string()).collect();
        Policy::parse(&origins).unwrap()
    }

    /// Whether `policy` lets a request to `uri` through.
    fn allows(policy: &Policy, uri: &str) -> bool {
        match policy.allow(&uri.parse().unwrap()) {
            Ok(_) => true,
            Err(ErrorCode::HttpRequestDenied) => false,
            Err(other) => panic!("{uri}: {other:?}"),
        }
    }

    #[test]
    fn scheme_host_and_port_must_all_match() {
        let p = policy(&["https://Kubernetes.Default.svc", "http://127.0.0.1:8001"]);
        assert!(allows(&p, "https://kubernetes.default.svc/apis"));
        assert!(allows(&p, "https://kubernetes.default.svc:443/apis"));
        assert!(allows(&p, "HTTPS://KUBERNETES.default.svc/"));
        assert!(allows(&p, "http://127.0.0.1:8001/apis"));
        for denied in [
            "http://kubernetes.default.svc/apis",
            "http://kubernetes.default.svc:443/apis",
            "https://kubernetes.default.svc:6443/",
            "https://kubernetes.default/",
            "https://127.0.0.1:8001/",
            "http://127.0.0.1/",
            "http://localhost:8001/",
            "https://user@kubernetes.default.svc/",
        ] {
            assert!(!allows(&p, denied), "{denied}");
        }
        // A port beyond 65535 is not read as "no port", i.e. the default one.
        let beyond = "https://kubernetes.default.svc:65979/".parse().unwrap();
        let read = p.allow(&beyond);
        assert!(
            matches!(read, Err(ErrorCode::HttpRequestUriInvalid)),
            "{read:?}"
        );
    }

    #[test]
    fn no_origin_allows_nothing() {
        let p = Policy::default();
        assert!(!allows(&p, "http://127.0.0.1:80/"));
        assert!(!allows(&p, "https://kubernetes.default.svc/"));
    }

    #[test]
    fn default_ports_are_filled_in() {
        assert_eq!(
            Origin::parse("http://[::1]").unwrap().to_string(),
            "http://[::1]:80"
        );
        assert_eq!(
            Origin::parse("https://example.com/").unwrap(),
            Origin::parse("https://EXAMPLE.com:443").unwrap()
        );
    }

    #[test]
    fn malformed_origins_are_named() {
        for (origin, problem) in [
            ("127.0.0.1:443", "must look like scheme://host:port"),
            (
                "kubernetes.default.svc",
                "must look like scheme://host:port",
            ),
            ("ftp://example.com:21", "scheme other than http or https"),
            ("https://user:pw@example.com", "user info"),
            ("https://*.example.com", "wildcard"),
            ("https://example.com/apis", "path or query"),
            ("https://example.com:443?x", "path or query"),
            ("https://example.com:99999", "bad port"),
            ("https://example.com:", "bad port"),
            ("", "not a URL"),
            ("https://", "not a URL"),
        ] {
            let list = vec!["https://ok.example:443".to_owned(), origin.to_owned()];
            let err = Policy::parse(&list).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("allowed origin {origin:?} ")) && err.contains(problem),
                "{origin}: {err}"
            );
        }
    }
}
