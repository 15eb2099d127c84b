//! Any text as an apiserver base URL.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kube_lease_client::fuzzing::base_url(&String::from_utf8_lossy(data));
});
