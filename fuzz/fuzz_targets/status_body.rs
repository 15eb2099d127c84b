//! Any status code, `Retry-After` and failure body: two bytes of code, one of header length.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let [hi, lo, n, rest @ ..] = data {
        let (header, body) = rest.split_at(usize::from(*n).min(rest.len()));
        let header = String::from_utf8_lossy(header);
        let code = u16::from_be_bytes([*hi, *lo]);
        kube_lease_client::fuzzing::status_body(code, Some(&header), body);
        kube_lease_client::fuzzing::status_body(code, None, body);
    }
});
