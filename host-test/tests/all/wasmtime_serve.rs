//! The real `wasmtime serve` (CLI 48.0.8 on PATH) running the HTTP lock service component, and
//! a plain-http caller of its REST front.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use host_test::host::KUBE_LEASE_PROXY_COMPONENT;

use crate::front::Front;

/// The token callers of the front present; recognisable, so a leak would be found.
pub const FRONT_TOKEN: &str = "front-token-7f3a9c1e5b2d4f6a8c0e1a3b5d7f9e2c";

/// Where the front token's directory is mounted in the guest.
const FRONT_DIR_GUEST: &str = "/front";

/// The wasmtime CLI version the tests run: the one the host embeds.
const CLI_VERSION: &str = "wasmtime 48.0.8";

/// How to get it.
const INSTALL: &str = "cargo install wasmtime-cli --locked --version 48.0.8";

/// Fails, naming the fix, unless `wasmtime` on PATH is [`CLI_VERSION`].
async fn assert_cli_version() {
    let output = Command::new("wasmtime")
        .arg("--version")
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run `wasmtime` ({e}); install it: {INSTALL}"));
    let version = String::from_utf8_lossy(&output.stdout);
    assert!(
        version.starts_with(&format!("{CLI_VERSION} ")) || version.trim() == CLI_VERSION,
        "`wasmtime --version` says {version:?}; these tests need {CLI_VERSION}: {INSTALL}"
    );
}

/// A `wasmtime serve` process; killed when dropped.
pub struct WasmtimeServe {
    _child: Child,
    stderr: Arc<Mutex<String>>,
    front: Front,
}

impl WasmtimeServe {
    /// Starts `wasmtime serve -S cli` with the proxy component, its apiserver at `upstream`
    /// (plain http, as a `kubectl proxy`), the front token in a file under `scratch` mounted
    /// with `--dir`, and the extra `--env` settings `env`.
    pub async fn start(upstream: &str, scratch: &Path, env: &[(&str, &str)]) -> WasmtimeServe {
        let front_dir = scratch.join("front");
        std::fs::create_dir_all(&front_dir).unwrap();
        std::fs::write(front_dir.join("token"), format!("{FRONT_TOKEN}\n")).unwrap();

        assert_cli_version().await;
        let mut command = Command::new("wasmtime");
        command
            .args(["serve", "--addr", "127.0.0.1:0", "-S", "cli", "--dir"])
            .arg(format!("{}::{FRONT_DIR_GUEST}", front_dir.display()));
        let settings = [
            ("KUBE_LEASE_BASE_URL", upstream),
            ("KUBE_LEASE_NAMESPACE", crate::support::NS),
            ("KUBE_LEASE_FRONT_TOKEN_FILE", "/front/token"),
        ];
        for (name, value) in settings.iter().chain(env) {
            command.arg("--env").arg(format!("{name}={value}"));
        }
        let mut child = command
            .arg(KUBE_LEASE_PROXY_COMPONENT)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start `wasmtime serve` ({e}); install it: {INSTALL}")
            });

        // wasmtime announces its address on stderr; the rest (guest output, errors) is kept.
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let stderr = Arc::new(Mutex::new(String::new()));
        let url = loop {
            let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
                .await
                .expect("wasmtime serve starts within 2 minutes")
                .unwrap()
                .unwrap_or_else(|| panic!("wasmtime serve exited: {}", stderr.lock().unwrap()));
            if let Some(addr) = line.strip_prefix("Serving HTTP on ") {
                break addr.trim_end_matches('/').to_owned();
            }
            stderr.lock().unwrap().push_str(&format!("{line}\n"));
        };
        let kept = stderr.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                kept.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        WasmtimeServe {
            _child: child,
            front: Front::new(&url),
            stderr,
        }
    }

    /// What wasmtime and the guest wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// `method path` with the front token and `body` (JSON text): the status and JSON answer.
    pub async fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        self.call_as(Some(FRONT_TOKEN), method, path, body).await
    }

    /// [`WasmtimeServe::call`] presenting `token` (or none).
    pub async fn call_as(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> (u16, Value) {
        let answer = self
            .front
            .call(method, path, token, body.unwrap_or(""))
            .await
            .unwrap_or_else(|e| panic!("{e}; stderr: {}", self.stderr()));
        (answer.status, answer.body)
    }
}
