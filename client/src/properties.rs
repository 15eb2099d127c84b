//! Property tests (proptest) over names, namespaces, durations, times, base URLs, Lease JSON,
//! Status bodies, watch streams and redaction: they drive the `cargo fuzz` bodies in
//! [`crate::fuzzing`] with arbitrary and with nearly-valid input, so stable CI runs them.

use crate::prelude::*;

use alloc::collections::BTreeMap;

use proptest::prelude::*;

use crate::encode;
use crate::fuzzing;
use crate::lease::{Entry, Lease, LeaseSpec};
use crate::micro_time::MicroTime;
use crate::names::{dns1123_label_error, dns1123_subdomain_error};

/// Cases per property: enough to find the shallow bugs on every run, small enough that all of
/// them take a few seconds.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Any text, or text made of what names and JSON are made of.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z0-9.\"\\\\<>&-]{0,24}"]
}

/// Label or annotation maps: unique keys.
fn entries() -> impl Strategy<Value = Vec<Entry>> {
    proptest::collection::btree_map(text(), text(), 0..4)
        .prop_map(|m: BTreeMap<String, String>| m.into_iter().collect())
}

/// A time, anywhere an i64 of microseconds reaches (most are outside 0000-9999).
fn time() -> impl Strategy<Value = Option<MicroTime>> {
    proptest::option::of(prop_oneof![
        any::<i64>(),
        -62_167_219_200_000_000i64..253_402_300_799_999_999
    ])
    .prop_map(|t| t.map(MicroTime::from_unix_micros))
}

/// Any Lease the client can hold.
fn lease() -> impl Strategy<Value = Lease> {
    let spec = (
        proptest::option::of(text()),
        proptest::option::of(any::<i32>()),
        time(),
        time(),
        proptest::option::of(any::<i32>()),
        proptest::option::of(text()),
        proptest::option::of(text()),
    )
        .prop_map(
            |(holder, duration, acquire, renew, transitions, strategy, preferred)| LeaseSpec {
                holder_identity: holder,
                lease_duration_seconds: duration,
                acquire_time: acquire,
                renew_time: renew,
                lease_transitions: transitions,
                strategy,
                preferred_holder: preferred,
            },
        );
    let meta = (
        text(),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::option::of(text()),
        time(),
        entries(),
        entries(),
    );
    (meta, spec).prop_map(
        |((name, namespace, resource_version, uid, created, labels, annotations), spec)| Lease {
            name,
            namespace,
            resource_version,
            uid,
            creation_timestamp: created,
            labels,
            annotations,
            spec,
        },
    )
}

/// A valid DNS-1123 label.
fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn lease_names_are_valid_for_any_domain(domain in text()) {
        fuzzing::names(&domain);
    }

    #[test]
    fn valid_labels_and_their_dotted_joins_stay_valid(labels in proptest::collection::vec(label(), 1..4)) {
        for l in &labels {
            prop_assert_eq!(dns1123_label_error(l), None);
            fuzzing::names(l);
        }
        let name = labels.join(".");
        prop_assert_eq!(dns1123_subdomain_error(&name).is_none(), name.len() <= 253);
        // One character outside the alphabet makes any of them invalid.
        let bad = format!("{name}_");
        prop_assert!(dns1123_subdomain_error(&bad).is_some());
        prop_assert!(dns1123_label_error(&bad).is_some());
    }

    #[test]
    fn durations_are_accepted_exactly_when_the_rules_allow(
        seconds in prop_oneof![any::<i32>(), -2i32..700],
        renew in proptest::option::of(prop_oneof![any::<u32>(), 0u32..700_000]),
    ) {
        fuzzing::durations(seconds, renew);
    }

    #[test]
    fn times_round_trip(micros in any::<i64>(), text in text()) {
        fuzzing::micro_time_value(micros);
        fuzzing::micro_time_text(&text);
    }

    #[test]
    fn rfc3339_like_text_never_panics_and_round_trips(
        text in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,12})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
    ) {
        fuzzing::micro_time_text(&text);
    }

    #[test]
    fn base_urls_never_panic_and_print_as_they_parse(
        text in prop_oneof![any::<String>(), "(https?|HTTP|ftp)://[a-z0-9.:\\[\\]@/?#%-]{0,30}"]
    ) {
        fuzzing::base_url(&text);
    }

    #[test]
    fn any_lease_written_reads_back(lease in lease()) {
        fuzzing::lease_round_trip(&lease);
    }

    #[test]
    fn any_bytes_and_damaged_leases_decode_without_panic(
        lease in lease(),
        damage in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        noise in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        fuzzing::lease_json(&noise);
        if let Ok(mut body) = encode::lease_body(&lease) {
            fuzzing::lease_json(&body);
            for (at, byte) in damage {
                let at = at.index(body.len());
                body[at] = byte;
            }
            fuzzing::lease_json(&body);
        }
    }

    #[test]
    fn failure_bodies_are_always_api_errors(
        code in prop_oneof![300u16..600, any::<u16>()],
        retry_after in proptest::option::of(prop_oneof![any::<String>(), "[0-9 -]{0,12}"]),
        message in text(),
        reason in text(),
        retry in any::<i64>(),
        noise in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        fuzzing::status_body(code, retry_after.as_deref(), &noise);
        let status = serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
            "message": message, "reason": reason,
            "details": {"retryAfterSeconds": retry, "causes": [{"message": message, "field": reason}]},
        });
        fuzzing::status_body(code, retry_after.as_deref(), status.to_string().as_bytes());
    }

    #[test]
    fn watch_streams_never_panic(
        kinds in proptest::collection::vec(
            prop_oneof![Just("ADDED"), Just("MODIFIED"), Just("DELETED"), Just("BOOKMARK"), Just("ERROR"), Just("?")],
            0..4,
        ),
        lease in lease(),
        noise in proptest::collection::vec(any::<u8>(), 0..256),
        chunk in 1usize..64,
    ) {
        fuzzing::watch_stream(&noise, chunk);
        let object = encode::lease_body(&lease).unwrap_or_else(|_| b"{}".to_vec());
        let object = String::from_utf8(object).unwrap();
        let mut stream = String::new();
        for kind in kinds {
            stream.push_str(&format!("{{\"type\":\"{kind}\",\"object\":{object}}}\n"));
        }
        fuzzing::watch_stream(stream.as_bytes(), chunk);
    }

    #[test]
    fn no_piece_of_a_secret_survives_redaction(
        secret in prop_oneof!["[A-Za-z0-9._-]{1,64}", any::<String>()],
        before in any::<String>(),
        after in any::<String>(),
        cut in any::<prop::sample::Index>(),
        len in 1usize..32,
    ) {
        let from = cut.index(secret.len().max(1));
        let part = secret.get(from..(from + len).min(secret.len())).unwrap_or(&secret);
        let body = format!("{before}{secret}{after} {part} {before}");
        fuzzing::redaction(body.as_bytes(), &secret);
    }
}
