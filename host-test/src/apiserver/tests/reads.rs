//! Lists, Table output for kubectl, discovery and watch.

use super::*;

#[tokio::test]
async fn list_shapes() {
    let (server, c) = server(Options::default()).await;
    let r = c.get(LEASES).await;
    assert_eq!(r.code, 200);
    assert_eq!(
        r.text(),
        r#"{"kind":"LeaseList","apiVersion":"coordination.k8s.io/v1","metadata":{"resourceVersion":"0"},"items":[]}"#
    );
    create(&c, "b").await;
    create(&c, "a").await;
    c.post(
        "/apis/coordination.k8s.io/v1/namespaces/other/leases",
        &lease_body("c", "{}"),
    )
    .await;
    let v = c.get(LEASES).await.json();
    assert_eq!(v["metadata"]["resourceVersion"], "3");
    let names: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(v["items"][0].get("kind"), None);
    assert_eq!(v["items"][0].get("apiVersion"), None);
    let item = gojson_item(&v["items"][0]);
    assert_eq!(
        format!(
            "{{\"kind\":\"Lease\",\"apiVersion\":\"coordination.k8s.io/v1\",{}",
            &item[1..]
        ),
        server.stored(NS, "a").unwrap()
    );
    let all = c.get("/apis/coordination.k8s.io/v1/leases").await.json();
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    // Paging and selectors.
    let page = c.get(&format!("{LEASES}?limit=1")).await.json();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["metadata"]["remainingItemCount"], 1);
    let token = page["metadata"]["continue"].as_str().unwrap();
    let rest = c
        .get(&format!("{LEASES}?limit=1&continue={token}"))
        .await
        .json();
    assert_eq!(rest["items"][0]["metadata"]["name"], "b");
    assert_eq!(rest["metadata"].get("continue"), None);
    let one = c
        .get(&format!("{LEASES}?fieldSelector=metadata.name%3Db"))
        .await
        .json();
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn table_output_for_kubectl() {
    let (_server, c) = server(Options::default()).await;
    create(&c, "x").await;
    let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    let r = c
        .send(
            Method::GET,
            &format!("{LEASES}?limit=500"),
            &[("accept", accept)],
            "",
        )
        .await
        .unwrap();
    assert_eq!(r.code, 200);
    let t = r.json();
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
    let cols: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(cols, ["Name", "Holder", "Age"]);
    assert_eq!(t["columnDefinitions"][0]["format"], "name");
    let cells = &t["rows"][0]["cells"];
    assert_eq!(cells[0], "x");
    assert_eq!(cells[1], "a");
    assert!(cells[2].as_str().unwrap().ends_with('s'), "{cells}");
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(t["rows"][0]["object"]["metadata"]["namespace"], "default");
    let r = c
        .send(
            Method::GET,
            &format!("{LEASES}/x"),
            &[("accept", accept)],
            "",
        )
        .await
        .unwrap();
    assert_eq!(r.json()["rows"].as_array().unwrap().len(), 1);
    let r = c
        .send(
            Method::GET,
            LEASES,
            &[("accept", "application/vnd.kubernetes.protobuf")],
            "",
        )
        .await
        .unwrap();
    assert_eq!(r.code, 406);
}

#[tokio::test]
async fn discovery_documents() {
    let (_server, c) = server(Options::default()).await;
    let v = c.get("/version").await.json();
    assert_eq!(
        (v["major"].as_str(), v["minor"].as_str()),
        (Some("1"), Some("34"))
    );
    let r = c.get("/apis").await;
    assert_eq!(
        r.text(),
        r#"{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"coordination.k8s.io","versions":[{"groupVersion":"coordination.k8s.io/v1","version":"v1"}],"preferredVersion":{"groupVersion":"coordination.k8s.io/v1","version":"v1"}}]}"#
    );
    let r = c.get("/apis/coordination.k8s.io/v1").await;
    assert_eq!(r.json()["resources"][0]["name"], "leases");
    assert_eq!(c.get("/api").await.json()["kind"], "APIVersions");
    assert_eq!(
        c.get("/apis/coordination.k8s.io").await.json()["kind"],
        "APIGroup"
    );
}

#[tokio::test]
async fn watch_streams_changes() {
    let (_server, c) = server(Options::default()).await;
    let v = create(&c, "x").await;
    let path = format!(
        "{LEASES}?watch=true&resourceVersion={}&timeoutSeconds=2",
        rv(&v)
    );
    let watcher = {
        let c = Client::new(&_server, Some(TOKEN));
        tokio::spawn(async move { c.get(&path).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut next = v.clone();
    next["spec"]["holderIdentity"] = "b".into();
    assert_eq!(
        c.put(&format!("{LEASES}/x"), &next.to_string()).await.code,
        200
    );
    assert_eq!(c.delete(&format!("{LEASES}/x"), "").await.code, 200);
    create(&c, "y").await;
    let r = watcher.await.unwrap();
    assert_eq!(r.code, 200);
    assert_eq!(events(&r.body), ["MODIFIED x", "DELETED x", "ADDED y"]);
    // From "0": the current state as ADDED events first.
    let r = c.get(&format!("{LEASES}?watch=1&timeoutSeconds=1")).await;
    assert_eq!(r.body.lines().count(), 1, "{}", r.body);
    assert!(
        r.body
            .starts_with(r#"{"type":"ADDED","object":{"kind":"Lease""#),
        "{}",
        r.body
    );
}
