//! The `--faults SPEC` grammar of `host-test apiserver`: a comma-separated list of rules, each
//! a fault kind followed by `:`-separated options.
//!
//! ```text
//! 503:p=0.05,429-text:p=0.02:retry-after=1,reset-after:verb=update:p=0.01,watch-cut:p=0.1
//! ```

use super::faults::{Fault, FaultRule};

/// The grammar, for usage text.
pub const FAULT_SPEC_HELP: &str = "\
SPEC is RULE[,RULE...]; RULE is KIND[:OPTION...] with exactly one trigger, p=P (each
matching request with probability P, 0..1) or n=N (the next N matching requests), and
optionally verb=VERB (get|list|watch|create|update|patch|delete) and name=LEASE.
KIND: 500 | 503 | 429 | 429-text (both take retry-after=S, default 1) | 504 |
reset-before | reset-after | hang | slow (delay-ms=MS, default 100) | cut-body |
malformed-json | oversized (bytes=N, default 2097152) | watch-cut | watch-silent |
watch-expired; the kind names faults_fired prints are accepted too.
Example: 503:p=0.05,429-text:p=0.02:retry-after=1,reset-after:verb=update:p=0.01";

/// The verbs a rule may name.
const VERBS: [&str; 7] = [
    "get", "list", "watch", "create", "update", "patch", "delete",
];

/// Parses a fault spec into rules, in order.
///
/// # Errors
/// A message naming the rule (by position and text) and what is wrong with it.
pub fn parse_fault_spec(spec: &str) -> Result<Vec<FaultRule>, String> {
    spec.split(',')
        .enumerate()
        .map(|(i, item)| {
            parse_rule(item.trim()).map_err(|e| format!("fault rule {} {item:?}: {e}", i + 1))
        })
        .collect()
}

/// Options of one rule, as given.
#[derive(Default)]
struct Options {
    p: Option<f64>,
    n: Option<usize>,
    verb: Option<String>,
    name: Option<String>,
    retry_after: Option<u32>,
    delay_ms: Option<u64>,
    bytes: Option<usize>,
}

fn parse_rule(item: &str) -> Result<FaultRule, String> {
    let mut parts = item.split(':');
    let kind = parts.next().unwrap_or_default().trim();
    if kind.is_empty() {
        return Err("empty rule".to_owned());
    }
    let mut o = Options::default();
    for option in parts {
        parse_option(option.trim(), &mut o)?;
    }
    let fault = fault(kind, &o)?;
    let rule = match (o.p, o.n) {
        (Some(p), None) => FaultRule::chance(p, fault),
        (None, Some(n)) => FaultRule::next(n, fault),
        _ => return Err("needs exactly one of p=P and n=N".to_owned()),
    };
    let rule = match o.verb {
        Some(verb) => rule.on_verb(&verb),
        None => rule,
    };
    Ok(match o.name {
        Some(name) => rule.on_name(&name),
        None => rule,
    })
}

fn parse_option(option: &str, o: &mut Options) -> Result<(), String> {
    let (key, value) = option
        .split_once('=')
        .ok_or_else(|| format!("option {option:?} is not KEY=VALUE"))?;
    let bad = |what: &str| format!("{key}={value:?} is not {what}");
    match key {
        "p" => {
            let p = value
                .parse::<f64>()
                .ok()
                .filter(|p| (0.0..=1.0).contains(p));
            o.p = Some(p.ok_or_else(|| bad("a probability between 0 and 1"))?);
        }
        "n" => o.n = Some(value.parse().map_err(|_| bad("a count"))?),
        "verb" if VERBS.contains(&value) => o.verb = Some(value.to_owned()),
        "verb" => return Err(bad("a verb (get|list|watch|create|update|patch|delete)")),
        "name" if !value.is_empty() => o.name = Some(value.to_owned()),
        "name" => return Err(bad("a lease name")),
        "retry-after" => o.retry_after = Some(value.parse().map_err(|_| bad("seconds"))?),
        "delay-ms" => o.delay_ms = Some(value.parse().map_err(|_| bad("milliseconds"))?),
        "bytes" => o.bytes = Some(value.parse().map_err(|_| bad("a size in bytes"))?),
        _ => return Err(format!("unknown option {key:?}")),
    }
    Ok(())
}

/// The fault `kind` names, with its options.
fn fault(kind: &str, o: &Options) -> Result<Fault, String> {
    let retry_after_s = o.retry_after.unwrap_or(1);
    let fault = match kind {
        "500" | "internal-error" => Fault::InternalError,
        "503" | "unavailable" => Fault::Unavailable,
        "429" | "too-many-requests" => Fault::TooManyRequests {
            retry_after_s,
            plain_text: false,
        },
        "429-text" | "too-many-requests-text" => Fault::TooManyRequests {
            retry_after_s,
            plain_text: true,
        },
        "504" | "server-timeout" => Fault::ServerTimeout,
        "reset-before" | "reset-before-apply" => Fault::ResetBeforeApply,
        "reset-after" | "reset-after-apply" => Fault::ResetAfterApply,
        "hang" => Fault::Hang,
        "slow" | "slow-body" => Fault::SlowBody {
            chunk_delay_ms: o.delay_ms.unwrap_or(100),
        },
        "cut-body" => Fault::CutBody,
        "malformed-json" => Fault::MalformedJson,
        "oversized" | "oversized-body" => Fault::OversizedBody {
            bytes: o.bytes.unwrap_or(2 * 1024 * 1024),
        },
        "watch-cut" => Fault::WatchCut,
        "watch-silent" => Fault::WatchSilent,
        "watch-expired" => Fault::WatchExpired,
        _ => return Err(format!("unknown fault kind {kind:?}")),
    };
    let takes = |key: &str| match key {
        "retry-after" => matches!(fault, Fault::TooManyRequests { .. }),
        "delay-ms" => matches!(fault, Fault::SlowBody { .. }),
        _ => matches!(fault, Fault::OversizedBody { .. }),
    };
    for (key, given) in [
        ("retry-after", o.retry_after.is_some()),
        ("delay-ms", o.delay_ms.is_some()),
        ("bytes", o.bytes.is_some()),
    ] {
        if given && !takes(key) {
            return Err(format!("{kind} takes no {key}="));
        }
    }
    Ok(fault)
}

#[cfg(test)]
mod tests;
