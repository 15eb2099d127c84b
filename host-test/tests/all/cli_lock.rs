//! `host-test lease lock` and `unlock`: the real binary as subprocesses taking turns on one
//! lease through the component's locker, against the emulator in this process.

use std::ffi::OsString;
use std::process::Stdio;
use std::time::Duration;

use host_test::apiserver::WriteRecord;
use host_test::cluster::{Account, Cluster};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::cli::{RUN_DEADLINE, Run, first_line, in_cluster, lease};
use crate::support::*;

/// The lease the tests lock.
const NAME: &str = "cert-lock-cli";

/// A cluster and an account for the CLI.
async fn setup() -> (Cluster, Account) {
    let cluster = cluster().await;
    let account = cluster.account("cli").unwrap();
    (cluster, account)
}

/// A `host-test lease lock` still running, after it printed its hold.
struct Holding {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    /// The hold it printed.
    hold: Value,
}

impl Holding {
    /// Starts `host-test lease ARGS` and waits for its first stdout line, the hold.
    async fn start(args: Vec<OsString>) -> Holding {
        let mut command = Command::new(env!("CARGO_BIN_EXE_host-test"));
        command.arg("lease").args(args).stderr(Stdio::piped());
        let (mut child, lines, first) = first_line(&mut command, RUN_DEADLINE, "lock").await;
        let Some(first) = first else {
            let mut stderr = String::new();
            let _ = child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .await;
            panic!("lock printed no hold: {stderr}");
        };
        let hold = serde_json::from_str(&first).unwrap_or_else(|e| panic!("{e}: {first}"));
        Holding { child, lines, hold }
    }

    /// Sends it SIGINT (Ctrl-C).
    async fn interrupt(&self) {
        let pid = self.child.id().expect("still running").to_string();
        let status = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .await
            .unwrap();
        assert!(status.success());
    }

    /// Waits for it to exit; what it printed after the hold.
    async fn finish(mut self) -> Run {
        let finished = async {
            let mut stdout = String::new();
            while let Some(line) = self.lines.next_line().await.unwrap() {
                stdout.push_str(&line);
                stdout.push('\n');
            }
            let mut stderr = String::new();
            let mut err = self.child.stderr.take().unwrap();
            err.read_to_string(&mut stderr).await.unwrap();
            let status = self.child.wait().await.unwrap();
            Run {
                status,
                stdout,
                stderr,
            }
        };
        tokio::time::timeout(RUN_DEADLINE, finished)
            .await
            .expect("lock finishes")
    }
}

/// `lock NAME` with `flags`, in-cluster as `account`.
fn lock_args(cluster: &Cluster, account: &Account, flags: &[&str]) -> Vec<OsString> {
    let mut operation = vec!["lock", NAME];
    operation.extend_from_slice(flags);
    in_cluster(cluster, &account.dir, &operation)
}

/// `lock NAME` with `flags`, once it printed its hold.
async fn holding(cluster: &Cluster, account: &Account, flags: &[&str]) -> Holding {
    Holding::start(lock_args(cluster, account, flags)).await
}

/// `unlock NAME --identity IDENTITY`.
async fn unlock(cluster: &Cluster, account: &Account, identity: &str) -> Run {
    let operation = ["unlock", NAME, "--identity", identity];
    lease(in_cluster(cluster, &account.dir, &operation)).await
}

/// The hold's fencing token.
fn token(hold: &Value) -> u64 {
    hold["fencingToken"]
        .as_u64()
        .unwrap_or_else(|| panic!("{hold}"))
}

/// The write of lease NAME at revision `token` (the one that acquired a hold).
fn write_at(cluster: &Cluster, token: u64) -> WriteRecord {
    cluster
        .api
        .history()
        .into_iter()
        .find(|w| w.name == NAME && w.resource_version == token.to_string())
        .unwrap_or_else(|| panic!("no write of {NAME} at revision {token}"))
}

/// The lease's holder as stored.
fn stored_holder(cluster: &Cluster) -> Value {
    let stored: Value = serde_json::from_str(&cluster.api.stored(NS, NAME).unwrap()).unwrap();
    stored["spec"]["holderIdentity"].clone()
}

#[tokio::test]
async fn lock_prints_the_hold_as_one_json_line_with_its_fencing_token_then_releases() {
    let (cluster, account) = setup().await;
    let run = lease(lock_args(&cluster, &account, &["--identity", "a"])).await;
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    let hold = run.json();
    let keys: Vec<&str> = hold
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "name",
            "identity",
            "resourceVersion",
            "acquireTime",
            "validUntil",
            "fencingToken"
        ]
    );
    assert_eq!(hold["name"], NAME);
    assert_eq!(hold["identity"], "a");
    // The token is the revision of the write that made "a" the holder.
    let acquired = write_at(&cluster, token(&hold));
    assert_eq!(acquired.holder.as_deref(), Some("a"));
    assert_eq!(hold["resourceVersion"], acquired.resource_version);
    assert_eq!(
        hold["acquireTime"].as_str(),
        acquired.acquire_time.as_deref()
    );
    let valid_until = hold["validUntil"].as_str().unwrap();
    assert!(
        valid_until.len() == 27 && valid_until.ends_with('Z'),
        "{valid_until}"
    );
    assert!(valid_until > hold["acquireTime"].as_str().unwrap());
    // --hold 0: released at once.
    assert!(run.stderr.contains("released lease"), "{}", run.stderr);
    assert_eq!(stored_holder(&cluster), "");
}

#[tokio::test]
async fn a_held_lock_fails_for_another_identity_naming_the_holder_and_so_does_its_unlock() {
    let (cluster, account) = setup().await;
    let first = holding(&cluster, &account, &["--identity", "a", "--hold", "120"]).await;
    assert_eq!(first.hold["identity"], "a");

    let second = lease(lock_args(&cluster, &account, &["--identity", "b"])).await;
    assert_eq!(
        second.error_line(),
        format!(r#"error: held: lease "{NAME}" is held by "a" (try --wait SECONDS)"#)
    );
    let unlock = unlock(&cluster, &account, "b").await;
    assert_eq!(
        unlock.error_line(),
        format!(r#"error: not-holder: lease "{NAME}" is held by "a", not "b""#)
    );
    assert_eq!(stored_holder(&cluster), "a");
    drop(first);
}

#[tokio::test]
async fn lock_with_wait_gets_the_lease_by_watch_after_the_holders_release_with_a_larger_token() {
    let (cluster, account) = setup().await;
    let first = holding(
        &cluster,
        &account,
        &["--identity", "a", "--duration", "60", "--hold", "120"],
    )
    .await;
    let second = tokio::spawn(Holding::start(lock_args(
        &cluster,
        &account,
        &["--identity", "b", "--wait", "120"],
    )));
    // The second waits by watching the lease; then the first is interrupted and releases.
    let waiting = async {
        while !cluster
            .api
            .requests()
            .iter()
            .any(|r| r.path_and_query.contains("watch=true") && r.path_and_query.contains(NAME))
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(RUN_DEADLINE, waiting)
        .await
        .expect("the second lock watches the lease");
    first.interrupt().await;
    let first_token = token(&first.hold);
    let released = first.finish().await;
    assert!(released.status.success(), "{}", released.stderr);
    assert!(
        released.stderr.contains("(interrupted)"),
        "{}",
        released.stderr
    );

    let second = second.await.unwrap();
    assert_eq!(second.hold["identity"], "b");
    let second_token = token(&second.hold);
    assert!(
        second_token > first_token,
        "{second_token} after {first_token}"
    );
    // Taken after the release, not after expiry (the lease lasts 60 s).
    let history = cluster.api.history();
    let release = history
        .iter()
        .find(|w| w.name == NAME && w.holder.as_deref() == Some(""))
        .expect("the first lock released the lease");
    let acquired = write_at(&cluster, second_token);
    assert_eq!(acquired.holder.as_deref(), Some("b"));
    assert!(release.seq < acquired.seq);
    assert!(second.finish().await.status.success());
}

#[tokio::test]
async fn unlock_by_the_holders_identity_releases_and_the_holder_then_reports_it_lost() {
    let (cluster, account) = setup().await;
    // A 3 s lease: renewed about every second.
    let holder = holding(
        &cluster,
        &account,
        &["--identity", "a", "--duration", "3", "--hold", "120"],
    )
    .await;
    let unlock = unlock(&cluster, &account, "a").await;
    assert!(unlock.status.success(), "{}", unlock.stderr);
    assert_eq!(stored_holder(&cluster), "");
    let lost = holder.finish().await;
    let last = lost.stderr.lines().last().unwrap_or_default();
    assert_eq!(lost.status.code(), Some(1), "{}", lost.stderr);
    assert_eq!(
        last,
        format!(r#"error: lost: the hold on lease "{NAME}" is gone: it was released"#)
    );
}
