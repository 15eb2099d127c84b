//! Each operation as data: the request to send (method, path, body) and how to read the
//! response. No I/O here; the shell sends [`ApiRequest`]s and hands back [`ApiResponse`]s.

use crate::prelude::*;

use crate::config::ClientConfig;
use crate::decode;
use crate::encode;
use crate::error::Error;
use crate::go_json::quoted;
use crate::lease::{Lease, LeaseList, Preconditions};
use crate::names::dns1123_subdomain_error;
use crate::retry::Verb;
use crate::status::{Operation, error_for};

/// The HTTP methods the Lease API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
}

/// A request to the apiserver, relative to the client's base URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiRequest {
    /// The method.
    pub method: Method,
    /// Path (and query), starting with `/`.
    pub path: String,
    /// The JSON body, if any (sent with `Content-Type: application/json`).
    pub body: Option<Vec<u8>>,
}

/// What came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// The body (the shell caps its size).
    pub body: Vec<u8>,
}

/// A request and the rule that turns its response into the operation's result.
#[derive(Debug)]
pub struct Call<T> {
    /// What to send.
    pub request: ApiRequest,
    op: Operation,
    read: fn(&[u8]) -> Result<T, Error>,
    /// The value a 404 stands for (`Get` reads "absent" as `None`).
    on_not_found: Option<fn() -> T>,
}

impl<T> Call<T> {
    /// Whether the request reads or writes, for the retry rules.
    pub fn verb(&self) -> Verb {
        match self.request.method {
            Method::Get => Verb::Read,
            Method::Post | Method::Put | Method::Delete => Verb::Write,
        }
    }

    /// The operation's result for `response`.
    ///
    /// # Errors
    /// The typed error for a non-success status, or `Decode` for an unreadable success body.
    pub fn finish(&self, response: ApiResponse) -> Result<T, Error> {
        match (response.status, self.on_not_found) {
            (200..=299, _) => (self.read)(&response.body),
            (404, Some(absent)) => Ok(absent()),
            (code, _) => Err(error_for(
                self.op,
                code,
                response.retry_after.as_deref(),
                &response.body,
            )),
        }
    }
}

const API_PREFIX: &str = "/apis/coordination.k8s.io/v1/namespaces";

impl ClientConfig {
    fn collection_path(&self) -> String {
        format!("{API_PREFIX}/{}/leases", self.namespace)
    }

    fn item_path(&self, name: &str) -> Result<String, Error> {
        check_name(name)?;
        Ok(format!("{}/{name}", self.collection_path()))
    }

    /// GET one lease; a 404 is `None`, as in the Go original.
    ///
    /// # Errors
    /// `InvalidArgument` for a name that is not a DNS-1123 subdomain.
    pub fn get(&self, name: &str) -> Result<Call<Option<Lease>>, Error> {
        Ok(Call {
            request: ApiRequest {
                method: Method::Get,
                path: self.item_path(name)?,
                body: None,
            },
            op: Operation::Get,
            read: |body| decode::lease(body).map(Some),
            on_not_found: Some(|| None),
        })
    }

    /// POST a new lease; its namespace defaults to the client's, as in the Go original.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad name, namespace, duration or transitions, or a lease
    /// carrying a resourceVersion (a real server answers that with a 500).
    pub fn create(&self, mut lease: Lease) -> Result<Call<Lease>, Error> {
        self.check_lease(&lease)?;
        if let Some(rv) = lease
            .resource_version
            .as_deref()
            .filter(|rv| !rv.is_empty())
        {
            return Err(Error::InvalidArgument(format!(
                "create of lease {} carries resourceVersion {}; a new lease must not \
                 (the server would answer 500)",
                quoted(&lease.name),
                quoted(rv)
            )));
        }
        if lease.namespace.as_deref().is_none_or(str::is_empty) {
            lease.namespace = Some(self.namespace.clone());
        }
        Ok(Call {
            request: ApiRequest {
                method: Method::Post,
                path: self.collection_path(),
                body: Some(encode::lease_body(&lease)?),
            },
            op: Operation::Create,
            read: decode::lease,
            on_not_found: None,
        })
    }

    /// PUT a lease over the stored one, conditional on its resourceVersion.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad name, namespace, duration or transitions, or a lease
    /// without a resourceVersion (the server refuses unconditional updates of leases).
    pub fn update(&self, lease: &Lease) -> Result<Call<Lease>, Error> {
        self.check_lease(lease)?;
        match lease.resource_version.as_deref() {
            None | Some("") | Some("0") => {
                return Err(Error::InvalidArgument(format!(
                    "update of lease {} needs the resourceVersion it was read at \
                     (the server refuses unconditional updates)",
                    quoted(&lease.name)
                )));
            }
            Some(_) => {}
        }
        Ok(Call {
            request: ApiRequest {
                method: Method::Put,
                path: self.item_path(&lease.name)?,
                body: Some(encode::lease_body(lease)?),
            },
            op: Operation::Update,
            read: decode::lease,
            on_not_found: None,
        })
    }

    /// DELETE one lease with a DeleteOptions body carrying `preconditions`.
    ///
    /// # Errors
    /// `InvalidArgument` for a name that is not a DNS-1123 subdomain.
    pub fn delete(&self, name: &str, preconditions: &Preconditions) -> Result<Call<()>, Error> {
        Ok(Call {
            request: ApiRequest {
                method: Method::Delete,
                path: self.item_path(name)?,
                body: Some(encode::delete_options_body(preconditions)?),
            },
            op: Operation::Delete,
            read: |_| Ok(()),
            on_not_found: None,
        })
    }

    /// GET every lease in the namespace.
    pub fn list(&self) -> Call<LeaseList> {
        Call {
            request: ApiRequest {
                method: Method::Get,
                path: self.collection_path(),
                body: None,
            },
            op: Operation::List,
            read: decode::lease_list,
            on_not_found: None,
        }
    }

    /// A watch of lease `name` from `resource_version`, with bookmarks, ending after
    /// `timeout_seconds` (`../shared/k8s-watch.md`, "What a waiting client must do").
    ///
    /// # Errors
    /// `InvalidArgument` for a name that is not a DNS-1123 subdomain.
    pub fn watch(
        &self,
        name: &str,
        resource_version: &str,
        timeout_seconds: u32,
    ) -> Result<ApiRequest, Error> {
        let mut rv = String::new();
        for b in resource_version.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                rv.push(char::from(b));
            } else {
                rv.push_str(&format!("%{b:02X}"));
            }
        }
        self.watch_with(name, &format!("resourceVersion={rv}"), timeout_seconds)
    }

    /// A watch of lease `name` that opens with its current state (`../shared/k8s-watch.md`
    /// §2, WatchList): a synthetic ADDED when it exists, then the initial-events-end
    /// BOOKMARK, then every later change; ending after `timeout_seconds`. A server without
    /// WatchList answers 422.
    ///
    /// # Errors
    /// `InvalidArgument` for a name that is not a DNS-1123 subdomain.
    pub fn watch_initial(&self, name: &str, timeout_seconds: u32) -> Result<ApiRequest, Error> {
        let from = "sendInitialEvents=true&resourceVersionMatch=NotOlderThan";
        self.watch_with(name, from, timeout_seconds)
    }

    /// A watch of lease `name` with bookmarks, `from` saying where it starts.
    fn watch_with(
        &self,
        name: &str,
        from: &str,
        timeout_seconds: u32,
    ) -> Result<ApiRequest, Error> {
        check_name(name)?;
        Ok(ApiRequest {
            method: Method::Get,
            path: format!(
                "{}?watch=true&fieldSelector=metadata.name%3D{name}&{from}\
                 &allowWatchBookmarks=true&timeoutSeconds={timeout_seconds}",
                self.collection_path()
            ),
            body: None,
        })
    }

    /// What the server would refuse anyway, refused before sending.
    fn check_lease(&self, lease: &Lease) -> Result<(), Error> {
        check_name(&lease.name)?;
        if let Some(ns) = lease
            .namespace
            .as_deref()
            .filter(|ns| !ns.is_empty() && *ns != self.namespace)
        {
            return Err(Error::InvalidArgument(format!(
                "lease {} is in namespace {}, but this client works in {}",
                quoted(&lease.name),
                quoted(ns),
                quoted(&self.namespace)
            )));
        }
        if let Some(d) = lease.spec.lease_duration_seconds.filter(|d| *d <= 0) {
            return Err(Error::InvalidArgument(format!(
                "spec.leaseDurationSeconds {d} must be greater than 0"
            )));
        }
        if let Some(t) = lease.spec.lease_transitions.filter(|t| *t < 0) {
            return Err(Error::InvalidArgument(format!(
                "spec.leaseTransitions {t} must be greater than or equal to 0"
            )));
        }
        Ok(())
    }
}

/// A lease name must be a DNS-1123 subdomain; that also keeps it from adding path segments
/// or a query to the URL.
fn check_name(name: &str) -> Result<(), Error> {
    match dns1123_subdomain_error(name) {
        None => Ok(()),
        Some(why) => Err(Error::InvalidArgument(format!(
            "lease name {} is invalid: {why}",
            quoted(name)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BaseUrl, Scheme};
    use crate::error::StatusKind;
    use crate::lease::LeaseSpec;

    fn client() -> ClientConfig {
        ClientConfig {
            base_url: BaseUrl {
                scheme: Scheme::Https,
                authority: "127.0.0.1:6443".into(),
            },
            namespace: "netbird".into(),
            token_file: None,
            timeout_ms: 10_000,
        }
    }

    fn ok(status: u16, body: &str) -> ApiResponse {
        ApiResponse {
            status,
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    const STORED: &str = r#"{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{"name":"x","namespace":"netbird","uid":"u","resourceVersion":"9","creationTimestamp":"2026-11-28T10:00:00Z"},"spec":{"holderIdentity":"a"}}"#;

    fn invalid_argument<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
        match r {
            Err(Error::InvalidArgument(m)) => m,
            other => panic!("expected invalid-argument, got {other:?}"),
        }
    }

    #[test]
    fn gets_and_lists_are_reads_and_the_rest_writes() {
        let lease = Lease {
            name: "x".into(),
            resource_version: Some("9".into()),
            ..Lease::default()
        };
        let pre = Preconditions::default();
        assert_eq!(client().get("x").unwrap().verb(), Verb::Read);
        assert_eq!(client().list().verb(), Verb::Read);
        assert_eq!(client().update(&lease).unwrap().verb(), Verb::Write);
        assert_eq!(client().delete("x", &pre).unwrap().verb(), Verb::Write);
        let new = Lease {
            resource_version: None,
            ..lease
        };
        assert_eq!(client().create(new).unwrap().verb(), Verb::Write);
    }

    #[test]
    fn get_builds_the_item_path_and_reads_404_as_none() {
        let call = client().get("cert-lock-a379a6f6eeafb9a5").unwrap();
        assert_eq!(call.request.method, Method::Get);
        assert_eq!(
            call.request.path,
            "/apis/coordination.k8s.io/v1/namespaces/netbird/leases/cert-lock-a379a6f6eeafb9a5"
        );
        assert_eq!(call.request.body, None);
        assert_eq!(
            client()
                .get("x")
                .unwrap()
                .finish(ok(404, "not found"))
                .unwrap(),
            None
        );
        let lease = client()
            .get("x")
            .unwrap()
            .finish(ok(200, STORED))
            .unwrap()
            .unwrap();
        assert_eq!(lease.resource_version.as_deref(), Some("9"));
        let err = client()
            .get("x")
            .unwrap()
            .finish(ok(403, "no"))
            .unwrap_err();
        assert!(err.is(StatusKind::Forbidden), "{err:?}");
    }

    #[test]
    fn names_that_could_escape_the_path_are_refused() {
        for bad in [
            "../x",
            "a?b",
            "a/b",
            "X",
            "",
            "a#b",
            "a%2F",
            &"a".repeat(254),
        ] {
            let m = invalid_argument(client().get(bad));
            assert!(m.starts_with("lease name"), "{m}");
            invalid_argument(client().delete(bad, &Preconditions::default()));
            let lease = Lease {
                name: bad.into(),
                ..Default::default()
            };
            invalid_argument(client().create(lease.clone()));
        }
    }

    #[test]
    fn create_posts_to_the_collection_and_fills_the_namespace() {
        let lease = Lease {
            name: "x".into(),
            ..Default::default()
        };
        let call = client().create(lease).unwrap();
        assert_eq!(call.request.method, Method::Post);
        assert_eq!(
            call.request.path,
            "/apis/coordination.k8s.io/v1/namespaces/netbird/leases"
        );
        let body = String::from_utf8(call.request.body.clone().unwrap()).unwrap();
        assert!(
            body.contains(r#""metadata":{"name":"x","namespace":"netbird"}"#),
            "{body}"
        );
        assert_eq!(
            call.finish(ok(201, STORED)).unwrap().uid.as_deref(),
            Some("u")
        );
        let exists = client()
            .create(Lease {
                name: "x".into(),
                ..Default::default()
            })
            .unwrap();
        assert!(matches!(
            exists.finish(ok(409, "")),
            Err(e) if e.is_already_exists()
        ));
    }

    #[test]
    fn create_refuses_a_resource_version() {
        let lease = Lease {
            name: "x".into(),
            resource_version: Some("5".into()),
            ..Default::default()
        };
        assert!(invalid_argument(client().create(lease)).contains("resourceVersion \"5\""));
        let lease = Lease {
            name: "x".into(),
            resource_version: Some(String::new()),
            ..Default::default()
        };
        assert!(client().create(lease).is_ok());
    }

    #[test]
    fn update_puts_to_the_item_and_needs_a_resource_version() {
        let mut lease = Lease {
            name: "x".into(),
            ..Default::default()
        };
        for rv in [None, Some(""), Some("0")] {
            lease.resource_version = rv.map(String::from);
            assert!(
                invalid_argument(client().update(&lease)).contains("needs the resourceVersion")
            );
        }
        lease.resource_version = Some("9".into());
        let call = client().update(&lease).unwrap();
        assert_eq!(call.request.method, Method::Put);
        assert_eq!(
            call.request.path,
            "/apis/coordination.k8s.io/v1/namespaces/netbird/leases/x"
        );
        // Without a namespace the update body carries none, like the Go original's.
        let body = String::from_utf8(call.request.body.clone().unwrap()).unwrap();
        assert!(
            body.contains(r#""metadata":{"name":"x","resourceVersion":"9"}"#),
            "{body}"
        );
        assert!(call.finish(ok(200, STORED)).is_ok());
        let stale = client().update(&lease).unwrap();
        assert!(matches!(stale.finish(ok(409, "")), Err(e) if e.is_conflict()));
        // A PUT that re-created a deleted lease answers 201: the write happened.
        assert!(
            client()
                .update(&lease)
                .unwrap()
                .finish(ok(201, STORED))
                .is_ok()
        );
    }

    #[test]
    fn leases_from_another_namespace_or_with_bad_numbers_are_refused() {
        let other = Lease {
            name: "x".into(),
            namespace: Some("kube-system".into()),
            ..Default::default()
        };
        assert!(invalid_argument(client().create(other)).contains("kube-system"));
        for d in [0, -1, i32::MIN] {
            let lease = Lease {
                name: "x".into(),
                spec: LeaseSpec {
                    lease_duration_seconds: Some(d),
                    ..Default::default()
                },
                ..Default::default()
            };
            assert!(invalid_argument(client().create(lease)).contains("leaseDurationSeconds"));
        }
        let lease = Lease {
            name: "x".into(),
            spec: LeaseSpec {
                lease_transitions: Some(-1),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(invalid_argument(client().create(lease)).contains("leaseTransitions"));
    }

    #[test]
    fn delete_sends_delete_options() {
        let pre = Preconditions {
            resource_version: Some("9".into()),
            uid: None,
        };
        let call = client().delete("x", &pre).unwrap();
        assert_eq!(call.request.method, Method::Delete);
        assert_eq!(
            call.request.body.as_deref(),
            Some(&br#"{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"resourceVersion":"9"}}"#[..])
        );
        let success = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","details":{"name":"x","group":"coordination.k8s.io","kind":"leases","uid":"u"}}"#;
        assert_eq!(call.finish(ok(200, success)), Ok(()));
        let gone = client().delete("x", &pre).unwrap().finish(ok(404, ""));
        assert!(matches!(gone, Err(e) if e.is_not_found()));
        let moved = client().delete("x", &pre).unwrap().finish(ok(409, ""));
        assert!(matches!(moved, Err(e) if e.is_conflict()));
    }

    #[test]
    fn list_reads_the_collection() {
        let call = client().list();
        assert_eq!(
            call.request.path,
            "/apis/coordination.k8s.io/v1/namespaces/netbird/leases"
        );
        let list = call
            .finish(ok(200, &format!(r#"{{"kind":"LeaseList","metadata":{{"resourceVersion":"12"}},"items":[{STORED}]}}"#)))
            .unwrap();
        assert_eq!(
            (list.resource_version.as_str(), list.items.len()),
            ("12", 1)
        );
        assert!(matches!(
            client().list().finish(ok(200, "<html>")),
            Err(Error::Decode(_))
        ));
    }

    #[test]
    fn retry_after_reaches_the_error() {
        let resp = ApiResponse {
            status: 429,
            retry_after: Some("2".into()),
            body: b"Too many requests".to_vec(),
        };
        match client().list().finish(resp) {
            Err(Error::Api(s)) if s.kind == StatusKind::TooManyRequests => {
                assert_eq!(s.retry_after_seconds, Some(2))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_watch_selects_the_lease_from_a_version_with_bookmarks() {
        let request = client().watch("cert-lock-a", "1200", 120).unwrap();
        assert_eq!(request.method, Method::Get);
        assert_eq!(
            request.path,
            "/apis/coordination.k8s.io/v1/namespaces/netbird/leases?watch=true\
             &fieldSelector=metadata.name%3Dcert-lock-a&resourceVersion=1200\
             &allowWatchBookmarks=true&timeoutSeconds=120"
        );
        let odd = client().watch("x", "a&b=c", 1).unwrap();
        assert!(
            odd.path.contains("resourceVersion=a%26b%3Dc&"),
            "{}",
            odd.path
        );
        assert!(client().watch("../x", "1", 1).is_err());
    }

    #[test]
    fn an_initial_events_watch_asks_for_the_current_state_and_its_end_bookmark() {
        let request = client().watch_initial("cert-lock-a", 30).unwrap();
        assert_eq!(request.method, Method::Get);
        assert_eq!(
            request.path,
            "/apis/coordination.k8s.io/v1/namespaces/netbird/leases?watch=true\
             &fieldSelector=metadata.name%3Dcert-lock-a&sendInitialEvents=true\
             &resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=30"
        );
        assert!(client().watch_initial("../x", 1).is_err());
    }
}
