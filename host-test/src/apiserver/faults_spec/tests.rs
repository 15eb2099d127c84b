//! The `--faults` grammar: each kind and option, and errors that name the bad rule.

use super::super::faults::{Fault, FaultRule};
use super::parse_fault_spec;

#[test]
fn the_documented_example_parses_to_its_rules() {
    let rules = parse_fault_spec(
        "503:p=0.05,429-text:p=0.02:retry-after=1,reset-after:verb=update:p=0.01,watch-cut:p=0.1",
    )
    .expect("parses");
    assert_eq!(
        rules,
        vec![
            FaultRule::chance(0.05, Fault::Unavailable),
            FaultRule::chance(
                0.02,
                Fault::TooManyRequests {
                    retry_after_s: 1,
                    plain_text: true
                }
            ),
            FaultRule::chance(0.01, Fault::ResetAfterApply).on_verb("update"),
            FaultRule::chance(0.1, Fault::WatchCut),
        ]
    );
}

#[test]
fn every_kind_parses_by_its_short_name_and_by_its_counted_name() {
    let cases = [
        ("500", Fault::InternalError),
        ("503", Fault::Unavailable),
        (
            "429",
            Fault::TooManyRequests {
                retry_after_s: 1,
                plain_text: false,
            },
        ),
        (
            "429-text",
            Fault::TooManyRequests {
                retry_after_s: 1,
                plain_text: true,
            },
        ),
        ("504", Fault::ServerTimeout),
        ("reset-before", Fault::ResetBeforeApply),
        ("reset-after", Fault::ResetAfterApply),
        ("hang", Fault::Hang),
        (
            "slow",
            Fault::SlowBody {
                chunk_delay_ms: 100,
            },
        ),
        ("cut-body", Fault::CutBody),
        ("malformed-json", Fault::MalformedJson),
        (
            "oversized",
            Fault::OversizedBody {
                bytes: 2 * 1024 * 1024,
            },
        ),
        ("watch-cut", Fault::WatchCut),
        ("watch-silent", Fault::WatchSilent),
        ("watch-expired", Fault::WatchExpired),
    ];
    for (short, fault) in cases {
        let want = vec![FaultRule::next(2, fault.clone())];
        assert_eq!(parse_fault_spec(&format!("{short}:n=2")), Ok(want.clone()));
        let counted = format!("{}:n=2", fault.kind());
        assert_eq!(parse_fault_spec(&counted), Ok(want), "{counted}");
    }
}

#[test]
fn options_set_the_fault_parameters_verb_and_name() {
    let rules = parse_fault_spec(
        "429:n=3:retry-after=7:name=lock-a, slow:p=1:delay-ms=5:verb=get,oversized:p=0:bytes=10",
    )
    .expect("parses");
    assert_eq!(
        rules,
        vec![
            FaultRule::next(
                3,
                Fault::TooManyRequests {
                    retry_after_s: 7,
                    plain_text: false
                }
            )
            .on_name("lock-a"),
            FaultRule::chance(1.0, Fault::SlowBody { chunk_delay_ms: 5 }).on_verb("get"),
            FaultRule::chance(0.0, Fault::OversizedBody { bytes: 10 }),
        ]
    );
}

/// The error for `spec`, which must not parse.
fn error(spec: &str) -> String {
    parse_fault_spec(spec).expect_err(spec)
}

#[test]
fn errors_name_the_bad_rule_and_what_is_wrong() {
    let cases = [
        (
            "503:p=0.1,teapot:p=1",
            "fault rule 2 \"teapot:p=1\": unknown fault kind \"teapot\"",
        ),
        (
            "503",
            "fault rule 1 \"503\": needs exactly one of p=P and n=N",
        ),
        ("503:p=0.1:n=2", "needs exactly one of p=P and n=N"),
        (
            "503:p=1.5",
            "p=\"1.5\" is not a probability between 0 and 1",
        ),
        ("503:p=x", "p=\"x\" is not a probability between 0 and 1"),
        ("503:n=-1", "n=\"-1\" is not a count"),
        ("503:n=1:verb=watc", "verb=\"watc\" is not a verb"),
        ("503:n=1:name=", "name=\"\" is not a lease name"),
        ("503:n=1:colour=red", "unknown option \"colour\""),
        ("503:n=1:p", "option \"p\" is not KEY=VALUE"),
        ("503:n=1:retry-after=2", "503 takes no retry-after="),
        ("hang:n=1:bytes=2", "hang takes no bytes="),
        (
            "429:n=1:retry-after=soon",
            "retry-after=\"soon\" is not seconds",
        ),
        ("503:n=1,,", "fault rule 2 \"\": empty rule"),
    ];
    for (spec, want) in cases {
        let got = error(spec);
        assert!(got.contains(want), "{spec}: {got}");
        assert!(got.starts_with("fault rule "), "{spec}: {got}");
    }
}
