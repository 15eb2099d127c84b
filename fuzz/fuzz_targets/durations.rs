//! Any lease duration (four bytes) and renew deadline (a flag and four bytes).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let [a, b, c, d, rest @ ..] = data {
        let seconds = i32::from_le_bytes([*a, *b, *c, *d]);
        let renew = match rest {
            [flag, e, f, g, h, ..] if flag % 2 == 1 => Some(u32::from_le_bytes([*e, *f, *g, *h])),
            _ => None,
        };
        kube_lease_client::fuzzing::durations(seconds, renew);
    }
});
