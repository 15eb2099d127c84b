//! PATCH bodies: JSON merge patch (RFC 7386; strategic merge patch is treated the same, which
//! is exact for Lease since it has no lists with merge keys) and JSON patch (RFC 6902).

use serde_json::Value;

use super::status::Status;

/// A supported patch type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `application/merge-patch+json` or `application/strategic-merge-patch+json`.
    Merge,
    /// `application/json-patch+json`.
    Json,
    /// `application/apply-patch+yaml`: server-side apply (`apply.rs`; merging its
    /// configuration into the live object is a merge here).
    Apply,
}

impl Kind {
    /// The patch type a `Content-Type` names.
    pub fn from_content_type(ct: Option<&str>) -> Option<Kind> {
        let media = ct?.split(';').next()?.trim().to_ascii_lowercase();
        match media.as_str() {
            "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
                Some(Kind::Merge)
            }
            "application/json-patch+json" => Some(Kind::Json),
            "application/apply-patch+yaml" => Some(Kind::Apply),
            _ => None,
        }
    }
}

/// Applies `patch` to `current`.
pub(crate) fn apply(kind: Kind, current: &Value, patch: &[u8]) -> Result<Value, Status> {
    let patch: Value = serde_json::from_slice(patch)
        .map_err(|e| Status::bad_request(format!("error decoding patch: {e}")))?;
    match kind {
        Kind::Merge | Kind::Apply => {
            if !patch.is_object() {
                return Err(Status::bad_request("Invalid JSON Patch"));
            }
            let mut doc = current.clone();
            merge(&mut doc, &patch);
            Ok(doc)
        }
        Kind::Json => json_patch(current, &patch).map_err(|e| {
            let mut s = Status::invalid_in("", "", "", &[]);
            s.message = e;
            s.details = None;
            s
        }),
    }
}

/// RFC 7386 merge.
fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// Splits a JSON pointer into unescaped tokens.
fn pointer_tokens(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| format!("invalid JSON pointer {path:?}"))?;
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

/// The parent container of `path` and the last token.
fn parent<'a>(doc: &'a mut Value, path: &str) -> Result<(&'a mut Value, String), String> {
    let mut tokens = pointer_tokens(path)?;
    let last = tokens
        .pop()
        .ok_or_else(|| "cannot operate on the whole document".to_owned())?;
    let mut cur = doc;
    for t in tokens {
        cur = match cur {
            Value::Object(m) => m.get_mut(&t),
            Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| format!("doc is missing path: {path:?}"))?;
    }
    Ok((cur, last))
}

/// RFC 6902 with add, remove, replace, test, copy and move.
fn json_patch(current: &Value, patch: &Value) -> Result<Value, String> {
    let ops = patch
        .as_array()
        .ok_or("json: cannot unmarshal object into Go value of type jsonpatch.Patch")?;
    let mut doc = current.clone();
    for op in ops {
        let name = op.get("op").and_then(Value::as_str).unwrap_or_default();
        let path = op.get("path").and_then(Value::as_str).unwrap_or_default();
        let value = op.get("value").cloned();
        match name {
            "add" | "replace" => {
                let value = value.ok_or_else(|| format!("missing value for {name} operation"))?;
                add(&mut doc, path, value, name == "replace")?;
            }
            "remove" => {
                remove(&mut doc, path)?;
            }
            "test" => {
                let want = value.unwrap_or(Value::Null);
                if doc.pointer(path) != Some(&want) {
                    return Err(format!("testing value {path} failed: test failed"));
                }
            }
            "copy" | "move" => {
                let from = op.get("from").and_then(Value::as_str).unwrap_or_default();
                let v = doc
                    .pointer(from)
                    .cloned()
                    .ok_or_else(|| format!("doc is missing from path: {from:?}"))?;
                if name == "move" {
                    remove(&mut doc, from)?;
                }
                add(&mut doc, path, v, false)?;
            }
            other => return Err(format!("Unexpected kind: {other}")),
        }
    }
    Ok(doc)
}

fn add(doc: &mut Value, path: &str, value: Value, must_exist: bool) -> Result<(), String> {
    let (container, last) = parent(doc, path)?;
    match container {
        Value::Object(m) => {
            if must_exist && !m.contains_key(&last) {
                return Err(format!(
                    "replace operation does not apply: doc is missing key: {path}"
                ));
            }
            m.insert(last, value);
        }
        Value::Array(a) => {
            if last == "-" {
                a.push(value);
            } else {
                let i: usize = last
                    .parse()
                    .map_err(|_| format!("invalid index {last:?}"))?;
                if must_exist && i < a.len() {
                    a[i] = value;
                } else if !must_exist && i <= a.len() {
                    a.insert(i, value);
                } else {
                    return Err(format!("index out of bounds: {i}"));
                }
            }
        }
        _ => return Err(format!("doc is missing path: {path:?}")),
    }
    Ok(())
}

fn remove(doc: &mut Value, path: &str) -> Result<(), String> {
    let (container, last) = parent(doc, path)?;
    let removed = match container {
        Value::Object(m) => m.shift_remove(&last).is_some(),
        Value::Array(a) => match last.parse::<usize>() {
            Ok(i) if i < a.len() => {
                a.remove(i);
                true
            }
            _ => false,
        },
        _ => false,
    };
    if removed {
        Ok(())
    } else {
        Err(format!(
            "remove operation does not apply: doc is missing path: {path:?}"
        ))
    }
}
