//! Whether the toolchain that builds the component has the guest target's standard library,
//! and adding it with rustup when it has not (rustup installs it on first use only when
//! auto-install is on; without it the nested build ends in a wall of `can't find crate for core`).
//!
//! `build.rs` and the library's unit tests both include this file (`#[path]`), so the decision
//! is tested against fake sysroots without touching the machine's toolchain.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The command that installs `target` for the active toolchain.
pub fn fix_command(target: &str) -> String {
    format!("rustup target add {target}")
}

/// Where `rustc` keeps `target`'s standard library (`rustc --print target-libdir`); rustc prints
/// this path whether or not the target is installed.
///
/// # Errors
///
/// When `rustc` cannot be run or fails.
pub fn target_libdir(mut rustc: Command, target: &str) -> Result<PathBuf, String> {
    let output = rustc
        .args(["--print", "target-libdir", "--target", target])
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", rustc.get_program()))?;
    if !output.status.success() {
        return Err(format!(
            "{:?} --print target-libdir --target {target} failed ({}): {}",
            rustc.get_program(),
            output.status,
            last_line(&output.stderr)
        ));
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim_end(),
    ))
}

/// Whether `libdir` holds a standard library: a `libcore-*.rlib`.
pub fn is_installed(libdir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(libdir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        name.starts_with("libcore-") && name.ends_with(".rlib")
    })
}

/// Makes sure `target`'s standard library is in `libdir`, calling `add` (which installs it)
/// only when it is not.
///
/// # Errors
///
/// One line naming the command that fixes it, when `add` fails or leaves the library missing.
pub fn ensure(
    libdir: &Path,
    target: &str,
    add: impl FnOnce() -> Result<(), String>,
) -> Result<(), String> {
    if is_installed(libdir) {
        return Ok(());
    }
    let fix = fix_command(target);
    match add() {
        Ok(()) if is_installed(libdir) => Ok(()),
        Ok(()) => Err(format!(
            "`{fix}` succeeded but {} still has no standard library; install the {target} target for the toolchain in rust-toolchain.toml",
            libdir.display()
        )),
        Err(why) => Err(format!(
            "the {target} target is not installed and could not be added ({why}); run `{fix}`"
        )),
    }
}

/// Runs `rustup target add target` in `dir` (where rust-toolchain.toml picks the toolchain).
///
/// # Errors
///
/// When `rustup` cannot be run or fails: its last line of output.
pub fn rustup_add(mut rustup: Command, target: &str, dir: &Path) -> Result<(), String> {
    let output = rustup
        .args(["target", "add", target])
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", rustup.get_program()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?} target add {target} failed ({}): {}",
            rustup.get_program(),
            output.status,
            last_line(&output.stderr)
        ))
    }
}

/// The last non-empty line of a command's output.
fn last_line(output: &[u8]) -> String {
    String::from_utf8_lossy(output)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    const TARGET: &str = "wasm32-wasip2";

    /// The real rustc (through rustup, honouring rust-toolchain.toml) with another sysroot.
    fn rustc_with_sysroot(sysroot: &Path) -> Command {
        let mut rustc = Command::new("rustc");
        rustc.arg("--sysroot").arg(sysroot);
        rustc
    }

    /// Puts a fake standard library into `libdir`.
    fn install_into(libdir: &Path) {
        std::fs::create_dir_all(libdir).unwrap();
        std::fs::write(libdir.join("libcore-0123abcd.rlib"), b"").unwrap();
    }

    #[test]
    fn the_toolchain_building_these_tests_has_the_target() {
        // The component these tests load was built for the target, so rustc must have it.
        let libdir = target_libdir(Command::new("rustc"), TARGET).unwrap();
        assert!(
            libdir.ends_with("wasm32-wasip2/lib"),
            "{}",
            libdir.display()
        );
        assert!(is_installed(&libdir), "{}", libdir.display());
    }

    #[test]
    fn a_sysroot_without_the_target_is_detected_and_nothing_is_added_when_present() {
        let sysroot = tempfile::tempdir().unwrap();
        let libdir = target_libdir(rustc_with_sysroot(sysroot.path()), TARGET).unwrap();
        assert_eq!(libdir, sysroot.path().join("lib/rustlib/wasm32-wasip2/lib"));
        assert!(!is_installed(&libdir));
        std::fs::create_dir_all(&libdir).unwrap();
        assert!(
            !is_installed(&libdir),
            "an empty libdir is no standard library"
        );
        install_into(&libdir);
        assert!(is_installed(&libdir));
        let called = Cell::new(false);
        ensure(&libdir, TARGET, || {
            called.set(true);
            Ok(())
        })
        .unwrap();
        assert!(!called.get(), "add ran although the target was installed");
    }

    #[test]
    fn a_missing_target_is_added() {
        let sysroot = tempfile::tempdir().unwrap();
        let libdir = target_libdir(rustc_with_sysroot(sysroot.path()), TARGET).unwrap();
        ensure(&libdir, TARGET, || {
            install_into(&libdir);
            Ok(())
        })
        .unwrap();
        assert!(is_installed(&libdir));
    }

    #[test]
    fn a_target_that_cannot_be_added_stops_with_one_line_naming_the_fix() {
        let sysroot = tempfile::tempdir().unwrap();
        let libdir = sysroot.path().join("lib/rustlib/wasm32-wasip2/lib");
        let missing = sysroot.path().join("no-such-rustup");
        let e = ensure(&libdir, TARGET, || {
            rustup_add(Command::new(&missing), TARGET, sysroot.path())
        })
        .unwrap_err();
        assert!(e.contains("run `rustup target add wasm32-wasip2`"), "{e}");
        assert!(
            e.contains("cannot run") && e.contains("no-such-rustup"),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn a_failing_rustup_is_reported_by_its_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut sh = Command::new("sh");
        sh.args([
            "-c",
            "echo info: syncing >&2; echo 'error: could not download' >&2; exit 1",
            "rustup",
        ]);
        let e = rustup_add(sh, TARGET, dir.path()).unwrap_err();
        assert!(e.ends_with("error: could not download"), "{e}");
    }

    #[test]
    fn an_add_that_leaves_the_library_missing_is_an_error() {
        let sysroot = tempfile::tempdir().unwrap();
        let libdir = sysroot.path().join("lib/rustlib/wasm32-wasip2/lib");
        let e = ensure(&libdir, TARGET, || Ok(())).unwrap_err();
        assert!(e.contains("still has no standard library"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn a_rustc_that_cannot_run_is_an_error() {
        let e = target_libdir(Command::new("/nonexistent/rustc"), TARGET).unwrap_err();
        assert!(e.contains("/nonexistent/rustc"), "{e}");
    }
}
