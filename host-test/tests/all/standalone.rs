//! The standalone emulator (`host-test apiserver`) as a user runs it: the token, kubeconfig
//! and CA files are private (0600, directories 0700) and go where the user said, or into a
//! fresh private temporary directory that SIGTERM cleans up, never to a fixed `/tmp` path;
//! `--proxy-port` adds the plain-http listener kubectl uses without credentials.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support::kubectl;

/// A generous bound that only proves "starts" or "stops", never a timing.
const NEVER_HANGS: Duration = Duration::from_secs(60);

fn host_test() -> Command {
    Command::new(env!("CARGO_BIN_EXE_host-test"))
}

/// The rest of a child's stdout.
type Stdout = tokio::io::Lines<BufReader<tokio::process::ChildStdout>>;

/// Starts `host-test apiserver ARGS`; returns it with its stdout up to "serving until".
async fn start(args: &[&str]) -> (Child, Vec<String>) {
    let (child, out, _) = start_reading(args).await;
    (child, out)
}

/// [`start`], with the rest of its stdout to read (it must be read: a closed stdout fails the
/// server's last words).
async fn start_reading(args: &[&str]) -> (Child, Vec<String>, Stdout) {
    let mut child = host_test()
        .arg("apiserver")
        .args(args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn host-test apiserver");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut out = Vec::new();
    tokio::time::timeout(NEVER_HANGS, async {
        while let Some(line) = lines.next_line().await.expect("stdout") {
            let serving = line.starts_with("serving until");
            out.push(line);
            if serving {
                break;
            }
        }
    })
    .await
    .expect("the emulator starts");
    assert!(
        out.last().is_some_and(|l| l.starts_with("serving until")),
        "{out:?}"
    );
    (child, out, lines)
}

/// Stops it with SIGTERM, as a service manager would, and expects a clean exit.
async fn stop(mut child: Child) {
    let pid = child.id().expect("running").to_string();
    let kill = Command::new("kill").args(["-TERM", &pid]).status().await;
    assert!(kill.expect("kill").success());
    let exit = tokio::time::timeout(NEVER_HANGS, child.wait()).await;
    let exit = exit.expect("exits on SIGTERM").expect("wait");
    assert!(exit.success(), "{exit}");
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The path printed after `prefix` in the emulator's output.
fn printed(out: &[String], prefix: &str) -> PathBuf {
    let line = out.iter().find_map(|l| l.strip_prefix(prefix));
    PathBuf::from(line.unwrap_or_else(|| panic!("no {prefix:?} in {out:?}")))
}

#[tokio::test]
async fn files_go_private_into_the_directories_the_user_named() {
    let root = tempfile::tempdir().unwrap();
    let kubeconfig = root.path().join("kube/config");
    let sa = root.path().join("sa/replica");
    let (child, out) = start(&[
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--sa-dir",
        sa.to_str().unwrap(),
        "--namespace",
        "netbird",
        "--history",
        "5",
    ])
    .await;
    assert_eq!(printed(&out, "kubeconfig: "), kubeconfig);
    assert_eq!(printed(&out, "service-account directory: "), sa);
    for dir in ["kube", "sa", "sa/replica"] {
        assert_eq!(mode(&root.path().join(dir)), 0o700, "{dir}");
    }
    for file in [
        &kubeconfig,
        &sa.join("token"),
        &sa.join("ca.crt"),
        &sa.join("namespace"),
    ] {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    assert!(
        !out.iter().any(|l| l.starts_with("CA certificate: ")),
        "{out:?}"
    );
    stop(child).await;
    assert!(
        kubeconfig.exists() && sa.join("token").exists(),
        "the user's files stay"
    );
}

#[tokio::test]
async fn without_a_directory_the_ca_goes_to_a_fresh_private_temporary_one() {
    let (first, out) = start(&[]).await;
    let (second, out2) = start(&[]).await;
    let ca = printed(&out, "CA certificate: ");
    let dir = ca.parent().expect("in a directory").to_owned();
    assert_ne!(
        dir,
        std::env::temp_dir(),
        "not a fixed name in the temp dir"
    );
    assert_ne!(
        dir,
        printed(&out2, "CA certificate: ").parent().unwrap(),
        "fresh each time"
    );
    assert_eq!((mode(&dir), mode(&ca)), (0o700, 0o600));
    let pem = std::fs::read_to_string(&ca).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    stop(first).await;
    assert!(!dir.exists(), "removed when the server stops");
    stop(second).await;
}

/// Runs `host-test apiserver ARGS`, which must fail; its stderr.
async fn refused(args: &[&str]) -> String {
    let run = host_test()
        .arg("apiserver")
        .args(args)
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(NEVER_HANGS, run)
        .await
        .unwrap()
        .unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn a_history_window_below_one_is_refused() {
    let stderr = refused(&["--history", "0"]).await;
    assert!(
        stderr.contains("--history \"0\" is not a positive number"),
        "{stderr}"
    );
}

#[tokio::test]
async fn proxy_port_serves_plain_http_that_kubectl_uses_without_credentials() {
    let (child, out) = start(&["--namespace", "netbird", "--proxy-port", "0"]).await;
    let prefix = "kubectl-proxy-style listener (plain http, no token needed) at ";
    let url = printed(&out, prefix);
    let url = url.to_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{out:?}");
    let hint = format!("  try: kubectl --server {url} get leases -n netbird");
    assert!(out.contains(&hint), "{out:?}");

    let root = tempfile::tempdir().unwrap();
    let empty = root.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let kubeconfig = empty.to_str().unwrap();
    let (_, stderr) = kubectl([
        "--kubeconfig",
        kubeconfig,
        "--server",
        url,
        "get",
        "leases",
        "-n",
        "netbird",
    ])
    .await;
    assert_eq!(stderr.trim(), "No resources found in netbird namespace.");
    stop(child).await;
}

#[tokio::test]
async fn a_proxy_port_that_is_not_a_port_is_refused() {
    let stderr = refused(&["--proxy-port", "65536"]).await;
    assert!(
        stderr.contains("--proxy-port \"65536\" is not a port"),
        "{stderr}"
    );
}

#[tokio::test]
async fn faults_from_the_command_line_are_injected_and_counted_at_exit() {
    let root = tempfile::tempdir().unwrap();
    let kubeconfig = root.path().join("kubeconfig");
    let kc = kubeconfig.to_str().unwrap();
    let args = [
        "--kubeconfig",
        kc,
        "--faults",
        "503:n=1:verb=list",
        "--fault-seed",
        "7",
    ];
    let (child, out, mut rest) = start_reading(&args).await;
    assert!(
        out.contains(&"injecting 1 fault rule(s), seed 7".to_owned()),
        "{out:?}"
    );
    let run = Command::new("kubectl")
        .args(["--kubeconfig", kc, "get", "leases"])
        .kill_on_drop(true)
        .output();
    let failed = tokio::time::timeout(NEVER_HANGS, run)
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success());
    assert!(
        stderr.contains("the server is currently unable to handle the request"),
        "{stderr}"
    );
    let (_, stderr) = kubectl(["--kubeconfig", kc, "get", "leases"]).await;
    assert_eq!(stderr.trim(), "No resources found in default namespace.");
    let last_words = tokio::spawn(async move {
        let mut lines = Vec::new();
        while let Ok(Some(line)) = rest.next_line().await {
            lines.push(line);
        }
        lines
    });
    stop(child).await;
    let last_words = last_words.await.unwrap();
    assert_eq!(last_words, [r#"faults fired: {"unavailable": 1}"#]);
}

#[tokio::test]
async fn a_bad_fault_spec_is_refused_naming_the_rule() {
    let stderr = refused(&["--faults", "503:p=0.1,teapot:p=1"]).await;
    assert!(
        stderr.contains(r#"--faults: fault rule 2 "teapot:p=1": unknown fault kind "teapot""#),
        "{stderr}"
    );
}
