//! `labelSelector` and `fieldSelector` for lists: equality, inequality, existence and set
//! requirements on labels; `metadata.name` / `metadata.namespace` on fields.

use std::collections::BTreeMap;

use super::gojson;
use super::lease::Lease;
use super::status::Status;

/// One label requirement.
enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector (all requirements must hold).
pub(crate) struct LabelSelector(Vec<Req>);

/// Splits on commas outside parentheses.
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn set_values(s: &str) -> Option<Vec<String>> {
    let inner = s.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(inner.split(',').map(|v| v.trim().to_owned()).collect())
}

impl LabelSelector {
    /// Parses a selector; errors are 400s.
    pub fn parse(s: &str) -> Result<LabelSelector, Status> {
        let mut reqs = Vec::new();
        if s.trim().is_empty() {
            return Ok(LabelSelector(reqs));
        }
        let bad = |part: &str| {
            Status::bad_request(format!(
                "unable to parse requirement: found {}, expected: identifier",
                gojson::quote(part.trim())
            ))
        };
        for part in split_top(s) {
            let p = part.trim();
            let req = if let Some((k, v)) = p.split_once("!=") {
                Req::Ne(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = p.split_once("==") {
                Req::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = p.split_once('=') {
                Req::Eq(k.trim().into(), v.trim().into())
            } else if let Some(k) = p.strip_prefix('!') {
                Req::NotExists(k.trim().into())
            } else if let Some((k, v)) = p.split_once(" notin ") {
                Req::NotIn(k.trim().into(), set_values(v).ok_or_else(|| bad(part))?)
            } else if let Some((k, v)) = p.split_once(" in ") {
                Req::In(k.trim().into(), set_values(v).ok_or_else(|| bad(part))?)
            } else if !p.is_empty() && !p.contains(' ') {
                Req::Exists(p.into())
            } else {
                return Err(bad(part));
            };
            reqs.push(req);
        }
        Ok(LabelSelector(reqs))
    }

    /// Whether the selector selects everything.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => labels.get(k) == Some(v),
            Req::Ne(k, v) => labels.get(k) != Some(v),
            Req::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            Req::NotIn(k, vs) => labels.get(k).is_none_or(|l| !vs.contains(l)),
            Req::Exists(k) => labels.contains_key(k),
            Req::NotExists(k) => !labels.contains_key(k),
        })
    }
}

/// A parsed field selector: (field, value, equal?) terms.
pub(crate) struct FieldSelector(Vec<(String, String, bool)>);

impl FieldSelector {
    /// Parses a selector; unknown fields are 400s as on the real server.
    pub fn parse(s: &str) -> Result<FieldSelector, Status> {
        let selector = FieldSelector::parse_syntax(s)?;
        selector.check_known()?;
        Ok(selector)
    }

    /// Parses a selector's syntax only (a 400 for a term without an operator), as the
    /// apiserver does while decoding the query, before it validates the options.
    pub fn parse_syntax(s: &str) -> Result<FieldSelector, Status> {
        let mut terms = Vec::new();
        if s.trim().is_empty() {
            return Ok(FieldSelector(terms));
        }
        for part in s.split(',') {
            let (field, value, eq) = if let Some((f, v)) = part.split_once("!=") {
                (f, v, false)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, v, true)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, v, true)
            } else {
                return Err(Status::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            terms.push((field.trim().to_owned(), value.trim().to_owned(), eq));
        }
        Ok(FieldSelector(terms))
    }

    /// A 400 for a field Leases do not index (only `metadata.name` and `metadata.namespace`).
    pub fn check_known(&self) -> Result<(), Status> {
        match self
            .0
            .iter()
            .find(|(f, _, _)| f != "metadata.name" && f != "metadata.namespace")
        {
            Some((field, _, _)) => Err(Status::bad_request(format!(
                "{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
                gojson::quote(field)
            ))),
            None => Ok(()),
        }
    }

    /// The selector `metadata.name=name`.
    pub fn name(name: &str) -> FieldSelector {
        FieldSelector(vec![("metadata.name".into(), name.to_owned(), true)])
    }

    /// The name an equality term on `metadata.name` requires (`RequiresExactMatch`).
    pub fn exact_name(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _, eq)| f == "metadata.name" && *eq)
            .map(|(_, v, _)| v.as_str())
    }

    /// Whether the selector selects everything.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `lease` satisfies every term.
    pub fn matches(&self, lease: &Lease) -> bool {
        self.0.iter().all(|(f, v, eq)| {
            let actual = if f == "metadata.name" {
                &lease.meta.name
            } else {
                &lease.meta.namespace
            };
            (actual == v) == *eq
        })
    }
}
