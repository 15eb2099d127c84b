//! Creates, updates, patches and deletes: Status bodies byte for byte, validation, history.

use super::*;

#[tokio::test]
async fn create_then_get_serializes_like_the_server() {
    let (server, c) = server(Options::default()).await;
    let body = r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"x","uid":"client-uid","creationTimestamp":"2000-01-01T00:00:00Z","labels":{"b":"2","a":"1"},"annotations":{"k":"v"}},"spec":{"renewTime":"2025-03-01T12:00:00.000001+01:00","holderIdentity":"","leaseDurationSeconds":15}}"#;
    let r = c
        .post(
            &format!("{LEASES}?fieldManager=kube-lease&fieldValidation=Strict"),
            body,
        )
        .await;
    assert_eq!(r.code, 201, "{}", r.body);
    let v = r.json();
    let uid = uid(&v);
    assert_ne!(uid, "client-uid");
    assert_eq!(uid.len(), 36);
    let created = v["metadata"]["creationTimestamp"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(created, "2000-01-01T00:00:00Z");
    assert_eq!(created.len(), 20, "{created}");
    assert_eq!(rv(&v), "1");
    let want = format!(
        r#"{{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{{"name":"x","namespace":"default","uid":"{uid}","resourceVersion":"1","creationTimestamp":"{created}","labels":{{"a":"1","b":"2"}},"annotations":{{"k":"v"}}}},"spec":{{"holderIdentity":"","leaseDurationSeconds":15,"renewTime":"2025-03-01T11:00:00.000001Z"}}}}"#
    );
    assert_eq!(r.text(), want);
    let g = c.get(&format!("{LEASES}/x")).await;
    assert_eq!(g.code, 200);
    assert_eq!(g.text(), want);
    assert_eq!(server.stored(NS, "x").as_deref(), Some(want.as_str()));
    assert_eq!(server.stored(NS, "y"), None);
}

#[tokio::test]
async fn create_conflicts_and_resource_version_rules() {
    let (_server, c) = server(Options::default()).await;
    create(&c, "x").await;
    let r = c.post(LEASES, &lease_body("x", "{}")).await;
    assert_eq!(r.code, 409);
    assert_eq!(
        r.text(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"leases.coordination.k8s.io \"x\" already exists","reason":"AlreadyExists","details":{"name":"x","group":"coordination.k8s.io","kind":"leases"},"code":409}"#
    );
    let with_rv = |name: &str, rv: &str| {
        format!(r#"{{"metadata":{{"name":"{name}","resourceVersion":"{rv}"}},"spec":{{}}}}"#)
    };
    let r = c.post(LEASES, &with_rv("y", "5")).await;
    assert_eq!(r.code, 500);
    assert_eq!(
        r.text(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"resourceVersion should not be set on objects to be created","code":500}"#
    );
    for (name, rv) in [("y", "0"), ("z", "-1"), ("w", "")] {
        let r = c.post(LEASES, &with_rv(name, rv)).await;
        assert_eq!(r.code, 201, "rv {rv:?}: {}", r.body);
    }
}

#[tokio::test]
async fn update_flows() {
    let (server, c) = server(Options::default()).await;
    let v = create(&c, "x").await;
    let (uid, rv1) = (uid(&v), rv(&v));
    let path = format!("{LEASES}/x");

    // A real change: 200, new resourceVersion, uid and creationTimestamp kept.
    let mut next = v.clone();
    next["spec"]["holderIdentity"] = "b".into();
    next["spec"]["leaseTransitions"] = 1.into();
    next["metadata"]["creationTimestamp"] = "2000-01-01T00:00:00Z".into();
    let r = c.put(&path, &next.to_string()).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let v2 = r.json();
    assert_ne!(rv(&v2), rv1);
    assert_eq!(super::uid(&v2), uid);
    assert_eq!(
        v2["metadata"]["creationTimestamp"],
        v["metadata"]["creationTimestamp"]
    );
    assert_eq!(v2["spec"]["holderIdentity"], "b");

    // The same body again: a no-op, nothing written, resourceVersion unchanged.
    let writes = server.history().len();
    let mut same = v2.clone();
    same["metadata"]["uid"] = Value::Null;
    let r = c.put(&path, &same.to_string()).await;
    assert_eq!(r.code, 200);
    assert_eq!(rv(&r.json()), rv(&v2));
    assert_eq!(r.text(), server.stored(NS, "x").unwrap());
    assert_eq!(server.history().len(), writes);

    // Stale resourceVersion: 409 Conflict.
    let r = c.put(&path, &next.to_string()).await;
    assert_eq!(r.code, 409);
    assert_eq!(
        r.text(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Operation cannot be fulfilled on leases.coordination.k8s.io \"x\": the object has been modified; please apply your changes to the latest version and try again","reason":"Conflict","details":{"name":"x","group":"coordination.k8s.io","kind":"leases"},"code":409}"#
    );

    // No resourceVersion (or "0"): 422 built from the resource.
    for rv in [Value::Null, "0".into(), "".into()] {
        let mut b = v2.clone();
        b["metadata"]["resourceVersion"] = rv;
        let r = c.put(&path, &b.to_string()).await;
        assert_eq!(r.code, 422, "{}", r.body);
        assert_eq!(
            r.text(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"leases.coordination.k8s.io \"x\" is invalid: metadata.resourceVersion: Invalid value: 0: must be specified for an update","reason":"Invalid","details":{"name":"x","group":"coordination.k8s.io","kind":"leases","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: 0: must be specified for an update","field":"metadata.resourceVersion"}]},"code":422}"#
        );
    }

    // A different uid in the body: 409 from the storage precondition.
    let mut b = v2.clone();
    b["metadata"]["uid"] = "other".into();
    let r = c.put(&path, &b.to_string()).await;
    assert_eq!(r.code, 409);
    assert_eq!(
        r.json()["message"],
        format!(
            "Operation cannot be fulfilled on leases.coordination.k8s.io \"x\": StorageError: invalid object, Code: 4, Key: /registry/leases/default/x, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: other, UID in object meta: {uid}"
        )
    );

    // Body name differs from the URL: 400.
    let r = c.put(&format!("{LEASES}/other"), &v2.to_string()).await;
    assert_eq!(r.code, 400);
    assert_eq!(
        r.text(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the name of the object (x) does not match the name on the URL (other)","reason":"BadRequest","code":400}"#
    );

    // PUT to a missing name creates it, whatever resourceVersion it carries.
    let mut b = lease_body("new", SPEC);
    b = b.replace(r#""name":"new""#, r#""name":"new","resourceVersion":"77""#);
    let r = c.put(&format!("{LEASES}/new"), &b).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(server.history().last().unwrap().verb, Verb::Create);

    // Non-numeric resourceVersion on PUT: ParseUint's error as a plain 500.
    let mut b = v2.clone();
    b["metadata"]["resourceVersion"] = "abc".into();
    let r = c.put(&path, &b.to_string()).await;
    assert_eq!(r.code, 500);
    assert_eq!(
        r.json()["message"],
        "strconv.ParseUint: parsing \"abc\": invalid syntax"
    );
}

#[tokio::test]
async fn namespace_mismatch_is_400_on_post_and_put() {
    let (_server, c) = server(Options::default()).await;
    let want = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the namespace of the provided object does not match the namespace sent on the request","reason":"BadRequest","code":400}"#;
    let body = r#"{"metadata":{"name":"x","namespace":"other"},"spec":{}}"#;
    let r = c.post(LEASES, body).await;
    assert_eq!((r.code, r.text()), (400, want));
    let r = c.put(&format!("{LEASES}/x"), body).await;
    assert_eq!((r.code, r.text()), (400, want));
}

#[tokio::test]
async fn validation_is_422_with_causes() {
    let (_server, c) = server(Options::default()).await;
    let r = c
        .post(LEASES, &lease_body("x", r#"{"leaseDurationSeconds":0}"#))
        .await;
    assert_eq!(r.code, 422);
    assert_eq!(
        r.text(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Lease.coordination.k8s.io \"x\" is invalid: spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0","reason":"Invalid","details":{"name":"x","group":"coordination.k8s.io","kind":"Lease","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: 0: must be greater than 0","field":"spec.leaseDurationSeconds"}]},"code":422}"#
    );
    let r = c.post(LEASES, &lease_body("Bad_Name", "{}")).await;
    assert_eq!(r.code, 422);
    let regex = r"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    assert_eq!(
        r.text(),
        format!(
            r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":"Lease.coordination.k8s.io \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": {regex}","reason":"Invalid","details":{{"name":"Bad_Name","group":"coordination.k8s.io","kind":"Lease","causes":[{{"reason":"FieldValueInvalid","message":"Invalid value: \"Bad_Name\": {regex}","field":"metadata.name"}}]}},"code":422}}"#
        )
    );
    let r = c
        .post(
            LEASES,
            r#"{"spec":{"leaseTransitions":-1,"leaseDurationSeconds":-5}}"#,
        )
        .await;
    assert_eq!(r.code, 422);
    assert_eq!(
        r.json()["message"],
        "Lease.coordination.k8s.io \"\" is invalid: [metadata.name: Required value: name or generateName is required, spec.leaseDurationSeconds: Invalid value: -5: must be greater than 0, spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0]"
    );
    assert_eq!(r.json()["details"].get("name"), None);
    let long = "a".repeat(254);
    let r = c.post(LEASES, &lease_body(&long, "{}")).await;
    assert_eq!(r.code, 422);
    assert!(
        r.body.contains("must be no more than 253 characters"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn decode_errors_are_400() {
    let (_server, c) = server(Options::default()).await;
    let bad_time = lease_body("x", r#"{"renewTime":"2026-08-11T19:37:19.103Z"}"#);
    let r = c.post(LEASES, &bad_time).await;
    assert_eq!(r.code, 400);
    assert_eq!(
        r.text(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Lease in version \"v1\" cannot be handled as a Lease: parsing time \"2026-08-11T19:37:19.103Z\" as \"2006-01-02T15:04:05.000000Z07:00\": cannot parse \".103Z\" as \".000000\"","reason":"BadRequest","code":400}"#
    );
    let r = c.put(&format!("{LEASES}/x"), &bad_time).await;
    assert_eq!(r.code, 400);

    let r = c
        .post(
            LEASES,
            r#"{"kind":"Lease","metadata":{"name":"x"},"spec":{"holderIdentity":}}"#,
        )
        .await;
    assert_eq!(r.code, 400);
    assert_eq!(
        r.text(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the object provided is unrecognized (must be of type Lease): couldn't get version/kind; json parse error: invalid character '}' looking for beginning of value ({\"kind\":\"Lease\",\"metadata\":{\"n ...)","reason":"BadRequest","code":400}"#
    );
    let r = c.post(LEASES, "not json").await;
    assert_eq!(
        r.json()["message"],
        "the object provided is unrecognized (must be of type Lease): couldn't get version/kind; json parse error: invalid character 'o' in literal null (expecting 'u') (6e6f74206a736f6e)"
    );

    let r = c.post(LEASES, r#"{"kind":"Lease","apiVersion":"coordination.k8s.io/v1beta1","metadata":{"name":"x"}}"#).await;
    assert_eq!(r.code, 400);
    assert_eq!(
        r.text(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the API version in the data (coordination.k8s.io/v1beta1) does not match the expected API version (coordination.k8s.io/v1)","reason":"BadRequest","code":400}"#
    );
    let r = c
        .post(
            LEASES,
            r#"{"kind":"Lease","apiVersion":"v1","metadata":{"name":"x"}}"#,
        )
        .await;
    assert_eq!(r.code, 400);
    assert_eq!(
        r.json()["message"],
        "Lease in version \"v1\" cannot be handled as a Lease: no kind \"Lease\" is registered for version \"v1\" in scheme \"k8s.io/kubernetes/pkg/api/legacyscheme/scheme.go:30\""
    );

    let r = c.post(LEASES, &lease_body("x", r#"{"bogus":1}"#)).await;
    assert_eq!(r.code, 201);
    assert_eq!(
        r.headers["warning"],
        r#"299 - "unknown field \"spec.bogus\"""#
    );
    let r = c
        .post(
            &format!("{LEASES}?fieldValidation=Strict"),
            &lease_body("y", r#"{"bogus":1}"#),
        )
        .await;
    assert_eq!(r.code, 400);
    assert_eq!(
        r.json()["message"],
        "Lease in version \"v1\" cannot be handled as a Lease: strict decoding error: unknown field \"spec.bogus\""
    );

    let r = c
        .send(
            Method::POST,
            LEASES,
            &[("content-type", "text/plain")],
            "{}",
        )
        .await
        .unwrap();
    assert_eq!(r.code, 415);
    assert_eq!(r.json()["reason"], "UnsupportedMediaType");
}

#[tokio::test]
async fn delete_success_and_preconditions() {
    let (server, c) = server(Options::default()).await;
    let v = create(&c, "x").await;
    let path = format!("{LEASES}/x");
    let pre = |uid: &str, rv: &str| {
        format!(
            r#"{{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{{"resourceVersion":"{rv}","uid":"{uid}"}}}}"#
        )
    };
    let r = c.delete(&path, &pre("wrong", "999")).await;
    assert_eq!(r.code, 409);
    assert_eq!(
        r.text(),
        format!(
            r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":"Operation cannot be fulfilled on Lease.coordination.k8s.io \"x\": the UID in the precondition (wrong) does not match the UID in record ({}). The object might have been deleted and then recreated","reason":"Conflict","details":{{"name":"x","group":"coordination.k8s.io","kind":"Lease"}},"code":409}}"#,
            uid(&v)
        )
    );
    let r = c.delete(&path, &pre(&uid(&v), "999")).await;
    assert_eq!(r.code, 409);
    assert_eq!(
        r.text(),
        format!(
            r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":"Operation cannot be fulfilled on Lease.coordination.k8s.io \"x\": the ResourceVersion in the precondition (999) does not match the ResourceVersion in record ({}). The object might have been modified","reason":"Conflict","details":{{"name":"x","group":"coordination.k8s.io","kind":"Lease"}},"code":409}}"#,
            rv(&v)
        )
    );
    let r = c.delete(&path, &pre(&uid(&v), &rv(&v))).await;
    assert_eq!(r.code, 200);
    assert_eq!(
        r.text(),
        format!(
            r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Success","details":{{"name":"x","group":"coordination.k8s.io","kind":"leases","uid":"{}"}}}}"#,
            uid(&v)
        )
    );
    assert_eq!(server.stored(NS, "x"), None);
    // Bodies kubectl and other clients send, or none at all.
    for body in [
        "",
        "{}",
        r#"{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}"#,
    ] {
        create(&c, "x").await;
        let r = c.delete(&path, body).await;
        assert_eq!(r.code, 200, "{body}: {}", r.body);
    }
}

#[tokio::test]
async fn gate_off_drops_strategy_and_preferred_holder() {
    let (_server, c) = server(Options::default()).await;
    let spec = r#"{"holderIdentity":"a","strategy":"bogus","preferredHolder":"b"}"#;
    let r = c.post(LEASES, &lease_body("x", spec)).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.json()["spec"], serde_json::json!({"holderIdentity":"a"}));
}

#[tokio::test]
async fn gate_on_keeps_and_validates_them() {
    let (_server, c) = server(Options {
        coordinated_leader_election: true,
        ..Options::default()
    })
    .await;
    let spec =
        r#"{"holderIdentity":"a","strategy":"OldestEmulationVersion","preferredHolder":"b"}"#;
    let r = c.post(LEASES, &lease_body("x", spec)).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        r.json()["spec"],
        serde_json::json!({"holderIdentity":"a","strategy":"OldestEmulationVersion","preferredHolder":"b"})
    );
    let r = c
        .post(
            LEASES,
            &lease_body("y", r#"{"strategy":"foo","preferredHolder":"b"}"#),
        )
        .await;
    assert_eq!(r.code, 422);
    assert_eq!(
        r.json()["message"],
        "Lease.coordination.k8s.io \"y\" is invalid: spec.strategy.strategy: Unsupported value: \"foo\": supported values: \"OldestEmulationVersion\""
    );
    let r = c
        .post(LEASES, &lease_body("z", r#"{"preferredHolder":"b"}"#))
        .await;
    assert_eq!(r.code, 422);
    assert_eq!(
        r.json()["message"],
        "Lease.coordination.k8s.io \"z\" is invalid: spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined"
    );
}

#[tokio::test]
async fn merge_patch_updates() {
    let (_server, c) = server(Options::default()).await;
    let v = create(&c, "x").await;
    let r = c
        .send(
            Method::PATCH,
            &format!("{LEASES}/x"),
            &[("content-type", "application/merge-patch+json")],
            r#"{"metadata":{"annotations":{"k":"v"}},"spec":{"holderIdentity":null}}"#,
        )
        .await
        .unwrap();
    assert_eq!(r.code, 200, "{}", r.body);
    let p = r.json();
    assert_eq!(p["metadata"]["annotations"]["k"], "v");
    assert_eq!(p["spec"].get("holderIdentity"), None);
    assert_ne!(rv(&p), rv(&v));
    let r = c
        .send(
            Method::PATCH,
            &format!("{LEASES}/x"),
            &[("content-type", "application/json-patch+json")],
            r#"[{"op":"replace","path":"/spec/leaseDurationSeconds","value":30}]"#,
        )
        .await
        .unwrap();
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.json()["spec"]["leaseDurationSeconds"], 30);
}

#[tokio::test]
async fn history_records_every_accepted_write() {
    let (server, c) = server(Options::default()).await;
    let v = create(&c, "x").await;
    let mut next = v.clone();
    next["spec"]["holderIdentity"] = "b".into();
    assert_eq!(
        c.put(&format!("{LEASES}/x"), &next.to_string()).await.code,
        200
    );
    // Rejected writes leave no trace.
    assert_eq!(
        c.put(&format!("{LEASES}/x"), &next.to_string()).await.code,
        409
    );
    assert_eq!(c.delete(&format!("{LEASES}/x"), "").await.code, 200);
    let h = server.history();
    assert_eq!(h.len(), 3);
    assert_eq!(
        h.iter().map(|w| w.verb).collect::<Vec<_>>(),
        [Verb::Create, Verb::Update, Verb::Delete]
    );
    assert_eq!(h.iter().map(|w| w.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(
        h.iter()
            .map(|w| w.resource_version.as_str())
            .collect::<Vec<_>>(),
        ["1", "2", "3"]
    );
    assert!(
        h.windows(2)
            .all(|w| w[0].at_unix_micros <= w[1].at_unix_micros)
    );
    let w = &h[0];
    assert_eq!(
        (w.namespace.as_str(), w.name.as_str(), w.user.as_str()),
        (NS, "x", USER)
    );
    assert_eq!(w.uid, uid(&v));
    assert_eq!(w.holder.as_deref(), Some("a"));
    assert_eq!(
        w.acquire_time.as_deref(),
        Some("2025-03-01T12:00:00.000000Z")
    );
    assert_eq!(w.renew_time.as_deref(), Some("2025-03-01T12:00:00.000000Z"));
    assert_eq!(
        (w.lease_duration_seconds, w.lease_transitions),
        (Some(15), Some(0))
    );
    assert_eq!(h[1].holder.as_deref(), Some("b"));
    assert_eq!(h[2].holder.as_deref(), Some("b"));
    assert_eq!(server.revision(), 3);
}

#[tokio::test]
async fn dry_run_writes_nothing() {
    let (server, c) = server(Options::default()).await;
    let r = c
        .post(&format!("{LEASES}?dryRun=All"), &lease_body("x", SPEC))
        .await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.json()["metadata"].get("resourceVersion"), None);
    assert_eq!(server.stored(NS, "x"), None);
    let v = create(&c, "x").await;
    let mut next = v.clone();
    next["spec"]["holderIdentity"] = "b".into();
    let r = c
        .put(&format!("{LEASES}/x?dryRun=All"), &next.to_string())
        .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.json()["spec"]["holderIdentity"], "b");
    let r = c.delete(&format!("{LEASES}/x?dryRun=All"), "").await;
    assert_eq!(r.code, 200);
    assert_eq!(server.stored(NS, "x").unwrap(), gojson_item(&v));
    assert_eq!(server.history().len(), 1);
}

#[tokio::test]
async fn malformed_input_always_gets_a_status() {
    let (_server, c) = server(Options::default()).await;
    create(&c, "x").await;
    let bodies = [
        "",
        "{",
        "[]",
        "null",
        "42",
        "\"s\"",
        "{\"metadata\":7}",
        "{\"spec\":[]}",
        "{\"apiVersion\":1}",
        "{\"apiVersion\":\"a/b/c\"}",
        "{\"kind\":\"Pod\",\"apiVersion\":\"v1\"}",
        "{\"metadata\":{\"name\":\"x\",\"labels\":[1]},\"spec\":{\"renewTime\":5}}",
        "{\"spec\":{\"leaseDurationSeconds\":1.5,\"acquireTime\":\"\u{e9}\"}}",
        "{\"spec\":{\"leaseTransitions\":99999999999}}",
        "\u{feff}{}",
        "{\"a\":\"\\ud800\"}",
        "[{\"op\":\"remove\",\"path\":\"/nope/x\"}]",
        "{\"preconditions\":{\"uid\":5}}",
    ];
    let paths = [
        LEASES.to_owned(),
        format!("{LEASES}/x"),
        format!("{LEASES}/x?limit=-1&continue=%zz"),
    ];
    let types = [
        "application/json",
        "application/merge-patch+json",
        "application/json-patch+json",
        "text/yaml",
    ];
    for body in bodies {
        for path in &paths {
            for method in [
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
                Method::GET,
            ] {
                for ct in types {
                    let r = c
                        .send(method.clone(), path, &[("content-type", ct)], body)
                        .await
                        .unwrap();
                    let v = r.json();
                    if r.code >= 400 {
                        assert_eq!(
                            v["kind"], "Status",
                            "{method} {path} {ct} {body}: {}",
                            r.body
                        );
                        assert_eq!(v["code"], r.code);
                    }
                }
            }
        }
    }
    assert_eq!(c.get(&format!("{LEASES}?continue=garbage")).await.code, 400);
    assert_eq!(
        c.get(&format!("{LEASES}?fieldSelector=spec.holderIdentity%3Da"))
            .await
            .code,
        400
    );
}
