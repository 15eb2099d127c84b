//! Any secret (its length in the first byte) and body: no piece of the secret survives.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let [n, rest @ ..] = data {
        let (secret, body) = rest.split_at(usize::from(*n).min(rest.len()));
        kube_lease_client::fuzzing::redaction(body, &String::from_utf8_lossy(secret));
    }
});
