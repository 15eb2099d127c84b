//! Lease validation (kubernetes `pkg/apis/coordination/validation`, apimachinery name and
//! metadata rules) and the feature-gate field dropping done before it.

use super::lease::{Lease, Spec};
use super::status::FieldError;

/// The strategies a value without `/` may name.
const STRATEGIES: [&str; 1] = ["OldestEmulationVersion"];

/// `RegexError`: `msg (e.g. 'a' or 'b', regex used for validation is 'fmt')`.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let mut s = format!("{msg} (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            s.push_str(" or ");
        }
        s.push_str(&format!("'{e}', "));
    }
    s.push_str(&format!("regex used for validation is '{fmt}')"));
    s
}

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";

/// Matches `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && alnum(b[0])
        && alnum(b[b.len() - 1])
        && b.iter().all(|&c| alnum(c) || c == b'-')
}

/// Matches the DNS-1123 subdomain regex.
fn is_subdomain(s: &str) -> bool {
    s.split('.').all(is_label)
}

/// Matches the qualified-name regex.
fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_alphanumeric();
    !b.is_empty()
        && alnum(b[0])
        && alnum(b[b.len() - 1])
        && b.iter()
            .all(|&c| alnum(c) || matches!(c, b'-' | b'_' | b'.'))
}

/// `IsDNS1123Subdomain`.
pub(crate) fn dns1123_subdomain_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push("must be no more than 253 characters".to_owned());
    }
    if !is_subdomain(s) {
        errs.push(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// `IsDNS1123Label`.
pub(crate) fn dns1123_label_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_owned());
    }
    if !is_label(s) {
        errs.push(regex_error(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
            DNS1123_LABEL_FMT,
            &["my-name", "123-abc"],
        ));
    }
    errs
}

/// `IsQualifiedName`.
fn qualified_name_errors(value: &str) -> Vec<String> {
    let qualified = || {
        regex_error(
            "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            QUALIFIED_NAME_FMT,
            &["MyName", "my.name", "123-abc"],
        )
    };
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_owned());
            } else {
                for m in dns1123_subdomain_errors(prefix) {
                    errs.push(format!("prefix part {m}"));
                }
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                qualified()
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_owned());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".to_owned());
    }
    if !is_qualified_name_part(name) {
        errs.push(format!("name part {}", qualified()));
    }
    errs
}

/// `PrepareForCreate`/`PrepareForUpdate`: with the gate off, drop strategy and preferredHolder
/// (on update: unless the stored object already uses them).
pub(crate) fn drop_disabled_fields(gate: bool, spec: &mut Spec, old: Option<&Spec>) {
    if gate {
        return;
    }
    let old_uses = old.is_some_and(|o| o.strategy.is_some() || o.preferred_holder.is_some());
    if !old_uses {
        spec.strategy = None;
        spec.preferred_holder = None;
    }
}

/// `ValidateObjectMeta` (name, generateName, namespace) plus `ValidateLeaseSpec`.
pub(crate) fn validate_lease(lease: &Lease) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let md = &lease.meta;
    if !md.generate_name.is_empty() {
        // NameIsDNSSubdomain with prefix=true masks a trailing dash.
        let masked = match md.generate_name.strip_suffix('-') {
            Some(base) => format!("{base}a"),
            None => md.generate_name.clone(),
        };
        for m in dns1123_subdomain_errors(&masked) {
            errs.push(FieldError::invalid_str(
                "metadata.generateName",
                &md.generate_name,
                &m,
            ));
        }
    }
    if md.name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        for m in dns1123_subdomain_errors(&md.name) {
            errs.push(FieldError::invalid_str("metadata.name", &md.name, &m));
        }
    }
    if md.namespace.is_empty() {
        errs.push(FieldError::required("metadata.namespace", ""));
    } else {
        for m in dns1123_label_errors(&md.namespace) {
            errs.push(FieldError::invalid_str(
                "metadata.namespace",
                &md.namespace,
                &m,
            ));
        }
    }
    errs.extend(validate_spec(&lease.spec));
    errs
}

/// `ValidateLeaseSpec`.
fn validate_spec(spec: &Spec) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(d) = spec.lease_duration_seconds.filter(|d| *d <= 0) {
        errs.push(FieldError::invalid(
            "spec.leaseDurationSeconds",
            d,
            "must be greater than 0",
        ));
    }
    if let Some(t) = spec.lease_transitions.filter(|t| *t < 0) {
        errs.push(FieldError::invalid(
            "spec.leaseTransitions",
            t,
            "must be greater than or equal to 0",
        ));
    }
    if let Some(strategy) = &spec.strategy {
        // The field path is built twice upstream: spec.strategy.strategy.
        let field = "spec.strategy.strategy";
        // A named string type: rendered by json.Marshal.
        let rendered = serde_json::to_string(strategy).unwrap_or_default();
        if strategy.contains('/') {
            for m in qualified_name_errors(strategy) {
                errs.push(FieldError::invalid(field, &rendered, &m));
            }
        } else if !STRATEGIES.contains(&strategy.as_str()) {
            errs.push(FieldError::not_supported(field, rendered, &STRATEGIES));
        }
    }
    let has_strategy = spec.strategy.as_deref().is_some_and(|s| !s.is_empty());
    if spec
        .preferred_holder
        .as_deref()
        .is_some_and(|p| !p.is_empty())
        && !has_strategy
    {
        errs.push(FieldError::forbidden(
            "spec.preferredHolder",
            "may only be specified if `strategy` is defined",
        ));
    }
    errs
}
