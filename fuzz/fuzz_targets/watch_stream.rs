//! Any bytes as a watch stream, arriving in chunks of the first byte's size.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let [chunk, rest @ ..] = data {
        kube_lease_client::fuzzing::watch_stream(rest, usize::from(*chunk));
    }
});
