//! Builds the two guests for `wasm32-wasip2` with one nested `cargo build`: the kube-lease
//! component (the workspace root crate) and the HTTP lock service (`proxy/`), and writes their
//! absolute paths to `OUT_DIR/component.rs`.
//!
//! The nested build gets its own target directory under `OUT_DIR`, so it never waits on the lock
//! the outer cargo holds. Variables the outer cargo (or clippy, or a coverage tool) sets for this
//! build script are removed so they neither break the wasm build nor cascade into it.
//!
//! Set `KUBE_LEASE_COMPONENT` and `KUBE_LEASE_PROXY_COMPONENT` to the paths of already built
//! guests to skip the nested build (for CI that builds them once, or while a guest does not
//! compile); a guest without its variable is built.
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

/// The workspace profile the guests are built with (size-tuned; see the root `Cargo.toml`).
const PROFILE: &str = "component";

/// One guest crate of the workspace.
struct Guest {
    /// Its package name.
    package: &'static str,
    /// The file name cargo gives its cdylib.
    artifact: &'static str,
    /// The constant `component.rs` defines with its path, and the variable that overrides it.
    name: &'static str,
    /// What the constant's doc comment calls it.
    what: &'static str,
}

const GUESTS: [Guest; 2] = [
    Guest {
        package: "kube-lease",
        artifact: "kube_lease.wasm",
        name: "KUBE_LEASE_COMPONENT",
        what: "the kube-lease component",
    },
    Guest {
        package: "kube-lease-proxy",
        artifact: "kube_lease_proxy.wasm",
        name: "KUBE_LEASE_PROXY_COMPONENT",
        what: "the HTTP lock service (a `wasi:http/proxy` component)",
    },
];

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
    let overrides: Vec<Option<PathBuf>> = GUESTS
        .iter()
        .map(|guest| {
            println!("cargo:rerun-if-env-changed={}", guest.name);
            env::var_os(guest.name)
                .filter(|path| !path.is_empty())
                .map(PathBuf::from)
        })
        .collect();

    let to_build: Vec<&Guest> = GUESTS
        .iter()
        .zip(&overrides)
        .filter(|(_, path)| path.is_none())
        .map(|(guest, _)| guest)
        .collect();
    if !to_build.is_empty()
        && let Err(line) = ensure_guest_target(&workspace)
    {
        println!("cargo::error={line}");
        return;
    }
    let built = build_guests(&workspace, &out_dir, &to_build);

    let mut generated = String::new();
    for (guest, path) in GUESTS.iter().zip(overrides) {
        let path = match path {
            Some(path) => {
                println!("cargo:rerun-if-changed={}", path.display());
                path
            }
            None => built.join(guest.artifact),
        };
        let path = path.canonicalize().unwrap_or(path);
        generated.push_str(&format!(
            "/// Absolute path of {} built for `{TARGET}` by `build.rs`.\n\
             pub const {}: &str = {:?};\n",
            guest.what,
            guest.name,
            path.display().to_string()
        ));
    }
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

/// Runs the nested `cargo build` of `guests` (if any) and returns the directory holding them.
fn build_guests(workspace: &Path, out_dir: &Path, guests: &[&Guest]) -> PathBuf {
    let target_dir = out_dir.join("guest-target");
    let built = target_dir.join(TARGET).join(PROFILE);
    if guests.is_empty() {
        return built;
    }
    // `.cargo/config.toml` sets the guests' link flags (their stack size).
    for input in [
        "src",
        "wit",
        "client",
        "proxy",
        "Cargo.toml",
        "Cargo.lock",
        ".cargo",
    ] {
        println!("cargo:rerun-if-changed={}", workspace.join(input).display());
    }

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    scrub_env(&mut cmd);
    cmd.arg("build")
        .arg("--profile")
        .arg(PROFILE)
        .arg("--target")
        .arg(TARGET);
    for guest in guests {
        cmd.arg("--package").arg(guest.package);
    }
    cmd.arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_BUILD_BUILD_DIR", &target_dir);

    eprintln!("running: {cmd:?}");
    let output = cmd.output().expect("spawn the nested cargo build");
    if !output.status.success() {
        panic!(
            "nested build of the guests failed ({}):\n{cmd:?}\n--- stdout\n{}\n--- stderr\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }

    for guest in guests {
        let artifact = built.join(guest.artifact);
        assert!(
            artifact.is_file(),
            "the nested build succeeded but {} is missing",
            artifact.display()
        );
        emit_dep_info(
            &built.join(guest.artifact.replace(".wasm", ".d")),
            workspace,
        );
    }
    built
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
