//! The built component itself: within its size budget, and asking its host for nothing but
//! what the design names (no stdio, no sockets, no exit; randomness for jitter and identities).

use host_test::host::KUBE_LEASE_COMPONENT;
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

/// The release component's size goal (350 KiB, with the lock layer).
const SIZE_BUDGET: u64 = 358_400;

/// The interfaces a kube-lease component may import.
const ALLOWED_IMPORTS: &[&str] = &[
    "wasi:http/types@",
    "wasi:http/outgoing-handler@",
    "wasi:filesystem/types@",
    "wasi:filesystem/preopens@",
    "wasi:cli/environment@",
    "wasi:clocks/monotonic-clock@",
    "wasi:clocks/wall-clock@",
    "wasi:io/error@",
    "wasi:io/poll@",
    "wasi:io/streams@",
    "wasi:random/random@",
];

#[test]
fn the_release_component_fits_its_size_budget() {
    let size = std::fs::metadata(KUBE_LEASE_COMPONENT).unwrap().len();
    assert!(
        size <= SIZE_BUDGET,
        "{KUBE_LEASE_COMPONENT} is {size} bytes, over the {SIZE_BUDGET}-byte budget"
    );
}

#[test]
fn the_component_imports_only_http_files_environment_clocks_io_and_random() {
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config).unwrap();
    let component = Component::from_file(&engine, KUBE_LEASE_COMPONENT).unwrap();
    let ty = component.component_type();
    let imports: Vec<String> = ty
        .imports(&engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    assert!(
        imports
            .iter()
            .any(|i| i.starts_with("wasi:http/outgoing-handler@"))
    );
    for import in &imports {
        assert!(
            ALLOWED_IMPORTS.iter().any(|a| import.starts_with(a)),
            "unexpected import {import} (all: {imports:?})"
        );
    }
    let exports: Vec<String> = ty
        .exports(&engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    assert_eq!(
        exports,
        [
            "kube:lease/types@0.1.0",
            "kube:lease/leases@0.1.0",
            "kube:lease/locks@0.1.0"
        ]
    );
}
