//! `metav1.Status` bodies exactly as kube-apiserver writes them, and constructors for each error
//! the emulator returns (messages and details per the reference, §1).

use serde_json::{Map, Value, json};

use super::gojson;

/// The API group of Leases.
pub(crate) const GROUP: &str = "coordination.k8s.io";
/// The resource name, as errors built from the resource show it.
pub(crate) const RESOURCE: &str = "leases";
/// The kind, as errors built from the kind show it.
pub(crate) const KIND: &str = "Lease";

/// One `details.causes` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cause {
    /// `reason`, e.g. `FieldValueInvalid`; omitted when empty.
    pub reason: String,
    /// `message`.
    pub message: String,
    /// `field`; omitted when empty.
    pub field: String,
}

/// A Status response: HTTP code plus body fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Status {
    /// The HTTP status code.
    pub http: u16,
    /// `status`: `Failure` or `Success`.
    pub status: &'static str,
    /// `message` (omitted when empty).
    pub message: String,
    /// `reason` (omitted when empty).
    pub reason: &'static str,
    /// `details`: `None` = no details; `Some` with every part empty = `{}`.
    pub details: Option<Box<Details>>,
    /// `code` (omitted when 0).
    pub code: u16,
    /// `Retry-After` seconds, sent as a header too.
    pub retry_after: Option<u32>,
}

/// `details` of a Status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Details {
    pub name: String,
    pub group: String,
    pub kind: String,
    pub uid: String,
    pub causes: Vec<Cause>,
}

impl Details {
    fn lease(name: &str, kind: &str) -> Details {
        Details {
            name: name.to_owned(),
            group: GROUP.to_owned(),
            kind: kind.to_owned(),
            ..Details::default()
        }
    }
}

impl Status {
    /// A failure with `code` = HTTP code.
    pub(super) fn failure(
        http: u16,
        reason: &'static str,
        message: String,
        details: Option<Details>,
    ) -> Self {
        let details = details.map(Box::new);
        Status {
            http,
            status: "Failure",
            message,
            reason,
            details,
            code: http,
            retry_after: None,
        }
    }

    /// The body as JSON, field order as Go writes it.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("kind".into(), json!("Status"));
        m.insert("apiVersion".into(), json!("v1"));
        m.insert("metadata".into(), json!({}));
        m.insert("status".into(), json!(self.status));
        if !self.message.is_empty() {
            m.insert("message".into(), json!(self.message));
        }
        if !self.reason.is_empty() {
            m.insert("reason".into(), json!(self.reason));
        }
        if let Some(d) = &self.details {
            let mut dm = Map::new();
            for (k, v) in [
                ("name", &d.name),
                ("group", &d.group),
                ("kind", &d.kind),
                ("uid", &d.uid),
            ] {
                if !v.is_empty() {
                    dm.insert(k.into(), json!(v));
                }
            }
            if !d.causes.is_empty() {
                let causes = d.causes.iter().map(|c| {
                    let mut cm = Map::new();
                    if !c.reason.is_empty() {
                        cm.insert("reason".into(), json!(c.reason));
                    }
                    if !c.message.is_empty() {
                        cm.insert("message".into(), json!(c.message));
                    }
                    if !c.field.is_empty() {
                        cm.insert("field".into(), json!(c.field));
                    }
                    Value::Object(cm)
                });
                dm.insert("causes".into(), Value::Array(causes.collect()));
            }
            if let Some(n) = self.retry_after {
                dm.insert("retryAfterSeconds".into(), json!(n));
            }
            m.insert("details".into(), Value::Object(dm));
        }
        if self.code != 0 {
            m.insert("code".into(), json!(self.code));
        }
        Value::Object(m)
    }

    /// The response body bytes (with Go's trailing newline).
    pub fn body(&self) -> Vec<u8> {
        gojson::to_body(&self.to_value())
    }

    /// 401: no or unknown bearer token.
    pub fn unauthorized() -> Self {
        Self::failure(401, "Unauthorized", "Unauthorized".into(), None)
    }

    /// 403 from the authorizer; `name` empty for collection verbs, `namespace` empty for
    /// cluster-scope requests.
    pub fn forbidden(user: &str, verb: &str, namespace: &str, name: &str) -> Self {
        let scope = if namespace.is_empty() {
            "at the cluster scope".to_owned()
        } else {
            format!("in the namespace {}", gojson::quote(namespace))
        };
        let why = format!(
            "User {} cannot {verb} resource \"{RESOURCE}\" in API group \"{GROUP}\" {scope}",
            gojson::quote(user)
        );
        let message = if name.is_empty() {
            format!("{RESOURCE}.{GROUP} is forbidden: {why}")
        } else {
            format!(
                "{RESOURCE}.{GROUP} {} is forbidden: {why}",
                gojson::quote(name)
            )
        };
        Self::failure(
            403,
            "Forbidden",
            message,
            Some(Details::lease(name, RESOURCE)),
        )
    }

    /// 404 for a missing lease.
    pub fn not_found(name: &str) -> Self {
        let message = format!("{RESOURCE}.{GROUP} {} not found", gojson::quote(name));
        Self::failure(
            404,
            "NotFound",
            message,
            Some(Details::lease(name, RESOURCE)),
        )
    }

    /// 404 for a path the server does not serve.
    pub fn path_not_found() -> Self {
        Self::failure(
            404,
            "NotFound",
            "the server could not find the requested resource".into(),
            Some(Details::default()),
        )
    }

    /// 405 for a method the path does not allow.
    pub fn method_not_allowed() -> Self {
        Self::failure(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource".into(),
            Some(Details::default()),
        )
    }

    /// 409 when creating a name that is taken.
    pub fn already_exists(name: &str) -> Self {
        let message = format!("{RESOURCE}.{GROUP} {} already exists", gojson::quote(name));
        Self::failure(
            409,
            "AlreadyExists",
            message,
            Some(Details::lease(name, RESOURCE)),
        )
    }

    /// 409 Conflict on `leases.coordination.k8s.io` (storage errors: stale resourceVersion,
    /// uid precondition).
    pub fn conflict(name: &str, err: &str) -> Self {
        let message = format!(
            "Operation cannot be fulfilled on {RESOURCE}.{GROUP} {}: {err}",
            gojson::quote(name)
        );
        Self::failure(
            409,
            "Conflict",
            message,
            Some(Details::lease(name, RESOURCE)),
        )
    }

    /// 409 Conflict of a server-side apply (`NewApplyConflict`): details hold only the causes.
    pub fn apply_conflict(message: String, causes: Vec<Cause>) -> Self {
        let details = Details {
            causes,
            ..Details::default()
        };
        Self::failure(409, "Conflict", message, Some(details))
    }

    /// 409 Conflict on `Lease.coordination.k8s.io` (delete preconditions).
    pub fn conflict_kind(name: &str, err: &str) -> Self {
        let message = format!(
            "Operation cannot be fulfilled on {KIND}.{GROUP} {}: {err}",
            gojson::quote(name)
        );
        Self::failure(409, "Conflict", message, Some(Details::lease(name, KIND)))
    }

    /// 422 Invalid; `kind` is `Lease` (strategy validation) or `leases` (store checks).
    pub fn invalid(kind: &str, name: &str, errors: &[FieldError]) -> Self {
        Self::invalid_in(GROUP, kind, name, errors)
    }

    /// 422 Invalid for any group/kind (both empty for a PATCH whose result does not decode).
    pub fn invalid_in(group: &str, kind: &str, name: &str, errors: &[FieldError]) -> Self {
        let mut seen = Vec::<String>::new();
        for e in errors {
            let s = e.to_string();
            if !seen.contains(&s) {
                seen.push(s);
            }
        }
        let agg = match seen.len() {
            0 => String::new(),
            1 => format!(": {}", seen[0]),
            _ => format!(": [{}]", seen.join(", ")),
        };
        let qualified = if group.is_empty() {
            kind.to_owned()
        } else {
            format!("{kind}.{group}")
        };
        let message = format!("{qualified} {} is invalid{agg}", gojson::quote(name));
        let mut details = Details {
            name: name.to_owned(),
            group: group.to_owned(),
            kind: kind.to_owned(),
            ..Details::default()
        };
        details.causes = errors
            .iter()
            .map(|e| Cause {
                reason: e.kind.reason().to_owned(),
                message: e.body(),
                field: e.field.clone(),
            })
            .collect();
        Self::failure(422, "Invalid", message, Some(details))
    }

    /// 400 BadRequest with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::failure(400, "BadRequest", message.into(), None)
    }

    /// 415 for a body in a format the server does not read.
    pub fn unsupported_media_type() -> Self {
        Self::failure(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: {}",
                ACCEPTED_MEDIA_TYPES
            ),
            None,
        )
    }

    /// 415 for a PATCH type the server does not read.
    pub fn unsupported_patch() -> Self {
        Self::failure(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: {}",
                PATCH_MEDIA_TYPES
            ),
            None,
        )
    }

    /// 406 for an `Accept` the server cannot satisfy.
    pub fn not_acceptable() -> Self {
        Self::failure(
            406,
            "NotAcceptable",
            format!("only the following media types are accepted: {ACCEPTED_MEDIA_TYPES}"),
            None,
        )
    }

    /// 500 for an error that is not an API status: no reason, the error text as message.
    pub fn internal_plain(message: impl Into<String>) -> Self {
        Self::failure(500, "", message.into(), None)
    }

    /// 410 Expired: a resourceVersion (or continue token) older than the history window.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::failure(410, "Expired", message.into(), None)
    }

    /// 200 Success for a delete.
    pub fn deleted(name: &str, uid: &str) -> Self {
        let mut details = Details::lease(name, RESOURCE);
        details.uid = uid.to_owned();
        Status {
            http: 200,
            status: "Success",
            message: String::new(),
            reason: "",
            details: Some(Box::new(details)),
            code: 0,
            retry_after: None,
        }
    }
}

/// Media types a POST/PUT body may use (JSON and YAML are read; the list mirrors the server's).
pub(crate) const ACCEPTED_MEDIA_TYPES: &str =
    "application/json, application/yaml, application/vnd.kubernetes.protobuf";

/// Media types a PATCH body may use.
pub(crate) const PATCH_MEDIA_TYPES: &str = "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml";

/// The type of a field validation error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldErrorKind {
    /// `Invalid value`.
    Invalid,
    /// `Required value`.
    Required,
    /// `Unsupported value`.
    NotSupported,
    /// `Forbidden`.
    Forbidden,
    /// `Too long` (the value is not shown).
    TooLong,
}

impl FieldErrorKind {
    fn reason(self) -> &'static str {
        match self {
            Self::Invalid => "FieldValueInvalid",
            Self::Required => "FieldValueRequired",
            Self::NotSupported => "FieldValueNotSupported",
            Self::Forbidden => "FieldValueForbidden",
            Self::TooLong => "FieldValueTooLong",
        }
    }

    fn text(self) -> &'static str {
        match self {
            Self::Invalid => "Invalid value",
            Self::Required => "Required value",
            Self::NotSupported => "Unsupported value",
            Self::Forbidden => "Forbidden",
            Self::TooLong => "Too long",
        }
    }
}

/// A `field.Error`: type, path, the bad value already rendered as Go renders it, detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub kind: FieldErrorKind,
    pub field: String,
    /// The rendered bad value (`%q` for strings, plain for numbers); unused for
    /// Required/Forbidden.
    pub value: String,
    pub detail: String,
}

impl FieldError {
    /// `field.Invalid` with a string value.
    pub fn invalid_str(field: &str, value: &str, detail: &str) -> Self {
        Self::new(FieldErrorKind::Invalid, field, gojson::quote(value), detail)
    }

    /// `field.Invalid` with a value rendered already.
    pub fn invalid(field: &str, value: impl ToString, detail: &str) -> Self {
        Self::new(FieldErrorKind::Invalid, field, value.to_string(), detail)
    }

    /// `field.Required`.
    pub fn required(field: &str, detail: &str) -> Self {
        Self::new(FieldErrorKind::Required, field, String::new(), detail)
    }

    /// `field.Forbidden`.
    pub fn forbidden(field: &str, detail: &str) -> Self {
        Self::new(FieldErrorKind::Forbidden, field, String::new(), detail)
    }

    /// `field.TooLong`: longer than `max` bytes.
    pub fn too_long(field: &str, max: usize) -> Self {
        let detail = format!("may not be more than {max} bytes");
        Self::new(FieldErrorKind::TooLong, field, String::new(), &detail)
    }

    /// `field.NotSupported` with a value rendered already.
    pub fn not_supported(field: &str, value: String, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| gojson::quote(s)).collect();
        let detail = format!("supported values: {}", list.join(", "));
        Self::new(FieldErrorKind::NotSupported, field, value, &detail)
    }

    fn new(kind: FieldErrorKind, field: &str, value: String, detail: &str) -> Self {
        FieldError {
            kind,
            field: field.to_owned(),
            value,
            detail: detail.to_owned(),
        }
    }

    /// `ErrorBody()`: the message without the field path.
    pub fn body(&self) -> String {
        let mut s = self.kind.text().to_owned();
        if matches!(
            self.kind,
            FieldErrorKind::Invalid | FieldErrorKind::NotSupported
        ) {
            s.push_str(": ");
            s.push_str(&self.value);
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}
