//! Builds the kube-lease component (the workspace root crate) for `wasm32-wasip2` with a nested
//! `cargo build`, and writes its absolute path to `OUT_DIR/component.rs`.
//!
//! The nested build gets its own target directory under `OUT_DIR`, so it never waits on the lock
//! the outer cargo holds. Variables the outer cargo (or clippy, or a coverage tool) sets for this
//! build script are removed so they neither break the wasm build nor cascade into it.
//!
//! Set `KUBE_LEASE_COMPONENT` to the path of an already built component to skip the nested build
//! (for CI that builds the component once, or while the guest does not compile).
//!
//! Before the nested build it checks that the toolchain has the `wasm32-wasip2` standard library
//! and, where rustup did not install it on first use, runs `rustup target add wasm32-wasip2`; if
//! that fails the build stops with one line naming that command (`build/wasm_target.rs`).

#[path = "build/wasm_target.rs"]
mod wasm_target;

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The guest target triple.
const TARGET: &str = "wasm32-wasip2";
/// The guest package in the workspace.
const PACKAGE: &str = "kube-lease";
/// The file name cargo gives the guest's cdylib.
const ARTIFACT: &str = "kube_lease.wasm";
/// Environment override: use this component instead of building one.
const OVERRIDE_VAR: &str = "KUBE_LEASE_COMPONENT";

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let workspace = manifest_dir
        .parent()
        .expect("host-test lives inside the workspace")
        .to_path_buf();

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build");
    println!("cargo:rerun-if-env-changed={OVERRIDE_VAR}");

    let component = match env::var_os(OVERRIDE_VAR) {
        Some(path) if !path.is_empty() => {
            let path = PathBuf::from(path);
            println!("cargo:rerun-if-changed={}", path.display());
            path
        }
        _ => {
            if let Err(line) = ensure_guest_target(&workspace) {
                println!("cargo::error={line}");
                return;
            }
            build_component(&workspace, &out_dir)
        }
    };

    let component = component
        .canonicalize()
        .unwrap_or_else(|_| component.clone());
    let generated = format!(
        "/// Absolute path of the kube-lease component built for `{TARGET}` by `build.rs`.\n\
         pub const KUBE_LEASE_COMPONENT: &str = {:?};\n",
        component.display().to_string()
    );
    fs::write(out_dir.join("component.rs"), generated).expect("write OUT_DIR/component.rs");
}

/// Makes sure the toolchain has the guest target, adding it with rustup if it has not.
fn ensure_guest_target(workspace: &Path) -> Result<(), String> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let libdir = wasm_target::target_libdir(Command::new(rustc), TARGET)?;
    wasm_target::ensure(&libdir, TARGET, || {
        println!(
            "cargo::warning=the {TARGET} target is not installed; running `{}`",
            wasm_target::fix_command(TARGET)
        );
        wasm_target::rustup_add(Command::new("rustup"), TARGET, workspace)
    })
}

/// Runs the nested `cargo build` and returns the path of the built component.
fn build_component(workspace: &Path, out_dir: &Path) -> PathBuf {
    for input in ["src", "wit", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", workspace.join(input).display());
    }

    let target_dir = out_dir.join("guest-target");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    scrub_env(&mut cmd);
    cmd.arg("build")
        .arg("--release")
        .arg("--target")
        .arg(TARGET)
        .arg("--package")
        .arg(PACKAGE)
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_BUILD_BUILD_DIR", &target_dir);

    eprintln!("running: {cmd:?}");
    let output = cmd.output().expect("spawn the nested cargo build");
    if !output.status.success() {
        panic!(
            "nested build of the {PACKAGE} component failed ({}):\n{cmd:?}\n--- stdout\n{}\n--- stderr\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }

    let release = target_dir.join(TARGET).join("release");
    let component = release.join(ARTIFACT);
    assert!(
        component.is_file(),
        "the nested build succeeded but {} is missing",
        component.display()
    );
    emit_dep_info(&release.join(ARTIFACT.replace(".wasm", ".d")), workspace);
    component
}

/// Removes variables describing this build script's native build; call it before setting the guest's own.
fn scrub_env(cmd: &mut Command) {
    const EXACT: &[&str] = &[
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CLIPPY_ARGS",
        "CLIPPY_CONF_DIR",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_CRATE_NAME",
        "CARGO_TARGET_DIR",
        "CARGO_LLVM_COV",
        "LLVM_PROFILE_FILE",
        "TARGET",
        "HOST",
        "OPT_LEVEL",
        "PROFILE",
        "DEBUG",
        "OUT_DIR",
        "NUM_JOBS",
    ];
    const PREFIXES: &[&str] = &[
        "CARGO_CFG_",
        "CARGO_FEATURE_",
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_PROFILE_",
        "CARGO_BUILD_",
        "CARGO_TARGET_",
        "CARGO_BIN_",
        "DEP_",
    ];
    for name in EXACT {
        cmd.env_remove(name);
    }
    for (name, _) in env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if PREFIXES.iter().any(|p| name.starts_with(p)) {
            cmd.env_remove(name);
        }
    }
}

/// Turns the guest's dep-info file into `rerun-if-changed` lines for files in the workspace.
fn emit_dep_info(dep_info: &Path, workspace: &Path) {
    let Ok(text) = fs::read_to_string(dep_info) else {
        return;
    };
    let Some((_, deps)) = text.lines().next().and_then(|l| l.split_once(": ")) else {
        return;
    };
    // Paths are space separated, with spaces inside a path escaped as `\ `.
    let mut current = String::new();
    let mut paths = Vec::new();
    let mut chars = deps.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                current.push(' ');
                chars.next();
            }
            ' ' => paths.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    paths.push(current);
    for path in paths.into_iter().filter(|p| !p.is_empty()) {
        if Path::new(&path).starts_with(workspace) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
