//! A real `kubectl proxy` (on PATH) in front of the emulator.

use std::process::Stdio;
use std::time::Duration;

use host_test::cluster::{Account, Cluster};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

use crate::support::NS;

/// A real `kubectl proxy` in front of the emulator, authenticating as `account`.
pub struct Proxy {
    child: tokio::process::Child,
    /// `http://127.0.0.1:PORT`, where it serves.
    pub url: String,
}

impl Proxy {
    /// Starts `kubectl proxy --port=0` and reads the port it serves on.
    pub async fn start(cluster: &Cluster, account: &Account) -> Proxy {
        let kubeconfig = cluster.path("proxy-kubeconfig");
        cluster
            .api
            .write_kubeconfig(&kubeconfig, &account.token, NS)
            .unwrap();
        let mut child = Command::new("kubectl")
            .args(["proxy", "--port=0", "--kubeconfig"])
            .arg(&kubeconfig)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("kubectl is installed (Debian package kubernetes-client)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("kubectl proxy starts")
            .unwrap()
            .expect("kubectl proxy prints where it serves");
        let addr = first
            .strip_prefix("Starting to serve on ")
            .unwrap_or_else(|| panic!("{first}"));
        Proxy {
            child,
            url: format!("http://{addr}"),
        }
    }

    /// Where it serves.
    pub fn addr(&self) -> std::net::SocketAddr {
        let addr = self.url.strip_prefix("http://").expect("an http URL");
        addr.parse().expect("host:port")
    }

    /// Stops the proxy.
    pub async fn stop(mut self) {
        self.child.kill().await.unwrap();
    }
}
