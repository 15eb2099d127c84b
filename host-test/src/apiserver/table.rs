//! Response negotiation (`Accept`) and the `meta.k8s.io` Table kubectl asks for: columns
//! Name / Holder / Age as the real server's printers define them.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::lease::Lease;

/// What the client accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Output {
    /// Plain JSON objects.
    Json,
    /// A Table in `meta.k8s.io/<version>`.
    Table(&'static str),
    /// Nothing the server can produce.
    NotAcceptable,
}

/// Picks the first acceptable media range of `accept` (absent = JSON).
pub(crate) fn negotiate(accept: Option<&str>) -> Output {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Output::Json;
    };
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let (mut as_, mut g, mut v) = ("", "", "");
        for p in parts {
            match p.split_once('=') {
                Some(("as", x)) => as_ = x,
                Some(("g", x)) => g = x,
                Some(("v", x)) => v = x,
                _ => {}
            }
        }
        if !matches!(media.as_str(), "application/json" | "application/*" | "*/*") {
            continue;
        }
        match (as_, g, v) {
            ("", _, _) => return Output::Json,
            ("Table", "meta.k8s.io", "v1") => return Output::Table("v1"),
            ("Table", "meta.k8s.io", "v1beta1") => return Output::Table("v1beta1"),
            _ => continue,
        }
    }
    Output::NotAcceptable
}

/// Go's `duration.HumanDuration` for the Age column.
pub(crate) fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// `includeObject`: what each row carries.
fn include(query: Option<&str>) -> &'static str {
    match query {
        Some("None") => "None",
        Some("Object") => "Object",
        _ => "Metadata",
    }
}

const NAME_DOC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const HOLDER_DOC: &str = "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.";
const AGE_DOC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// A Table of `leases`; `list_meta` becomes the Table's `metadata`.
pub(crate) fn lease_table(
    version: &str,
    leases: &[Lease],
    list_meta: Value,
    include_object: Option<&str>,
    now: OffsetDateTime,
) -> Value {
    let columns = json!([
        {"name": "Name", "type": "string", "format": "name", "description": NAME_DOC, "priority": 0},
        {"name": "Holder", "type": "string", "format": "", "description": HOLDER_DOC, "priority": 0},
        {"name": "Age", "type": "string", "format": "", "description": AGE_DOC, "priority": 0},
    ]);
    let include = include(include_object);
    let rows: Vec<Value> = leases
        .iter()
        .map(|l| {
            let age = OffsetDateTime::parse(
                &l.meta.creation_timestamp,
                &time::format_description::well_known::Rfc3339,
            )
            .map(|t| human_duration((now - t).whole_seconds()))
            .unwrap_or_else(|_| "<unknown>".into());
            let holder = l.spec.holder_identity.clone().unwrap_or_default();
            let mut row = Map::new();
            row.insert("cells".into(), json!([l.meta.name, holder, age]));
            match include {
                "Object" => {
                    row.insert("object".into(), l.to_value(true));
                }
                "Metadata" => {
                    row.insert(
                        "object".into(),
                        json!({
                            "kind": "PartialObjectMetadata",
                            "apiVersion": format!("meta.k8s.io/{version}"),
                            "metadata": l.meta_value(),
                        }),
                    );
                }
                _ => {}
            }
            Value::Object(row)
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": list_meta,
        "columnDefinitions": columns,
        "rows": rows,
    })
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn negotiates_like_kubectl_expects() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(negotiate(Some(kubectl)), Output::Table("v1"));
        assert_eq!(negotiate(None), Output::Json);
        assert_eq!(negotiate(Some("application/json, */*")), Output::Json);
        assert_eq!(
            negotiate(Some("application/vnd.kubernetes.protobuf")),
            Output::NotAcceptable
        );
    }

    #[test]
    fn ages_like_go() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(125), "2m5s");
        assert_eq!(human_duration(3600 * 5 + 60 * 3), "5h3m");
        assert_eq!(human_duration(86400 * 3), "3d");
    }
}
