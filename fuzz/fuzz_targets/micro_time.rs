//! Any text as a time, and the first eight bytes as microseconds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kube_lease_client::fuzzing::micro_time_text(&String::from_utf8_lossy(data));
    if let Some(micros) = data.first_chunk::<8>() {
        kube_lease_client::fuzzing::micro_time_value(i64::from_le_bytes(*micros));
    }
});
