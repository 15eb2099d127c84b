//! Any text as a domain, lease name and namespace.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kube_lease_client::fuzzing::names(&String::from_utf8_lossy(data));
});
