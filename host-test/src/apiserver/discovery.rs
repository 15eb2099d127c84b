//! Non-resource endpoints: `/version`, legacy discovery (`/api`, `/apis`, the group and the
//! group-version), a minimal OpenAPI v3 (enough for kubectl to see that the server does
//! field validation), and health checks.

use http::Method;
use serde_json::{Value, json};

use super::exchange::{Reply, Req};
use super::gojson;
use super::status::{GROUP, Status};

/// The Kubernetes version the emulator claims.
pub(crate) const GIT_VERSION: &str = "v1.34.0-kube-lease-emulator";

fn group_version() -> Value {
    json!({"groupVersion": format!("{GROUP}/v1"), "version": "v1"})
}

fn api_group() -> Value {
    json!({
        "name": GROUP,
        "versions": [group_version()],
        "preferredVersion": group_version(),
    })
}

/// The `/apis/coordination.k8s.io/v1` resource list.
fn resource_list() -> Value {
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": format!("{GROUP}/v1"),
        "resources": [{
            "name": "leases",
            "singularName": "lease",
            "namespaced": true,
            "kind": "Lease",
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
            "storageVersionHash": "gqkMMb/YqFM=",
        }],
    })
}

/// OpenAPI v3 for the group-version: just the PATCH operation with its `fieldValidation`
/// parameter, which is what kubectl's field-validation probe looks for.
fn openapi_v3_gv() -> Value {
    let gvk = json!({"group": GROUP, "version": "v1", "kind": "Lease"});
    let param = json!({
        "name": "fieldValidation",
        "in": "query",
        "description": "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.",
        "schema": {"type": "string", "uniqueItems": true},
    });
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": {
            "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}": {
                "patch": {
                    "tags": ["coordination_v1"],
                    "operationId": "patchCoordinationV1NamespacedLease",
                    "parameters": [param],
                    "responses": {},
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": gvk,
                },
            },
        },
        "components": {"schemas": {}},
    })
}

/// Answers a non-resource path (and the group-version document).
pub(crate) fn get(req: &Req, path: &str) -> Reply {
    let doc = match path {
        "/version" => json!({
            "major": "1",
            "minor": "34",
            "emulationMajor": "1",
            "emulationMinor": "34",
            "minCompatibilityMajor": "1",
            "minCompatibilityMinor": "33",
            "gitVersion": GIT_VERSION,
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2025-08-27T00:00:00Z",
            "goVersion": "go1.24.6",
            "compiler": "gc",
            "platform": "linux/amd64",
        }),
        "/api" => json!({"kind": "APIVersions", "versions": [], "serverAddressByClientCIDRs": []}),
        "/apis" => json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [api_group()]}),
        "/apis/coordination.k8s.io" => {
            let mut g = json!({"kind": "APIGroup", "apiVersion": "v1"});
            if let (Some(m), Value::Object(rest)) = (g.as_object_mut(), api_group()) {
                m.extend(rest);
            }
            g
        }
        "/apis/coordination.k8s.io/v1" => resource_list(),
        "/openapi/v3" => json!({"paths": {
            "apis/coordination.k8s.io/v1": {
                "serverRelativeURL": "/openapi/v3/apis/coordination.k8s.io/v1?hash=KUBELEASEEMULATOR"
            }
        }}),
        "/openapi/v3/apis/coordination.k8s.io/v1" => openapi_v3_gv(),
        "/healthz" | "/livez" | "/readyz" => {
            return if req.method == Method::GET {
                Reply::text(200, "ok")
            } else {
                Status::method_not_allowed().into()
            };
        }
        _ => return Status::path_not_found().into(),
    };
    if req.method != Method::GET {
        return Status::method_not_allowed().into();
    }
    Reply::json(200, gojson::to_body(&doc))
}
