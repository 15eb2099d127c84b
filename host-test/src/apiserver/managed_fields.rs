//! `metadata.managedFields` for Leases: which manager owns which field, kept the way the
//! apiserver's field manager keeps it (structured-merge-diff's `Updater`, seen through the
//! `managedFieldsUpdater` and `stripMeta` wrappers), for the few field shapes a Lease has:
//! the `spec` scalars and the `metadata.labels` / `metadata.annotations` string maps.
//!
//! An Update (create, PUT, merge / JSON / strategic patch) moves every field it adds or changes
//! to its manager's Update entry, and drops every field it removes from all managers. An Apply
//! (server-side apply, see `apply.rs`) owns exactly the fields of its configuration, and fails
//! with 409 when it would change a field another manager owns, unless forced.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::gojson;
use super::lease::{API_VERSION, Lease};
use super::microtime;
use super::status::{Cause, Status};

/// A field path, e.g. `["spec", "holderIdentity"]` or `["metadata", "labels", "app"]`.
pub(crate) type Path = Vec<String>;

/// A set of field paths.
pub(crate) type FieldSet = BTreeSet<Path>;

/// `Apply` or `Update`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Operation {
    /// Server-side apply.
    Apply,
    /// Any other write.
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One `managedFields` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// `manager`.
    pub manager: String,
    /// `operation`.
    pub operation: Operation,
    /// `time` (metav1.Time text, whole seconds).
    pub time: String,
    /// The owned fields (`fieldsV1`).
    pub fields: FieldSet,
}

impl Entry {
    /// Whether this entry is the one `manager` writes with `operation` (one apiVersion here).
    fn is(&self, manager: &str, operation: Operation) -> bool {
        self.manager == manager && self.operation == operation
    }

    /// The entry as JSON, in `ManagedFieldsEntry` field order.
    pub fn to_value(&self) -> Value {
        json!({
            "manager": self.manager,
            "operation": self.operation.as_str(),
            "apiVersion": API_VERSION,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": fields_v1(&self.fields),
        })
    }

    /// `printManager`: how a conflict names this entry's manager.
    fn printed(&self) -> String {
        let name = gojson::quote(&self.manager);
        match self.operation {
            Operation::Apply => name,
            Operation::Update => format!("{name} using {API_VERSION} at {}", self.time),
        }
    }
}

/// The `fieldsV1` object: `f:<name>` per path element, `.` for a path that is itself owned
/// and has owned children.
fn fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut node = &mut root;
        for (i, element) in path.iter().enumerate() {
            let child = node
                .entry(format!("f:{element}"))
                .or_insert_with(|| json!({}));
            let Value::Object(child) = child else {
                unreachable!("fieldsV1 nodes are objects")
            };
            let is_prefix = set.iter().any(|p| p.len() > i + 1 && p[..=i] == path[..=i]);
            if i + 1 == path.len() && is_prefix {
                child.insert(".".into(), json!({}));
            }
            node = child;
        }
    }
    sort_fields(&mut root);
    Value::Object(root)
}

/// Orders each level as structured-merge-diff serializes a set: `.` first, then by name.
fn sort_fields(node: &mut Map<String, Value>) {
    let mut entries: Vec<(String, Value)> = std::mem::take(node).into_iter().collect();
    entries.sort_by(|(a, _), (b, _)| (a != ".", a).cmp(&(b != ".", b)));
    for (k, mut v) in entries {
        if let Value::Object(m) = &mut v {
            sort_fields(m);
        }
        node.insert(k, v);
    }
}

/// The leaf values of a Lease the field manager tracks: each set spec field, and each label
/// and annotation.
pub(crate) fn leaves(lease: &Lease) -> BTreeMap<Path, Value> {
    let spec = lease.to_value(false)["spec"].clone();
    let mut out = BTreeMap::new();
    if let Value::Object(spec) = spec {
        for (k, v) in spec {
            out.insert(vec!["spec".to_owned(), k], v);
        }
    }
    for (map, values) in [
        ("labels", &lease.meta.labels),
        ("annotations", &lease.meta.annotations),
    ] {
        for (k, v) in values {
            out.insert(path(&["metadata", map, k]), json!(v));
        }
    }
    out
}

/// A path from its elements.
pub(crate) fn path(elements: &[&str]) -> Path {
    elements.iter().map(|e| (*e).to_owned()).collect()
}

/// What changed between two objects: added or modified paths, and removed ones. A label or
/// annotation map that appears (or disappears) counts as a path of its own.
pub(crate) struct Comparison {
    /// Added or modified.
    pub changed: FieldSet,
    /// Removed.
    pub removed: FieldSet,
}

/// Compares `old` (absent: an empty object) with `new`.
pub(crate) fn compare(old: Option<&Lease>, new: &Lease) -> Comparison {
    let before = old.map(leaves).unwrap_or_default();
    let after = leaves(new);
    let mut changed: FieldSet = after
        .iter()
        .filter(|(p, v)| before.get(*p) != Some(*v))
        .map(|(p, _)| p.clone())
        .collect();
    let mut removed: FieldSet = before
        .keys()
        .filter(|p| !after.contains_key(*p))
        .cloned()
        .collect();
    for map in ["labels", "annotations"] {
        let has = |l: &BTreeMap<Path, Value>| l.keys().any(|p| p.len() == 3 && p[1] == map);
        match (has(&before), has(&after)) {
            (false, true) => {
                changed.insert(path(&["metadata", map]));
            }
            (true, false) => {
                removed.insert(path(&["metadata", map]));
            }
            _ => {}
        }
    }
    Comparison { changed, removed }
}

/// Removes `fields` from every entry but `keep`, dropping entries left empty.
fn take_from_others(entries: &mut Vec<Entry>, keep: Option<usize>, fields: &FieldSet) {
    let mut i = 0;
    entries.retain_mut(|e| {
        let mine = Some(i) == keep;
        i += 1;
        if !mine {
            e.fields.retain(|p| !fields.contains(p));
        }
        mine || !e.fields.is_empty()
    });
}

/// Sorts entries as the apiserver encodes them: Apply first, then by time, manager.
fn sort(entries: &mut [Entry]) {
    entries.sort_by(|a, b| {
        (a.operation, &a.time, &a.manager).cmp(&(b.operation, &b.time, &b.manager))
    });
}

/// Records an Update by `manager` that turns `old` into `new`: `new`'s entries become `old`'s
/// with the changed fields moved to `manager`'s Update entry (its time set when it took any).
pub(crate) fn record_update(
    old: Option<&Lease>,
    new: &mut Lease,
    manager: &str,
    now: OffsetDateTime,
) {
    let cmp = compare(old, new);
    let mut entries = old
        .map(|o| o.meta.managed_fields.clone())
        .unwrap_or_default();
    let moved: FieldSet = cmp.changed.union(&cmp.removed).cloned().collect();
    take_from_others(&mut entries, None, &moved);
    if !cmp.changed.is_empty() {
        let time = microtime::format_seconds(now);
        match entries
            .iter_mut()
            .find(|e| e.is(manager, Operation::Update))
        {
            Some(e) => {
                e.fields.extend(cmp.changed.iter().cloned());
                e.time = time;
            }
            None => entries.push(Entry {
                manager: manager.to_owned(),
                operation: Operation::Update,
                time,
                fields: cmp.changed,
            }),
        }
    }
    sort(&mut entries);
    new.meta.managed_fields = entries;
}

/// Records an Apply by `manager` of a configuration owning `config` that turned `old` into
/// `new`: fails with the apiserver's 409 when another manager owns a field the apply changes,
/// unless `force` (then the apply takes those fields).
pub(crate) fn record_apply(
    old: Option<&Lease>,
    new: &mut Lease,
    manager: &str,
    config: FieldSet,
    force: bool,
    now: OffsetDateTime,
) -> Result<(), Status> {
    let cmp = compare(old, new);
    let mut entries = old
        .map(|o| o.meta.managed_fields.clone())
        .unwrap_or_default();
    let mine = entries.iter().position(|e| e.is(manager, Operation::Apply));
    if !force {
        let conflicts: Vec<(&Entry, &Path)> = entries
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != mine)
            .flat_map(|(_, e)| e.fields.intersection(&cmp.changed).map(move |p| (e, p)))
            .collect();
        if !conflicts.is_empty() {
            return Err(conflict(&conflicts));
        }
    }
    let moved: FieldSet = cmp.changed.union(&cmp.removed).cloned().collect();
    take_from_others(&mut entries, mine, &moved);
    let object_changed = !moved.is_empty();
    let time = microtime::format_seconds(now);
    match entries.iter_mut().find(|e| e.is(manager, Operation::Apply)) {
        Some(e) => {
            e.fields = config;
            if object_changed {
                e.time = time;
            }
        }
        None => entries.push(Entry {
            manager: manager.to_owned(),
            operation: Operation::Apply,
            time,
            fields: config,
        }),
    }
    entries.retain(|e| !e.fields.is_empty());
    sort(&mut entries);
    new.meta.managed_fields = entries;
    Ok(())
}

/// Whether a manager other than `manager`'s Apply entry owns `p` in `entries`.
pub(crate) fn owned_by_other(entries: &[Entry], manager: &str, p: &Path) -> bool {
    entries
        .iter()
        .any(|e| !e.is(manager, Operation::Apply) && e.fields.contains(p))
}

/// The fields `manager`'s last Apply owned.
pub(crate) fn last_applied(entries: &[Entry], manager: &str) -> FieldSet {
    entries
        .iter()
        .find(|e| e.is(manager, Operation::Apply))
        .map(|e| e.fields.clone())
        .unwrap_or_default()
}

/// `NewConflictError`: 409 Conflict, causes of type `FieldManagerConflict`, no object details.
fn conflict(conflicts: &[(&Entry, &Path)]) -> Status {
    let path_text = |p: &Path| p.iter().map(|e| format!(".{e}")).collect::<String>();
    let causes = conflicts
        .iter()
        .map(|(e, p)| Cause {
            reason: "FieldManagerConflict".to_owned(),
            message: format!("conflict with {}", e.printed()),
            field: path_text(p),
        })
        .collect();
    let message = match conflicts {
        [(e, p)] => format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            e.printed(),
            path_text(p)
        ),
        _ => {
            let mut by_manager: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (e, p) in conflicts {
                by_manager
                    .entry(e.printed())
                    .or_default()
                    .push(path_text(p));
            }
            let lines: Vec<String> = by_manager
                .iter()
                .flat_map(|(m, paths)| {
                    std::iter::once(format!("conflicts with {m}:"))
                        .chain(paths.iter().map(|p| format!("- {p}")))
                })
                .collect();
            format!(
                "Apply failed with {} conflicts: {}",
                conflicts.len(),
                lines.join("\n")
            )
        }
    };
    Status::apply_conflict(message, causes)
}
