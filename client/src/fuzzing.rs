//! The bodies of the `cargo fuzz` targets (`fuzz/fuzz_targets/*.rs`), as plain functions that
//! the property tests (`src/properties.rs`) drive too, so stable CI exercises them. Each takes
//! arbitrary input, must never panic, and asserts what holds for every input: round trips of
//! what decodes and re-encodes, names that stay DNS-1123. Only with the `fuzzing` feature: the
//! component never carries it.

use crate::prelude::*;

use crate::config::BaseUrl;
use crate::decode;
use crate::encode;
use crate::error::{Error, MIN_SECRET_PIECE, REDACTED, redact_bytes};
use crate::lease::Lease;
use crate::lock::options::{LockerConfig, LockerOptions};
use crate::micro_time::MicroTime;
use crate::names::{dns1123_label_error, dns1123_subdomain_error, lease_name_for_domain};
use crate::status::{Operation, error_for};
use crate::watch::{Lines, WatchEvent};

/// Every operation a failure can answer.
const OPERATIONS: [Operation; 5] = [
    Operation::Get,
    Operation::Create,
    Operation::Update,
    Operation::Delete,
    Operation::List,
];

/// Any bytes as a Lease body: decoding never panics, and a lease that decodes and can be
/// written again reads back equal (but for `creationTimestamp`, which is never written) and
/// writes the same bytes again.
pub fn lease_json(data: &[u8]) {
    if let Ok(lease) = decode::lease(data) {
        lease_round_trip(&lease);
    }
    let _ = decode::lease_list(data);
}

/// `lease` (with a name) written, read back and written again: equal to [`as_written`] and
/// byte-stable. A lease the encoder refuses (a repeated key, a time outside 0000-9999) is
/// refused with `InvalidArgument`.
pub fn lease_round_trip(lease: &Lease) {
    if lease.name.is_empty() {
        // Never sent (names are validated first), and read back as "without metadata.name".
        return;
    }
    let body = match encode::lease_body(lease) {
        Ok(body) => body,
        Err(Error::InvalidArgument(_)) => return,
        Err(e) => panic!("encoding {lease:?} failed: {e}"),
    };
    let back = decode::lease(&body)
        .unwrap_or_else(|e| panic!("{e} reading back {}", String::from_utf8_lossy(&body)));
    assert_eq!(
        back,
        as_written(lease),
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(encode::lease_body(&back).ok(), Some(body));
}

/// What a lease reads back as once written: no `creationTimestamp` (the server owns it), empty
/// optional strings omitted, and label and annotation keys in order.
pub fn as_written(lease: &Lease) -> Lease {
    let blank = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let mut written = lease.clone();
    written.creation_timestamp = None;
    written.namespace = blank(&lease.namespace);
    written.uid = blank(&lease.uid);
    written.resource_version = blank(&lease.resource_version);
    written.spec.strategy = blank(&lease.spec.strategy);
    written.spec.preferred_holder = blank(&lease.spec.preferred_holder);
    written.labels.sort();
    written.annotations.sort();
    written
}

/// Any bytes as a failure body of any status and `Retry-After`: always an `Api` error whose
/// code is the status, never a panic; the message of a non-Status body is a bounded excerpt.
pub fn status_body(code: u16, retry_after: Option<&str>, body: &[u8]) {
    for op in OPERATIONS {
        match error_for(op, code, retry_after, body) {
            Error::Api(status) => {
                assert_eq!(status.code, code);
                assert_ne!(status.retry_after_seconds, Some(0));
            }
            other => panic!("a failure body read as {other:?}"),
        }
    }
}

/// Any bytes, cut into any chunks, as a watch stream: lines and events never panic, and no
/// line kept is empty or longer than the stream.
pub fn watch_stream(data: &[u8], chunk: usize) {
    let mut lines = Lines::default();
    for piece in data.chunks(chunk.max(1)) {
        lines.push(piece);
        while let Ok(Some(line)) = lines.next_line() {
            assert!(!line.is_empty() && line.len() <= data.len());
            let _ = WatchEvent::parse(&line);
        }
    }
    let _ = WatchEvent::parse(data);
}

/// Any text as a domain, a lease name and a namespace: the domain's lease name is always a
/// valid DNS-1123 subdomain and label, the validators never panic, and a valid label is a
/// valid subdomain.
pub fn names(text: &str) {
    let name = lease_name_for_domain(text);
    assert_eq!(dns1123_subdomain_error(&name), None, "{name}");
    assert_eq!(dns1123_label_error(&name), None, "{name}");
    assert_eq!(name, lease_name_for_domain(text), "the name is stable");
    let subdomain = dns1123_subdomain_error(text);
    if dns1123_label_error(text).is_none() {
        assert_eq!(subdomain, None, "label {text:?} is no subdomain");
    }
}

/// Any text as a time: parsing never panics, and a time that parses writes and reads back
/// equal.
pub fn micro_time_text(text: &str) {
    if let Ok(time) = MicroTime::parse(text) {
        micro_time_value(time.unix_micros);
    }
}

/// Any microsecond count: written (when within 0000-9999) and read back equal.
pub fn micro_time_value(unix_micros: i64) {
    let time = MicroTime::from_unix_micros(unix_micros);
    if let Ok(text) = time.to_rfc3339_micros() {
        assert_eq!(MicroTime::parse(&text), Ok(time), "{text}");
    }
}

/// Any text as a base URL: parsing never panics, and a URL that parses prints as one that
/// parses to the same origin.
pub fn base_url(text: &str) {
    if let Ok(url) = BaseUrl::parse(text) {
        let printed = url.to_string();
        assert_eq!(BaseUrl::parse(&printed), Ok(url), "{printed}");
    }
}

/// Any lease duration and renew deadline for a locker: accepted exactly when the duration is
/// at least a second and the deadline is above zero and below the lease.
pub fn durations(seconds: i32, renew_deadline_ms: Option<u32>) {
    let options = LockerOptions {
        identity: Some("fuzz".into()),
        lease_duration_seconds: Some(seconds),
        renew_deadline_ms,
        ..Default::default()
    };
    let lease_ms = i64::from(seconds) * 1000;
    let renew = renew_deadline_ms.map_or((lease_ms * 2 / 3).min(u32::MAX.into()), i64::from);
    let valid = seconds >= 1 && renew > 0 && renew < lease_ms;
    match LockerConfig::resolve(options, None, 0) {
        Ok(config) => {
            assert!(valid, "accepted {seconds} s / {renew_deadline_ms:?} ms");
            assert_eq!(i64::from(config.renew_deadline_ms), renew);
        }
        Err(Error::InvalidArgument(_)) => assert!(!valid, "refused {seconds} s / {renew} ms"),
        Err(e) => panic!("{e}"),
    }
}

/// Any body and secret: after scrubbing, no 8-byte piece of the secret (the whole secret, when
/// shorter) is left in the body; checked for secrets that share no piece with the
/// `<redacted>` marker itself (tokens are base64 and JWTs).
pub fn redaction(body: &[u8], secret: &str) {
    let scrubbed = redact_bytes(body, secret);
    let piece = secret.len().min(MIN_SECRET_PIECE);
    let marker_like =
        secret.contains(['<', '>']) || REDACTED.contains(secret) || secret.contains("redacted");
    if piece > 0 && !marker_like {
        for window in secret.as_bytes().windows(piece) {
            assert!(
                !scrubbed.windows(piece).any(|w| w == window),
                "{:?} left in {:?}",
                String::from_utf8_lossy(window),
                String::from_utf8_lossy(&scrubbed)
            );
        }
    }
}
