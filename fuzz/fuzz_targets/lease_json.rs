//! Any bytes as a Lease / LeaseList body.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kube_lease_client::fuzzing::lease_json(data));
