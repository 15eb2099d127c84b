//! The REST surface as data: a request (method, path, query, `Authorization`, body) becomes
//! an [`Action`] or the error reply, the guard rails checked first. Pure and tested natively.

use kube_lease_client::lease_name_for_domain;
use serde::Deserialize;

use crate::respond::{self, Reply};

/// The largest request body accepted, in bytes.
pub const MAX_BODY: usize = 16 * 1024;

/// The longest wait a lock request may ask for, in seconds.
pub const MAX_WAIT_SECONDS: u32 = 300;

/// The lease-name prefixes allowed when none are configured.
pub const DEFAULT_PREFIX: &str = "cert-lock-";

/// What one request asks for, after every guard rail passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `GET /healthz`.
    Health,
    /// `GET /v1/leases/{name}`.
    GetLease {
        /// The lease.
        name: String,
    },
    /// `GET /v1/domains/{domain}/lease-name`.
    LeaseNameForDomain {
        /// The domain.
        domain: String,
    },
    /// `POST /v1/locks/{name}` or `POST /v1/domains/{domain}/lock`.
    Lock {
        /// The lease.
        name: String,
        /// The domain, for the per-domain lock (written as the domain annotation).
        domain: Option<String>,
        /// The holder identity to write.
        identity: String,
        /// The lease duration; the locker's default when absent.
        lease_duration_seconds: Option<i32>,
        /// How long to wait by watch while another holder has it; 0: answer 409 at once.
        wait_seconds: u32,
    },
    /// `PUT /v1/locks/{name}`.
    Renew {
        /// The lease.
        name: String,
        /// The holder renewing.
        identity: String,
    },
    /// `DELETE /v1/locks/{name}?identity=…`.
    Release {
        /// The lease.
        name: String,
        /// The holder releasing.
        identity: String,
    },
}

/// The guard rails' settings.
#[derive(Clone, Debug)]
pub struct Guard {
    /// The bearer token callers must present.
    pub front_token: String,
    /// Lease names must start with one of these.
    pub prefixes: Vec<String>,
}

impl Guard {
    /// The prefixes from a comma-separated list; [`DEFAULT_PREFIX`] when empty or absent.
    pub fn parse_prefixes(list: Option<&str>) -> Vec<String> {
        let prefixes: Vec<String> = list
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        if prefixes.is_empty() {
            vec![DEFAULT_PREFIX.to_owned()]
        } else {
            prefixes
        }
    }
}

/// One request as read off the wire.
#[derive(Clone, Debug, Default)]
pub struct Request<'a> {
    /// The method, e.g. `POST`.
    pub method: &'a str,
    /// The path and query, e.g. `/v1/locks/x?identity=a`.
    pub path_with_query: &'a str,
    /// The `Authorization` header's value, if any.
    pub authorization: Option<&'a [u8]>,
    /// The body, at most [`MAX_BODY`] bytes of it.
    pub body: &'a [u8],
    /// Whether the body was longer than [`MAX_BODY`].
    pub body_too_large: bool,
}

/// The action `request` asks for, or the reply refusing it.
pub fn route(request: &Request<'_>, guard: &Guard) -> Result<Action, Reply> {
    let (path, query) = request
        .path_with_query
        .split_once('?')
        .unwrap_or((request.path_with_query, ""));
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // The liveness probe carries no token and touches nothing.
    if segments == ["healthz"] {
        return expect(request.method, "GET").map(|()| Action::Health);
    }
    if !authorized(request.authorization, &guard.front_token) {
        return Err(respond::error(
            401,
            "unauthorized",
            "a valid `Authorization: Bearer <token>` header is required",
        ));
    }
    if request.body_too_large {
        return Err(respond::error(
            413,
            "body-too-large",
            &format!("request bodies are limited to {MAX_BODY} bytes"),
        ));
    }
    let method = request.method;
    let action = match segments.as_slice() {
        ["v1", "leases", name] => {
            expect(method, "GET")?;
            Action::GetLease {
                name: decode(name)?,
            }
        }
        ["v1", "domains", domain, "lease-name"] => {
            expect(method, "GET")?;
            Action::LeaseNameForDomain {
                domain: decode(domain)?,
            }
        }
        ["v1", "domains", domain, "lock"] => {
            expect(method, "POST")?;
            let domain = decode(domain)?;
            lock(lease_name_for_domain(&domain), Some(domain), request.body)?
        }
        ["v1", "locks", name] => {
            let name = decode(name)?;
            match method {
                "POST" => lock(name, None, request.body)?,
                "PUT" => {
                    let body: IdentityBody = json(request.body)?;
                    Action::Renew {
                        name,
                        identity: nonempty(body.identity)?,
                    }
                }
                "DELETE" => {
                    let identity = query_param(query, "identity")?.ok_or_else(|| {
                        respond::error(
                            400,
                            "bad-request",
                            "the `identity` query parameter is required",
                        )
                    })?;
                    Action::Release {
                        name,
                        identity: nonempty(identity)?,
                    }
                }
                _ => return Err(not_allowed(method, "POST, PUT, DELETE")),
            }
        }
        _ => {
            return Err(respond::error(
                404,
                "no-route",
                &format!("no route for {path:?}"),
            ));
        }
    };
    allowed(&action, &guard.prefixes)?;
    Ok(action)
}

/// The body of a lock request.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LockBody {
    identity: String,
    lease_duration_seconds: Option<i32>,
    #[serde(default)]
    wait_seconds: u32,
}

/// The body of a renewal.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityBody {
    identity: String,
}

fn lock(name: String, domain: Option<String>, body: &[u8]) -> Result<Action, Reply> {
    let body: LockBody = json(body)?;
    if body.wait_seconds > MAX_WAIT_SECONDS {
        return Err(respond::error(
            400,
            "bad-request",
            &format!("waitSeconds must be at most {MAX_WAIT_SECONDS}"),
        ));
    }
    Ok(Action::Lock {
        name,
        domain,
        identity: nonempty(body.identity)?,
        lease_duration_seconds: body.lease_duration_seconds,
        wait_seconds: body.wait_seconds,
    })
}

fn json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, Reply> {
    serde_json::from_slice(body)
        .map_err(|e| respond::error(400, "bad-request", &format!("invalid JSON body: {e}")))
}

fn nonempty(identity: String) -> Result<String, Reply> {
    if identity.is_empty() {
        return Err(respond::error(
            400,
            "bad-request",
            "identity must not be empty",
        ));
    }
    Ok(identity)
}

fn expect(method: &str, allowed: &str) -> Result<(), Reply> {
    if method == allowed {
        Ok(())
    } else {
        Err(not_allowed(method, allowed))
    }
}

fn not_allowed(method: &str, allowed: &str) -> Reply {
    respond::error(
        405,
        "method-not-allowed",
        &format!("{method} is not allowed here; use {allowed}"),
    )
}

/// 403 unless the action's lease name starts with an allowed prefix.
fn allowed(action: &Action, prefixes: &[String]) -> Result<(), Reply> {
    let name = match action {
        Action::GetLease { name }
        | Action::Lock { name, .. }
        | Action::Renew { name, .. }
        | Action::Release { name, .. } => name,
        Action::Health | Action::LeaseNameForDomain { .. } => return Ok(()),
    };
    if prefixes.iter().any(|p| name.starts_with(p.as_str())) {
        return Ok(());
    }
    Err(respond::error(
        403,
        "forbidden",
        &format!("lease {name:?} is outside the allowed prefixes {prefixes:?}"),
    ))
}

/// Whether `header` is `Bearer <expected>`, compared in constant time.
fn authorized(header: Option<&[u8]>, expected: &str) -> bool {
    let Some(given) = header.and_then(|h| h.strip_prefix(b"Bearer ")) else {
        return false;
    };
    !expected.is_empty() && constant_time_eq(given, expected.as_bytes())
}

/// Equal bytes, in time depending only on the lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

/// The percent-decoded value of `key` in `query`.
fn query_param(query: &str, key: &str) -> Result<Option<String>, Reply> {
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == key {
            return decode(v).map(Some);
        }
    }
    Ok(None)
}

/// `s` percent-decoded (`+` kept as is); 400 for a bad escape or bytes that are not UTF-8.
fn decode(s: &str) -> Result<String, Reply> {
    let bad = || {
        respond::error(
            400,
            "bad-request",
            &format!("bad percent-encoding in {s:?}"),
        )
    };
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or_else(bad)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

#[cfg(test)]
mod tests;
