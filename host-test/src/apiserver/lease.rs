//! The Lease object: decoding a request body the way the apiserver's JSON decoder does
//! (kind/apiVersion sniffing, Go's type-error texts, MicroTime parsing, unknown fields) and
//! encoding with the real field order and omitempty rules.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::gojson;
use super::managed_fields::Entry;
use super::microtime;
use super::status::{GROUP, KIND, Status};

/// `coordination.k8s.io/v1`.
pub(crate) const API_VERSION: &str = "coordination.k8s.io/v1";

/// `metadata` fields the emulator keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Meta {
    pub name: String,
    pub generate_name: String,
    pub namespace: String,
    pub uid: String,
    pub resource_version: String,
    pub creation_timestamp: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// `managedFields`, always tracked (server-side apply needs them).
    pub managed_fields: Vec<Entry>,
    /// Whether `managedFields` is written out (the server's `managed_fields` option).
    pub show_managed_fields: bool,
}

/// `spec`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Spec {
    pub holder_identity: Option<String>,
    pub lease_duration_seconds: Option<i32>,
    pub acquire_time: Option<OffsetDateTime>,
    pub renew_time: Option<OffsetDateTime>,
    pub lease_transitions: Option<i32>,
    pub strategy: Option<String>,
    pub preferred_holder: Option<String>,
}

/// A Lease.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Lease {
    pub meta: Meta,
    pub spec: Spec,
}

/// A body that could not be decoded: the 400 the handler returns, and the decoder's own error
/// text (what PATCH reports inside its 422).
#[derive(Debug)]
pub(crate) struct DecodeError {
    /// The response.
    pub status: Status,
    /// The underlying decoder error.
    pub raw: String,
}

/// A decoded request body.
#[derive(Debug)]
pub(crate) struct Decoded {
    /// The object.
    pub lease: Lease,
    /// The body's `apiVersion` after defaulting (e.g. `coordination.k8s.io/v1`).
    pub group_version: String,
    /// Unknown field paths, in document order (for strict validation or warnings).
    pub unknown: Vec<String>,
}

fn opt_time(t: Option<OffsetDateTime>) -> Option<Value> {
    t.map(|t| {
        if microtime::is_go_zero(t) {
            Value::Null
        } else {
            json!(microtime::format_micro(t))
        }
    })
}

impl Lease {
    /// The object as JSON; `typed` adds `kind`/`apiVersion` (list items go without).
    pub fn to_value(&self, typed: bool) -> Value {
        let mut m = Map::new();
        if typed {
            m.insert("kind".into(), json!(KIND));
            m.insert("apiVersion".into(), json!(API_VERSION));
        }
        m.insert("metadata".into(), self.meta_value());
        let s = &self.spec;
        let mut sm = Map::new();
        let fields = [
            (
                "holderIdentity",
                s.holder_identity.as_ref().map(|v| json!(v)),
            ),
            (
                "leaseDurationSeconds",
                s.lease_duration_seconds.map(|v| json!(v)),
            ),
            ("acquireTime", opt_time(s.acquire_time)),
            ("renewTime", opt_time(s.renew_time)),
            ("leaseTransitions", s.lease_transitions.map(|v| json!(v))),
            ("strategy", s.strategy.as_ref().map(|v| json!(v))),
            (
                "preferredHolder",
                s.preferred_holder.as_ref().map(|v| json!(v)),
            ),
        ];
        for (k, v) in fields {
            if let Some(v) = v {
                sm.insert(k.into(), v);
            }
        }
        m.insert("spec".into(), Value::Object(sm));
        Value::Object(m)
    }

    /// `metadata` as JSON (also what a Table row's PartialObjectMetadata carries).
    pub fn meta_value(&self) -> Value {
        let md = &self.meta;
        let mut mm = Map::new();
        for (k, v) in [
            ("name", &md.name),
            ("generateName", &md.generate_name),
            ("namespace", &md.namespace),
            ("uid", &md.uid),
            ("resourceVersion", &md.resource_version),
            ("creationTimestamp", &md.creation_timestamp),
        ] {
            if !v.is_empty() {
                mm.insert(k.into(), json!(v));
            }
        }
        if !md.labels.is_empty() {
            mm.insert("labels".into(), json!(md.labels));
        }
        if !md.annotations.is_empty() {
            mm.insert("annotations".into(), json!(md.annotations));
        }
        if md.show_managed_fields && !md.managed_fields.is_empty() {
            let entries = md.managed_fields.iter().map(Entry::to_value).collect();
            mm.insert("managedFields".into(), Value::Array(entries));
        }
        Value::Object(mm)
    }

    /// The JSON text (Go encoding, no trailing newline).
    pub fn to_json_string(&self, typed: bool) -> String {
        gojson::to_string(&self.to_value(typed))
    }

    /// Decodes a request body. Errors are the 400s the apiserver's decoder produces.
    pub fn decode(body: &[u8]) -> Result<Decoded, DecodeError> {
        let summary = summarize(body);
        let unrecognized = |err: String| DecodeError {
            status: Status::bad_request(format!(
                "the object provided is unrecognized (must be of type {KIND}): {err} ({summary})"
            )),
            raw: err,
        };
        if let Err(e) = gojson::check_syntax(body) {
            return Err(unrecognized(format!(
                "couldn't get version/kind; json parse error: {e}"
            )));
        }
        let value: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            // Go accepts invalid UTF-8 inside strings (as U+FFFD); so do we.
            Err(_) => match serde_json::from_str(&String::from_utf8_lossy(body)) {
                Ok(v) => v,
                Err(e) => {
                    return Err(unrecognized(format!(
                        "couldn't get version/kind; json parse error: {e}"
                    )));
                }
            },
        };
        let empty = Map::new();
        let obj = match &value {
            Value::Object(o) => o,
            Value::Null => &empty,
            other => {
                let err = format!(
                    "couldn't get version/kind; json parse error: json: cannot unmarshal {} into Go value of type struct {{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }}",
                    gojson::value_kind(other)
                );
                return Err(unrecognized(err));
            }
        };
        let mut kind = String::new();
        let mut api_version = String::new();
        for (key, target) in [("apiVersion", &mut api_version), ("kind", &mut kind)] {
            match obj.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) => *target = s.clone(),
                Some(other) => {
                    return Err(unrecognized(format!(
                        "couldn't get version/kind; json parse error: json: cannot unmarshal {} into Go struct field .{key} of type string",
                        gojson::value_kind(other)
                    )));
                }
            }
        }
        if api_version.matches('/').count() > 1 {
            return Err(unrecognized(format!(
                "unexpected GroupVersion string: {api_version}"
            )));
        }
        let (mut group, mut version) = match api_version.split_once('/') {
            Some((g, v)) => (g.to_owned(), v.to_owned()),
            None => (String::new(), api_version.clone()),
        };
        if kind.is_empty() {
            kind = KIND.to_owned();
        }
        if group.is_empty() && version.is_empty() {
            group = GROUP.to_owned();
            version = "v1".to_owned();
        }
        let gv = if group.is_empty() {
            version.clone()
        } else {
            format!("{group}/{version}")
        };
        let cannot = |err: String| DecodeError {
            status: Status::bad_request(format!(
                "{kind} in version {} cannot be handled as a {KIND}: {err}",
                gojson::quote(&version)
            )),
            raw: err,
        };
        let known = group == GROUP && kind == KIND && matches!(version.as_str(), "v1" | "v1beta1");
        if !known {
            return Err(cannot(format!(
                "no kind {} is registered for version {} in scheme \"k8s.io/kubernetes/pkg/api/legacyscheme/scheme.go:30\"",
                gojson::quote(&kind),
                gojson::quote(&gv)
            )));
        }
        let mut d = FieldDecoder::default();
        let lease = d.lease(obj).map_err(cannot)?;
        Ok(Decoded {
            lease,
            group_version: gv,
            unknown: d.unknown,
        })
    }
}

/// `summarizeData`: the body's first 30 bytes, raw if it starts with `{`, else hex.
fn summarize(body: &[u8]) -> String {
    const MAX: usize = 30;
    if body.is_empty() {
        return "<empty>".into();
    }
    let cut = &body[..body.len().min(MAX)];
    let more = if body.len() > MAX { " ..." } else { "" };
    if body[0] == b'{' {
        format!("{}{more}", String::from_utf8_lossy(cut))
    } else {
        let hex: String = cut.iter().map(|b| format!("{b:02x}")).collect();
        format!("{hex}{more}")
    }
}

/// Walks a Lease body in document order, like Go's decoder into `v1.Lease`.
#[derive(Default)]
struct FieldDecoder {
    /// The first type error (Go keeps decoding and reports the first).
    type_error: Option<String>,
    unknown: Vec<String>,
}

/// A fatal decode error text (from an `UnmarshalJSON` method: aborts at once).
type Fatal = String;

impl FieldDecoder {
    fn type_err(&mut self, v: &Value, strukt: &str, path: &str, go_type: &str) {
        if self.type_error.is_none() {
            let what = match v {
                Value::Number(n) if matches!(go_type, "int32" | "int64") => format!("number {n}"),
                other => gojson::value_kind(other).to_owned(),
            };
            self.type_error = Some(format!(
                "json: cannot unmarshal {what} into Go struct field {strukt}.{path} of type {go_type}"
            ));
        }
    }

    fn lease(&mut self, obj: &Map<String, Value>) -> Result<Lease, Fatal> {
        let mut lease = Lease::default();
        for (k, v) in obj {
            match k.as_str() {
                "kind" | "apiVersion" => {}
                "metadata" => match v {
                    Value::Object(m) => self.meta(m, &mut lease.meta),
                    Value::Null => {}
                    other => self.type_err(other, "Lease", "metadata", "v1.ObjectMeta"),
                },
                "spec" => match v {
                    Value::Object(m) => self.spec(m, &mut lease.spec)?,
                    Value::Null => {}
                    other => self.type_err(other, "Lease", "spec", "v1.LeaseSpec"),
                },
                "status" => self.unknown.push(k.clone()),
                other => self.unknown.push(other.to_owned()),
            }
        }
        match self.type_error.take() {
            Some(e) => Err(e),
            None => Ok(lease),
        }
    }

    fn string(&mut self, v: &Value, strukt: &str, path: &str) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => {
                self.type_err(other, strukt, path, "string");
                None
            }
        }
    }

    fn string_map(&mut self, v: &Value, path: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    match v {
                        Value::String(s) => {
                            out.insert(k.clone(), s.clone());
                        }
                        Value::Null => {
                            out.insert(k.clone(), String::new());
                        }
                        other => self.type_err(other, "ObjectMeta", path, "string"),
                    }
                }
            }
            Value::Null => {}
            other => self.type_err(other, "ObjectMeta", path, "map[string]string"),
        }
        out
    }

    fn meta(&mut self, m: &Map<String, Value>, meta: &mut Meta) {
        for (k, v) in m {
            let path = format!("metadata.{k}");
            match k.as_str() {
                "name" => meta.name = self.string(v, "ObjectMeta", &path).unwrap_or_default(),
                "generateName" => {
                    meta.generate_name = self.string(v, "ObjectMeta", &path).unwrap_or_default();
                }
                "namespace" => {
                    meta.namespace = self.string(v, "ObjectMeta", &path).unwrap_or_default();
                }
                "uid" => meta.uid = self.string(v, "ObjectMeta", &path).unwrap_or_default(),
                "resourceVersion" => {
                    meta.resource_version = self.string(v, "ObjectMeta", &path).unwrap_or_default();
                }
                "creationTimestamp" => {
                    // Wiped on create and kept from storage on update: only the type matters.
                    let _ = self.string(v, "ObjectMeta", &path);
                }
                "labels" => meta.labels = self.string_map(v, &path),
                "annotations" => meta.annotations = self.string_map(v, &path),
                // Known ObjectMeta fields the emulator accepts and does not keep.
                "selfLink"
                | "generation"
                | "deletionTimestamp"
                | "deletionGracePeriodSeconds"
                | "ownerReferences"
                | "finalizers"
                | "managedFields" => {}
                _ => self.unknown.push(path),
            }
        }
    }

    fn int32(&mut self, v: &Value, path: &str) -> Option<i32> {
        match v {
            Value::Null => None,
            Value::Number(n) => match n.as_i64().and_then(|i| i32::try_from(i).ok()) {
                Some(i) => Some(i),
                None => {
                    self.type_err(v, "LeaseSpec", path, "int32");
                    None
                }
            },
            other => {
                self.type_err(other, "LeaseSpec", path, "int32");
                None
            }
        }
    }

    fn micro(&mut self, v: &Value) -> Result<Option<OffsetDateTime>, Fatal> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => microtime::parse_micro(s).map(Some),
            other => Err(format!(
                "json: cannot unmarshal {} into Go value of type string",
                gojson::value_kind(other)
            )),
        }
    }

    fn spec(&mut self, m: &Map<String, Value>, spec: &mut Spec) -> Result<(), Fatal> {
        for (k, v) in m {
            let path = format!("spec.{k}");
            match k.as_str() {
                "holderIdentity" => spec.holder_identity = self.string(v, "LeaseSpec", &path),
                "leaseDurationSeconds" => spec.lease_duration_seconds = self.int32(v, &path),
                "acquireTime" => spec.acquire_time = self.micro(v)?,
                "renewTime" => spec.renew_time = self.micro(v)?,
                "leaseTransitions" => spec.lease_transitions = self.int32(v, &path),
                "strategy" => spec.strategy = self.string(v, "LeaseSpec", &path),
                "preferredHolder" => spec.preferred_holder = self.string(v, "LeaseSpec", &path),
                _ => self.unknown.push(path),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn encodes_in_server_field_order() {
        let body = br#"{"spec":{"renewTime":"2025-03-01T12:00:00.000000Z","holderIdentity":""},
            "metadata":{"annotations":{"b":"1","a":"2"},"name":"x"},"kind":"Lease"}"#;
        let d = Lease::decode(body).unwrap();
        assert_eq!(
            d.lease.to_json_string(true),
            r#"{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{"name":"x","annotations":{"a":"2","b":"1"}},"spec":{"holderIdentity":"","renewTime":"2025-03-01T12:00:00.000000Z"}}"#
        );
    }

    #[test]
    fn type_errors_read_like_go() {
        let err = Lease::decode(br#"{"spec":{"leaseDurationSeconds":"x"}}"#).unwrap_err();
        assert_eq!(
            err.status.message,
            "Lease in version \"v1\" cannot be handled as a Lease: json: cannot unmarshal string into Go struct field LeaseSpec.spec.leaseDurationSeconds of type int32"
        );
        let err = Lease::decode(b"[]").unwrap_err();
        let msg = &err.status.message;
        assert!(msg.starts_with("the object provided is unrecognized (must be of type Lease): couldn't get version/kind; json parse error: json: cannot unmarshal array into Go value of type struct"), "{msg}");
        assert!(msg.ends_with(" (5b5d)"), "{msg}");
    }
}
