use super::*;

const TOKEN: &str = "front-s3cret";

fn guard() -> Guard {
    Guard {
        front_token: TOKEN.into(),
        prefixes: Guard::parse_prefixes(None),
    }
}

fn auth() -> Option<&'static [u8]> {
    Some(b"Bearer front-s3cret")
}

fn req<'a>(method: &'a str, path: &'a str, body: &'a [u8]) -> Request<'a> {
    Request {
        method,
        path_with_query: path,
        authorization: auth(),
        body,
        body_too_large: false,
    }
}

fn refused(request: &Request<'_>) -> Reply {
    route(request, &guard()).expect_err("refused")
}

fn message(reply: &Reply) -> String {
    reply.value()["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn every_route_becomes_its_action() {
    let lock = br#"{"identity":"pod-1","leaseDurationSeconds":30,"waitSeconds":5}"#;
    let domain_name = lease_name_for_domain("example.com");
    let cases = [
        (req("GET", "/healthz", b""), Action::Health),
        (
            req("GET", "/v1/leases/cert-lock-a", b""),
            Action::GetLease {
                name: "cert-lock-a".into(),
            },
        ),
        (
            req("GET", "/v1/domains/example.com/lease-name", b""),
            Action::LeaseNameForDomain {
                domain: "example.com".into(),
            },
        ),
        (
            req("POST", "/v1/locks/cert-lock-a", lock),
            Action::Lock {
                name: "cert-lock-a".into(),
                domain: None,
                identity: "pod-1".into(),
                lease_duration_seconds: Some(30),
                wait_seconds: 5,
            },
        ),
        (
            req(
                "POST",
                "/v1/domains/example.com/lock",
                br#"{"identity":"p"}"#,
            ),
            Action::Lock {
                name: domain_name,
                domain: Some("example.com".into()),
                identity: "p".into(),
                lease_duration_seconds: None,
                wait_seconds: 0,
            },
        ),
        (
            req("PUT", "/v1/locks/cert-lock-a", br#"{"identity":"pod-1"}"#),
            Action::Renew {
                name: "cert-lock-a".into(),
                identity: "pod-1".into(),
            },
        ),
        (
            req("DELETE", "/v1/locks/cert-lock-a?x=1&identity=pod%2F1", b""),
            Action::Release {
                name: "cert-lock-a".into(),
                identity: "pod/1".into(),
            },
        ),
    ];
    for (request, want) in cases {
        assert_eq!(route(&request, &guard()), Ok(want), "{request:?}");
    }
}

#[test]
fn no_token_or_a_wrong_one_is_401_before_anything_else() {
    for authorization in [
        None,
        Some(&b"Bearer front-s3cre"[..]),
        Some(&b"Bearer front-s3cretX"[..]),
        Some(&b"Basic front-s3cret"[..]),
        Some(&b"front-s3cret"[..]),
        Some(&b"Bearer "[..]),
    ] {
        // Even a request that is wrong in every other way is refused for the token first.
        let request = Request {
            method: "PATCH",
            path_with_query: "/v1/locks/other-name",
            authorization,
            body: b"{",
            body_too_large: true,
        };
        let reply = refused(&request);
        assert_eq!(reply.status, 401, "{authorization:?}");
        assert!(!String::from_utf8_lossy(&reply.body).contains(TOKEN));
    }
}

#[test]
fn an_empty_configured_token_lets_nobody_in() {
    let open = Guard {
        front_token: String::new(),
        prefixes: Guard::parse_prefixes(None),
    };
    let mut request = req("GET", "/v1/leases/cert-lock-a", b"");
    request.authorization = Some(b"Bearer ");
    assert_eq!(route(&request, &open).expect_err("refused").status, 401);
}

#[test]
fn healthz_needs_no_token_but_only_get() {
    let mut request = req("GET", "/healthz", b"");
    request.authorization = None;
    assert_eq!(route(&request, &guard()), Ok(Action::Health));
    request.method = "POST";
    assert_eq!(refused(&request).status, 405);
}

#[test]
fn constant_time_eq_compares_whole_values() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
    assert!(!constant_time_eq(b"", b"a"));
}

#[test]
fn names_outside_the_allow_list_are_403() {
    for request in [
        req("GET", "/v1/leases/kube-scheduler", b""),
        req("POST", "/v1/locks/leader", br#"{"identity":"p"}"#),
        req("PUT", "/v1/locks/leader", br#"{"identity":"p"}"#),
        req("DELETE", "/v1/locks/leader?identity=p", b""),
    ] {
        let reply = refused(&request);
        assert_eq!(reply.status, 403, "{request:?}");
        assert_eq!(reply.value()["error"], "forbidden");
    }
}

#[test]
fn configured_prefixes_replace_the_default() {
    let custom = Guard {
        front_token: TOKEN.into(),
        prefixes: Guard::parse_prefixes(Some(" jobs-, ,leader ")),
    };
    assert_eq!(custom.prefixes, ["jobs-", "leader"]);
    assert!(route(&req("GET", "/v1/leases/jobs-1", b""), &custom).is_ok());
    assert!(route(&req("GET", "/v1/leases/leader", b""), &custom).is_ok());
    let reply = route(&req("GET", "/v1/leases/cert-lock-a", b""), &custom).unwrap_err();
    assert_eq!(reply.status, 403);
    assert_eq!(Guard::parse_prefixes(Some("")), [DEFAULT_PREFIX]);
}

#[test]
fn oversized_bodies_are_413() {
    let mut request = req("POST", "/v1/locks/cert-lock-a", br#"{"identity":"p"}"#);
    request.body_too_large = true;
    let reply = refused(&request);
    assert_eq!(reply.status, 413);
    assert!(message(&reply).contains("16384"), "{}", message(&reply));
}

#[test]
fn malformed_bodies_are_400_naming_the_problem() {
    let cases: [(&[u8], &str); 6] = [
        (b"{", "EOF"),
        (b"", "EOF"),
        (br#"{"identity":7}"#, "invalid type"),
        (br#"{}"#, "missing field `identity`"),
        (
            br#"{"identity":"p","waitSecs":1}"#,
            "unknown field `waitSecs`",
        ),
        (br#"{"identity":"p","waitSeconds":-1}"#, "invalid value"),
    ];
    for (body, says) in cases {
        let reply = refused(&req("POST", "/v1/locks/cert-lock-a", body));
        assert_eq!(reply.status, 400);
        let m = message(&reply);
        assert!(m.starts_with("invalid JSON body: "), "{m}");
        assert!(m.contains(says), "{m} should say {says}");
    }
    let reply = refused(&req("PUT", "/v1/locks/cert-lock-a", b"[1]"));
    assert_eq!(reply.status, 400);
}

#[test]
fn bad_values_are_400() {
    let too_long = format!(
        r#"{{"identity":"p","waitSeconds":{}}}"#,
        MAX_WAIT_SECONDS + 1
    );
    let cases = [
        req("POST", "/v1/locks/cert-lock-a", too_long.as_bytes()),
        req("POST", "/v1/locks/cert-lock-a", br#"{"identity":""}"#),
        req("DELETE", "/v1/locks/cert-lock-a", b""),
        req("DELETE", "/v1/locks/cert-lock-a?identity=", b""),
        req("DELETE", "/v1/locks/cert-lock-a?identity=%zz", b""),
        req("GET", "/v1/leases/cert-lock-%ff", b""),
    ];
    for request in cases {
        let reply = refused(&request);
        assert_eq!(reply.status, 400, "{request:?}");
        assert_eq!(reply.value()["error"], "bad-request");
    }
}

#[test]
fn unknown_routes_are_404_and_wrong_methods_405() {
    for path in [
        "/",
        "/v1",
        "/v1/leases",
        "/v1/leases/a/b",
        "/v2/locks/cert-lock-a",
    ] {
        assert_eq!(refused(&req("GET", path, b"")).status, 404, "{path}");
    }
    let cases = [
        ("POST", "/v1/leases/cert-lock-a"),
        ("DELETE", "/v1/domains/example.com/lease-name"),
        ("GET", "/v1/domains/example.com/lock"),
        ("GET", "/v1/locks/cert-lock-a"),
        ("PATCH", "/v1/locks/cert-lock-a"),
    ];
    for (method, path) in cases {
        let reply = refused(&req(method, path, b""));
        assert_eq!(reply.status, 405, "{method} {path}");
        assert!(message(&reply).contains(method));
    }
}
