//! A real `kubectl proxy` (on PATH) in front of the emulator.

use std::process::Stdio;
use std::time::Duration;

use host_test::cluster::{Account, Cluster};
use tokio::process::Command;

use crate::cli::first_line;
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
        let mut command = Command::new("kubectl");
        command
            .args(["proxy", "--port=0", "--kubeconfig"])
            .arg(&kubeconfig)
            .stderr(Stdio::null());
        let what = "kubectl proxy (kubectl: Debian package kubernetes-client)";
        let (child, _, first) = first_line(&mut command, Duration::from_secs(60), what).await;
        let first = first.expect("kubectl proxy prints where it serves");
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
