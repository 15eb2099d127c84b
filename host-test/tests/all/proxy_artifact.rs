//! The built HTTP lock service component: within its size budget, exporting only the incoming
//! handler, and linkable exactly where Spin's HTTP trigger and `wasmtime serve -S cli` link it.

use std::sync::OnceLock;

use host_test::host::{HostState, KUBE_LEASE_PROXY_COMPONENT};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

/// The release proxy component's size goal (350 KiB, as the component's).
const SIZE_BUDGET: u64 = 358_400;

/// The proxy compiled once for these tests (Cranelift in a debug build takes seconds).
fn compiled() -> &'static (Engine, Component) {
    static COMPILED: OnceLock<(Engine, Component)> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let mut config = Config::new();
        config.wasm_component_model(true);
        let engine = Engine::new(&config).unwrap();
        let component = Component::from_file(&engine, KUBE_LEASE_PROXY_COMPONENT).unwrap();
        (engine, component)
    })
}

#[test]
fn the_release_proxy_component_fits_its_size_budget() {
    let size = std::fs::metadata(KUBE_LEASE_PROXY_COMPONENT).unwrap().len();
    assert!(
        size <= SIZE_BUDGET,
        "{KUBE_LEASE_PROXY_COMPONENT} is {size} bytes, over the {SIZE_BUDGET}-byte budget"
    );
}

#[test]
fn the_proxy_exports_only_the_incoming_handler() {
    let (engine, component) = compiled();
    let exports: Vec<String> = component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    assert_eq!(exports.len(), 1, "{exports:?}");
    assert!(
        exports[0].starts_with("wasi:http/incoming-handler@0.2."),
        "{exports:?}"
    );
}

/// Spin's HTTP trigger world (`fermyon:spin/http-trigger`) is `wasi:cli/imports` plus
/// `wasi:http/outgoing-handler`, exporting `wasi:http/incoming-handler`; `wasmtime serve -S cli`
/// links the same. The proxy must instantiate there, as a `ProxyPre`.
#[test]
fn the_proxy_links_against_wasi_cli_imports_and_outgoing_http_as_spin_provides() {
    let (engine, component) = compiled();
    let mut linker = Linker::<HostState>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).unwrap();
    let pre = linker.instantiate_pre(component).unwrap();
    ProxyPre::new(pre).expect("exports wasi:http/incoming-handler with `handle`");
}

/// The bare `wasi:http/proxy` world has no environment and no files, which the service reads
/// its configuration and service account from: hence `-S cli` for `wasmtime serve`.
#[test]
fn the_bare_proxy_world_is_not_enough_the_service_needs_environment_and_files() {
    let (engine, component) = compiled();
    let mut linker = Linker::<HostState>::new(engine);
    wasmtime_wasi_http::p2::add_to_linker_async(&mut linker).unwrap();
    let refused = linker.instantiate_pre(component).err().unwrap();
    let message = format!("{refused:#}");
    assert!(
        message.contains("wasi:cli/environment") || message.contains("wasi:filesystem"),
        "{message}"
    );
}
