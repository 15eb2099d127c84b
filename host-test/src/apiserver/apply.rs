//! Server-side apply of a Lease (PATCH with `application/apply-patch+yaml`): the PatchOptions
//! checks, reading the configuration, merging it into the live object (or an empty one: apply
//! creates), and pruning what the manager applied before and no longer does. Ownership and
//! conflicts are `managed_fields.rs`'s.
//!
//! The body is read as JSON, the YAML subset every Rust and Go client sends (kube-rs and
//! client-go encode apply configurations as JSON); block-style YAML is not read.

use serde_json::Value;

use super::exchange::Query;
use super::lease::{API_VERSION, Lease};
use super::managed_fields::{self, FieldSet, path};
use super::patch;
use super::status::{FieldError, Status};

/// `fieldManager` and `force`, checked as `ValidatePatchOptions` does for every patch type.
pub(crate) struct PatchOptions {
    /// `fieldManager` ("" when absent).
    pub field_manager: String,
    /// `force=true`.
    pub force: bool,
}

impl PatchOptions {
    /// Reads and validates the options: an apply needs a `fieldManager`, other patches may
    /// not say `force`; a manager is at most 128 printable characters. Failures are the
    /// apiserver's 422 on `PatchOptions.meta.k8s.io`.
    pub fn parse(query: &Query, apply: bool) -> Result<PatchOptions, Status> {
        let field_manager = query.get("fieldManager").unwrap_or_default().to_owned();
        let force = query.get("force");
        let mut errs = Vec::new();
        if !apply && force.is_some() {
            errs.push(FieldError::forbidden(
                "force",
                "may not be specified for non-apply patch",
            ));
        }
        if apply && field_manager.is_empty() {
            errs.push(FieldError::required(
                "fieldManager",
                "is required for apply patch",
            ));
        }
        if field_manager.len() > 128 {
            errs.push(FieldError::too_long("fieldManager", 128));
        }
        if field_manager.chars().any(|c| c.is_control()) {
            errs.push(FieldError::invalid_str(
                "fieldManager",
                &field_manager,
                "must only contain printable characters",
            ));
        }
        if !errs.is_empty() {
            return Err(Status::invalid_in("meta.k8s.io", "PatchOptions", "", &errs));
        }
        Ok(PatchOptions {
            field_manager,
            force: force.is_some_and(|f| f.eq_ignore_ascii_case("true") || f == "1"),
        })
    }
}

/// A configuration merged into the live object.
pub(crate) struct Applied {
    /// The resulting object (not yet validated or stored).
    pub lease: Lease,
    /// The fields the configuration sets: what the manager owns after the apply.
    pub config: FieldSet,
}

/// Merges the configuration `body` by `manager` into `live` (`None`: apply creates), pruning
/// the fields the manager's previous apply set, this one does not, and nobody else owns.
pub(crate) fn merge(live: Option<&Lease>, body: &[u8], manager: &str) -> Result<Applied, Status> {
    let config: Value = serde_json::from_slice(body)
        .map_err(|e| Status::bad_request(format!("error decoding YAML: {e}")))?;
    let Value::Object(obj) = &config else {
        return Err(Status::bad_request(format!(
            "error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            super::gojson::value_kind(&config)
        )));
    };
    let version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if version != API_VERSION {
        return Err(Status::bad_request(format!(
            "Incorrect version specified in apply patch. Specified patch version: {version}, expected: {API_VERSION}"
        )));
    }
    if !config["metadata"]["managedFields"].is_null() {
        return Err(Status::bad_request("metadata.managedFields must be nil"));
    }
    let fields = config_fields(&config);
    let base = live.map(|l| l.to_value(true)).unwrap_or_else(|| {
        serde_json::json!({"kind": "Lease", "apiVersion": API_VERSION, "metadata": {}, "spec": {}})
    });
    let mut merged = patch::apply(patch::Kind::Merge, &base, body)?;
    if let Some(live) = live {
        let entries = &live.meta.managed_fields;
        for p in managed_fields::last_applied(entries, manager).difference(&fields) {
            if !managed_fields::owned_by_other(entries, manager, p) {
                remove(&mut merged, p);
            }
        }
    }
    let text = super::gojson::to_string(&merged);
    let decoded = Lease::decode(text.as_bytes()).map_err(|e| e.status)?;
    Ok(Applied {
        lease: decoded.lease,
        config: fields,
    })
}

/// The fields a configuration sets (`ToFieldSet` for a Lease): each `spec` field, each label
/// and annotation, and a label or annotation map given as `{}` or `null`.
fn config_fields(config: &Value) -> FieldSet {
    let mut set = FieldSet::new();
    if let Some(spec) = config["spec"].as_object() {
        set.extend(spec.keys().map(|k| path(&["spec", k])));
    }
    for map in ["labels", "annotations"] {
        match config["metadata"].get(map) {
            Some(Value::Object(m)) if !m.is_empty() => {
                set.extend(m.keys().map(|k| path(&["metadata", map, k])));
            }
            Some(_) => {
                set.insert(path(&["metadata", map]));
            }
            None => {}
        }
    }
    set
}

/// Removes the field at `p` from an object's JSON.
fn remove(doc: &mut Value, p: &[String]) {
    let Some((last, parents)) = p.split_last() else {
        return;
    };
    let mut node = doc;
    for element in parents {
        match node.get_mut(element.as_str()) {
            Some(next) => node = next,
            None => return,
        }
    }
    if let Value::Object(m) = node {
        m.shift_remove(last.as_str());
    }
}
