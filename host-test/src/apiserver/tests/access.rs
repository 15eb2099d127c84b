//! Who may do what: tokens, namespace limits, unknown paths and methods, TLS trust, client files.

use super::*;

#[tokio::test]
async fn unauthorized_without_or_with_unknown_token() {
    let (server, _) = server(Options::default()).await;
    let want = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#;
    for token in [None, Some("nope")] {
        let c = Client::new(&server, token);
        for path in [LEASES, "/apis", "/version", "/nowhere"] {
            let r = c.get(path).await;
            assert_eq!(r.code, 401);
            assert_eq!(r.text(), want);
            assert_eq!(r.headers["content-type"], "application/json");
        }
    }
}

#[tokio::test]
async fn forbidden_outside_the_namespace_allow_list() {
    let (server, _) = server(Options::default()).await;
    let c = narrow_client(&server);
    let r = c.get(&format!("{LEASES}/x")).await;
    assert_eq!(r.code, 403);
    assert_eq!(
        r.text(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"leases.coordination.k8s.io \"x\" is forbidden: User \"system:serviceaccount:ns:sa\" cannot get resource \"leases\" in API group \"coordination.k8s.io\" in the namespace \"default\"","reason":"Forbidden","details":{"name":"x","group":"coordination.k8s.io","kind":"leases"},"code":403}"#
    );
    let r = c.get(LEASES).await;
    assert_eq!(
        r.text(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"leases.coordination.k8s.io is forbidden: User \"system:serviceaccount:ns:sa\" cannot list resource \"leases\" in API group \"coordination.k8s.io\" in the namespace \"default\"","reason":"Forbidden","details":{"group":"coordination.k8s.io","kind":"leases"},"code":403}"#
    );
    let r = c.post(LEASES, &lease_body("x", "{}")).await;
    assert!(r.body.contains("cannot create resource"), "{}", r.body);
    let r = c.get("/apis/coordination.k8s.io/v1/leases").await;
    assert_eq!(r.code, 403);
    assert!(r.body.contains("cannot list resource \\\"leases\\\" in API group \\\"coordination.k8s.io\\\" at the cluster scope"), "{}", r.body);
    // Inside the allow-list everything works.
    let r = c
        .post(
            "/apis/coordination.k8s.io/v1/namespaces/ns/leases",
            &lease_body("x", "{}"),
        )
        .await;
    assert_eq!(r.code, 201, "{}", r.body);
}

#[tokio::test]
async fn not_found_and_method_not_allowed() {
    let (_server, c) = server(Options::default()).await;
    let r = c.get(&format!("{LEASES}/x")).await;
    assert_eq!(r.code, 404);
    assert_eq!(
        r.text(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"leases.coordination.k8s.io \"x\" not found","reason":"NotFound","details":{"name":"x","group":"coordination.k8s.io","kind":"leases"},"code":404}"#
    );
    let r = c.delete(&format!("{LEASES}/x"), "").await;
    assert_eq!(r.code, 404);
    let r = c
        .get("/apis/coordination.k8s.io/v1/namespaces/default/pods")
        .await;
    assert_eq!(r.code, 404);
    assert_eq!(
        r.text(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","details":{},"code":404}"#
    );
    let r = c.post(&format!("{LEASES}/x"), "{}").await;
    assert_eq!(r.code, 405);
    assert_eq!(
        r.text(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server does not allow this method on the requested resource","reason":"MethodNotAllowed","details":{},"code":405}"#
    );
}

#[tokio::test]
async fn token_rotation_and_request_log() {
    let (server, c) = server(Options::default()).await;
    assert_eq!(c.get(LEASES).await.code, 200);
    server.add_token("new-token", USER, None);
    server.remove_token(TOKEN);
    assert_eq!(c.get(LEASES).await.code, 401);
    let fresh = Client::new(&server, Some("new-token"));
    assert_eq!(fresh.get(LEASES).await.code, 200);
    let log = server.requests();
    assert_eq!(
        log.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 401, 200]
    );
    assert!(
        log.iter()
            .all(|r| r.has_authorization && r.path_and_query == LEASES && r.method == "GET")
    );
    let debug = format!("{log:?}");
    assert!(!debug.contains(TOKEN) && !debug.contains("new-token"));
    let anon = Client::new(&server, None);
    anon.post(LEASES, "{}").await;
    let last = server.requests().pop().unwrap();
    assert!(!last.has_authorization);
    // Authentication comes first: an unauthenticated request's body is never read.
    assert_eq!(last.status, 401);
    assert!(last.body.is_empty());
    assert_eq!(last.content_type.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn clients_not_trusting_the_ca_fail_the_handshake() {
    let (server, _) = server(Options::default()).await;
    let other = ApiServer::start(Options::default()).await.unwrap();
    for connector in [connector(None), connector(Some(&other.ca_pem()))] {
        let c = Client {
            addr: server.addr(),
            connector: Some(connector),
            token: Some(TOKEN.into()),
        };
        let err = c
            .send(Method::GET, LEASES, &[], "")
            .await
            .err()
            .expect("handshake must fail");
        assert!(
            format!("{err:?}").contains("UnknownIssuer")
                || format!("{err:?}").contains("certificate"),
            "{err:?}"
        );
    }
    assert!(server.requests().is_empty());
    assert!(server.url().starts_with("https://127.0.0.1:"));
}

#[tokio::test]
async fn writes_client_files() {
    let (server, _) = server(Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    server
        .write_service_account_dir(dir.path(), TOKEN, NS)
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("token")).unwrap(),
        TOKEN
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("namespace")).unwrap(),
        NS
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ca.crt")).unwrap(),
        server.ca_pem()
    );
    let kc = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kc, TOKEN, NS).unwrap();
    let text = std::fs::read_to_string(kc).unwrap();
    assert!(text.contains(&format!("server: \"{}\"", server.url())));
    assert!(text.contains("namespace: \"default\""));
}
