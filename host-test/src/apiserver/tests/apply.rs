//! Server-side apply and `managedFields`: create-on-apply, ownership after create / update /
//! apply, the 409 conflict body byte for byte, force, pruning, resourceVersion preconditions in
//! an apply body, and the PatchOptions and body errors.

use super::*;

const APPLY: &str = "application/apply-patch+yaml";

/// The managed-fields switch on: responses carry `metadata.managedFields`.
fn shown() -> Options {
    Options {
        managed_fields: true,
        ..Options::default()
    }
}

impl Client {
    /// A PATCH of lease `name` with `content_type` and `query` (without the `?`).
    async fn patch(&self, name: &str, query: &str, content_type: &str, body: &str) -> Resp {
        let path = format!("{LEASES}/{name}?{query}");
        self.send(
            Method::PATCH,
            &path,
            &[("content-type", content_type)],
            body,
        )
        .await
        .expect("patch")
    }

    /// A server-side apply of `spec` (JSON) to lease `name` by `manager`.
    async fn apply(&self, name: &str, manager: &str, force: bool, spec: &str) -> Resp {
        let query = format!(
            "fieldManager={manager}{}",
            if force { "&force=true" } else { "" }
        );
        self.patch(name, &query, APPLY, &lease_body(name, spec))
            .await
    }
}

/// A holder and a duration: the spec most applies here set.
const HELD: &str = r#"{"holderIdentity":"a","leaseDurationSeconds":15}"#;

/// `managedFields` as the server wrote them (compact JSON).
fn managed(v: &Value) -> String {
    gojson_item(&v["metadata"]["managedFields"])
}

/// The `time` of the managedFields entry of `manager`.
fn time_of(v: &Value, manager: &str) -> String {
    v["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .find(|e| e["manager"] == manager)
        .and_then(|e| e["time"].as_str())
        .unwrap_or_else(|| panic!("no entry of {manager}: {v}"))
        .to_owned()
}

/// One entry, as the server writes it.
fn entry(manager: &str, operation: &str, time: &str, fields: &str) -> String {
    format!(
        r#"{{"manager":"{manager}","operation":"{operation}","apiVersion":"coordination.k8s.io/v1","time":"{time}","fieldsType":"FieldsV1","fieldsV1":{fields}}}"#
    )
}

#[tokio::test]
async fn apply_creates_a_missing_lease_and_owns_its_fields() {
    let (server, c) = server(shown()).await;
    let r = c.apply("x", "locker", false, HELD).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let v = r.json();
    assert_eq!(v["spec"]["holderIdentity"], "a");
    assert_eq!(uid(&v).len(), 36);
    let t = time_of(&v, "locker");
    assert_eq!(t.len(), 20, "{t}");
    assert_eq!(
        managed(&v),
        format!(
            "[{}]",
            entry(
                "locker",
                "Apply",
                &t,
                r#"{"f:spec":{"f:holderIdentity":{},"f:leaseDurationSeconds":{}}}"#
            )
        )
    );
    assert_eq!(server.history()[0].verb, Verb::Create);
    let g = c.get(&format!("{LEASES}/x")).await;
    assert_eq!(g.text(), r.text());
}

#[tokio::test]
async fn create_and_update_record_update_entries() {
    let (_server, c) = server(shown()).await;
    let body = r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"x","labels":{"app":"a"}},"spec":{"holderIdentity":"a"}}"#;
    let r = c
        .send(
            Method::POST,
            LEASES,
            &[
                ("content-type", "application/json"),
                ("user-agent", "kube-lease/0.1 (wasi)"),
            ],
            body,
        )
        .await
        .unwrap();
    assert_eq!(r.code, 201, "{}", r.body);
    let v = r.json();
    let t = time_of(&v, "kube-lease");
    assert_eq!(
        managed(&v),
        format!(
            "[{}]",
            entry(
                "kube-lease",
                "Update",
                &t,
                r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:holderIdentity":{}}}"#
            )
        )
    );
    // A PUT by another manager takes the field it changes and nothing else.
    let mut next = v.clone();
    next["spec"]["holderIdentity"] = "b".into();
    next["spec"]["leaseDurationSeconds"] = 10.into();
    let r = c
        .put(&format!("{LEASES}/x?fieldManager=other"), &next.to_string())
        .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let v = r.json();
    let t2 = time_of(&v, "other");
    assert_eq!(
        managed(&v),
        format!(
            "[{},{}]",
            entry(
                "kube-lease",
                "Update",
                &t,
                r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}}}"#
            ),
            entry(
                "other",
                "Update",
                &t2,
                r#"{"f:spec":{"f:holderIdentity":{},"f:leaseDurationSeconds":{}}}"#
            )
        )
    );
    // A patch that removes the label drops it (and the emptied entry).
    let r = c
        .patch(
            "x",
            "",
            "application/strategic-merge-patch+json",
            r#"{"metadata":{"labels":null}}"#,
        )
        .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(
        managed(&v),
        format!(
            "[{}]",
            entry(
                "other",
                "Update",
                &t2,
                r#"{"f:spec":{"f:holderIdentity":{},"f:leaseDurationSeconds":{}}}"#
            )
        )
    );
}

#[tokio::test]
async fn conflicting_apply_is_409_with_field_manager_causes() {
    // Ownership is tracked even when managedFields are not written out.
    let (_server, c) = server(Options::default()).await;
    let r = c.apply("x", "a", false, HELD).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(r.json()["metadata"].get("managedFields"), None);
    // Same value: shared ownership, no conflict.
    let r = c
        .apply("x", "b", false, r#"{"leaseDurationSeconds":15}"#)
        .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let r = c
        .apply(
            "x",
            "b",
            false,
            r#"{"holderIdentity":"b","leaseDurationSeconds":15}"#,
        )
        .await;
    assert_eq!(r.code, 409, "{}", r.body);
    assert_eq!(
        r.text(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Apply failed with 1 conflict: conflict with \"a\": .spec.holderIdentity","reason":"Conflict","details":{"causes":[{"reason":"FieldManagerConflict","message":"conflict with \"a\"","field":".spec.holderIdentity"}]},"code":409}"#
    );
    let g = c.get(&format!("{LEASES}/x")).await.json();
    assert_eq!(g["spec"]["holderIdentity"], "a");
}

#[tokio::test]
async fn conflicts_with_several_managers_are_grouped_and_force_takes_the_fields() {
    let (_server, c) = server(shown()).await;
    let r = c.apply("x", "a", false, r#"{"holderIdentity":"a"}"#).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = c
        .patch(
            "x",
            "fieldManager=c",
            "application/merge-patch+json",
            r#"{"spec":{"leaseDurationSeconds":7,"leaseTransitions":1}}"#,
        )
        .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let tc = time_of(&r.json(), "c");
    let spec = r#"{"holderIdentity":"b","leaseDurationSeconds":8,"leaseTransitions":2}"#;
    let r = c.apply("x", "b", false, spec).await;
    assert_eq!(r.code, 409, "{}", r.body);
    let c_name = format!(r#"\"c\" using coordination.k8s.io/v1 at {tc}"#);
    assert_eq!(
        r.text(),
        format!(
            r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":"Apply failed with 3 conflicts: conflicts with \"a\":\n- .spec.holderIdentity\nconflicts with {c_name}:\n- .spec.leaseDurationSeconds\n- .spec.leaseTransitions","reason":"Conflict","details":{{"causes":[{{"reason":"FieldManagerConflict","message":"conflict with \"a\"","field":".spec.holderIdentity"}},{{"reason":"FieldManagerConflict","message":"conflict with {c_name}","field":".spec.leaseDurationSeconds"}},{{"reason":"FieldManagerConflict","message":"conflict with {c_name}","field":".spec.leaseTransitions"}}]}},"code":409}}"#
        )
    );
    let r = c.apply("x", "b", true, spec).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["spec"]["holderIdentity"], "b");
    let tb = time_of(&v, "b");
    // a and c lost everything: only b's entry is left.
    assert_eq!(
        managed(&v),
        format!(
            "[{}]",
            entry(
                "b",
                "Apply",
                &tb,
                r#"{"f:spec":{"f:holderIdentity":{},"f:leaseDurationSeconds":{},"f:leaseTransitions":{}}}"#
            )
        )
    );
}

#[tokio::test]
async fn apply_prunes_what_it_no_longer_sets_and_a_repeat_is_a_no_op() {
    let (_server, c) = server(shown()).await;
    let r = c.apply("x", "a", false, HELD).await;
    assert_eq!(r.code, 201, "{}", r.body);
    let r = c.apply("x", "a", false, r#"{"holderIdentity":"a"}"#).await;
    assert_eq!(r.code, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["spec"].get("leaseDurationSeconds"), None);
    let again = c.apply("x", "a", false, r#"{"holderIdentity":"a"}"#).await;
    assert_eq!(again.code, 200);
    assert_eq!(rv(&again.json()), rv(&v));
    // A field someone else also owns stays.
    c.apply(
        "x",
        "a",
        false,
        r#"{"holderIdentity":"a","leaseTransitions":3}"#,
    )
    .await;
    c.apply("x", "b", false, r#"{"leaseTransitions":3}"#).await;
    let r = c.apply("x", "a", false, r#"{"holderIdentity":"a"}"#).await;
    assert_eq!(r.json()["spec"]["leaseTransitions"], 3);
}

#[tokio::test]
async fn resource_version_in_an_apply_body_is_a_precondition() {
    let (_server, c) = server(Options::default()).await;
    let v = create(&c, "x").await;
    let body = |rv: &str| {
        format!(
            r#"{{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{{"name":"x","resourceVersion":"{rv}"}},"spec":{{"holderIdentity":"z"}}}}"#
        )
    };
    let r = c
        .patch("x", "fieldManager=m&force=true", APPLY, &body("999"))
        .await;
    assert_eq!(r.code, 409, "{}", r.body);
    assert_eq!(
        r.json()["message"],
        "Operation cannot be fulfilled on leases.coordination.k8s.io \"x\": the object has been modified; please apply your changes to the latest version and try again"
    );
    let r = c
        .patch("x", "fieldManager=m&force=true", APPLY, &body(&rv(&v)))
        .await;
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.json()["spec"]["holderIdentity"], "z");
}

#[tokio::test]
async fn patch_options_errors_are_422() {
    let (_server, c) = server(Options::default()).await;
    create(&c, "x").await;
    let r = c.patch("x", "", APPLY, &lease_body("x", "{}")).await;
    assert_eq!(r.code, 422);
    assert_eq!(
        r.text(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch","reason":"Invalid","details":{"group":"meta.k8s.io","kind":"PatchOptions","causes":[{"reason":"FieldValueRequired","message":"Required value: is required for apply patch","field":"fieldManager"}]},"code":422}"#
    );
    let r = c
        .patch("x", "force=false", "application/merge-patch+json", "{}")
        .await;
    assert_eq!(r.code, 422);
    assert_eq!(
        r.json()["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch"
    );
    let long = "m".repeat(129);
    let r = c
        .patch("x", &format!("fieldManager={long}"), APPLY, "{}")
        .await;
    assert_eq!(
        r.json()["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Too long: may not be more than 128 bytes"
    );
}

#[tokio::test]
async fn apply_body_errors_are_400() {
    let (_server, c) = server(Options::default()).await;
    let cases = [
        (
            r#"{"apiVersion":"coordination.k8s.io/v1beta1","kind":"Lease","metadata":{"name":"x"}}"#,
            "Incorrect version specified in apply patch. Specified patch version: coordination.k8s.io/v1beta1, expected: coordination.k8s.io/v1",
        ),
        (
            r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"x","managedFields":[]}}"#,
            "metadata.managedFields must be nil",
        ),
    ];
    for (body, message) in cases {
        let r = c.patch("x", "fieldManager=m", APPLY, body).await;
        assert_eq!(r.code, 400, "{}", r.body);
        assert_eq!(r.json()["message"], message);
    }
    let r = c.patch("x", "fieldManager=m", APPLY, "spec: [").await;
    assert_eq!(r.code, 400, "{}", r.body);
    let message = r.json()["message"].as_str().unwrap().to_owned();
    assert!(message.starts_with("error decoding YAML: "), "{message}");
    // None of them created the lease.
    assert_eq!(c.get(&format!("{LEASES}/x")).await.code, 404);
}
