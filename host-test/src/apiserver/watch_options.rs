//! A watch request's query, decoded and checked in kube-apiserver's order (see
//! `/work/shared/k8s-watch.md` §1): selector syntax (400), the WatchList defaults and the
//! `resourceVersionMatch` / `sendInitialEvents` rules (422), field names (400), and a
//! `/watch/…/{name}` path against a `metadata.name` selector (400). All before any stream.

use std::time::Duration;

use super::exchange::Query;
use super::selectors::{FieldSelector, LabelSelector};
use super::status::{FieldError, Status};

/// The only `resourceVersionMatch` a watch accepts.
const NOT_OLDER_THAN: &str = "NotOlderThan";

/// What a watcher asked for.
pub(crate) struct WatchOptions {
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`, or the path's `{name}`.
    pub fields: FieldSelector,
    /// The revision after which changes are sent (0: from now).
    pub from: u64,
    /// Whether the stream opens with a synthetic ADDED per matching lease.
    pub send_initial: bool,
    /// Whether those are followed by the initial-events-end BOOKMARK (WatchList; only when
    /// bookmarks are allowed).
    pub initial_events_end: bool,
    /// `allowWatchBookmarks`.
    pub bookmarks: bool,
    /// How long the stream lasts (`timeoutSeconds`, else random 1800–3600 s).
    pub timeout: Duration,
}

/// A boolean query value as the apiserver reads it: anything but `0` or `false` (any case)
/// is true, even an empty value.
pub(crate) fn query_bool(value: &str) -> bool {
    !(value == "0" || value.eq_ignore_ascii_case("false"))
}

/// The server's pick when `timeoutSeconds` is absent or 0: uniform in
/// [`--min-request-timeout`, 2 × that], i.e. 1800–3600 s by default.
fn default_timeout() -> Duration {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    let random = u16::from_le_bytes([bytes[0], bytes[1]]);
    Duration::from_secs(1800 + u64::from(random) % 1801)
}

/// `validateWatchOptions` (apimachinery `internalversion/validation`), after
/// `SetListOptionsDefaults`; `watch_list` is the WatchList gate (on in 1.34).
fn validate(
    rvm: &str,
    send_initial: Option<bool>,
    continued: bool,
    watch_list: bool,
) -> Result<(), Vec<FieldError>> {
    let mut errs = Vec::new();
    if send_initial.is_some() && rvm != NOT_OLDER_THAN {
        errs.push(FieldError::forbidden(
            "resourceVersionMatch",
            "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ));
    }
    if send_initial.is_some() && !watch_list {
        errs.push(FieldError::forbidden(
            "sendInitialEvents",
            "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled",
        ));
    }
    if !rvm.is_empty() {
        if send_initial.is_none() {
            errs.push(FieldError::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            ));
        }
        if rvm != NOT_OLDER_THAN {
            let value = super::gojson::quote(rvm);
            errs.push(FieldError::not_supported(
                "resourceVersionMatch",
                value,
                &[NOT_OLDER_THAN],
            ));
        }
        if continued {
            errs.push(FieldError::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden when continue is provided",
            ));
        }
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

impl WatchOptions {
    /// Decodes and checks `query`; `name` is the `/watch/…/{name}` path segment (or empty),
    /// `watch_list` the WatchList gate.
    pub fn parse(query: &Query, name: &str, watch_list: bool) -> Result<WatchOptions, Status> {
        let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or_default())?;
        let mut fields =
            FieldSelector::parse_syntax(query.get("fieldSelector").unwrap_or_default())?;
        let rv = query.get("resourceVersion").unwrap_or_default();
        let mut rvm = query.get("resourceVersionMatch").unwrap_or_default();
        let mut send_initial = query.get("sendInitialEvents").map(query_bool);
        let legacy = rv.is_empty() || rv == "0";
        if watch_list && send_initial.is_none() && rvm.is_empty() && legacy {
            send_initial = Some(true);
            rvm = NOT_OLDER_THAN;
        }
        let continued = query.get("continue").is_some_and(|c| !c.is_empty());
        validate(rvm, send_initial, continued, watch_list)
            .map_err(|errs| Status::invalid_in("meta.k8s.io", "ListOptions", "", &errs))?;
        fields.check_known()?;
        if !name.is_empty() {
            if fields.is_empty() {
                fields = FieldSelector::name(name);
            } else if fields.exact_name() != Some(name) {
                return Err(Status::bad_request(
                    "fieldSelector metadata.name doesn't match requested name",
                ));
            }
        }
        let from = if legacy {
            0
        } else {
            super::handlers::parse_rv(rv).map_err(|e| {
                Status::bad_request(format!(
                    "resourceVersion: Invalid value: {}: {e}",
                    super::gojson::quote(rv)
                ))
            })?
        };
        let timeout = match query
            .get("timeoutSeconds")
            .and_then(|t| t.parse::<u64>().ok())
        {
            Some(secs) if secs > 0 => Duration::from_secs(secs),
            _ => default_timeout(),
        };
        Ok(WatchOptions {
            labels,
            fields,
            from,
            // Without WatchList, a legacy watch still opens with the current state.
            send_initial: send_initial.unwrap_or(!watch_list && legacy),
            initial_events_end: watch_list,
            bookmarks: query.get("allowWatchBookmarks").is_some_and(query_bool),
            timeout,
        })
    }
}
