//! Secrets: with recognisable tokens (`kl-secret-` and 40 random characters), no error, guest
//! output, `Debug` print, CLI line, demo output or lock-service answer ever shows a token or
//! any 8-character piece of it, whatever the server echoes back; and plain http never
//! carries the token unless the explicit switch allows it.

use std::path::Path;

use host_test::cluster::{Account, Cluster};
use host_test::host::{
    ClientHandle, Config, ExpiryRule, LeaseError, ProxyServer, Replica, Sandbox, ServeOptions,
    StatusKind,
};
use tokio::process::Command;

use crate::cli::{RUN_DEADLINE, in_cluster, lease};
use crate::fake::{Behaviour, Echo, header, serve_recording};
use crate::front::Front;
use crate::support::*;

/// A fresh recognisable token: `kl-secret-` and 40 random hex digits.
fn secret() -> String {
    let random = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    format!("kl-secret-{}", &random[..40])
}

/// Panics when `text` (what `what` showed) holds `token` or any 8-character piece of it.
fn assert_hidden(token: &str, what: &str, text: &str) {
    for piece in token.as_bytes().windows(8) {
        let piece = std::str::from_utf8(piece).unwrap();
        assert!(
            !text.contains(piece),
            "{what} shows {piece:?} of the token: {text}"
        );
    }
}

/// An account of `cluster` whose token is `token`.
fn account_with(cluster: &Cluster, name: &str, token: &str) -> Account {
    let user = format!("system:serviceaccount:{NS}:{name}");
    cluster.api.add_token(token, &user, None);
    let dir = cluster.path(&format!("sa-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    cluster
        .api
        .write_service_account_dir(&dir, token, NS)
        .unwrap();
    Account {
        dir,
        token: token.to_owned(),
    }
}

/// `with-config` for `base_url` with the account's token file mounted at `/creds`.
async fn configured(
    cluster: &Cluster,
    account: &Account,
    base_url: &str,
    allow_token_over_http: bool,
) -> (Replica, Result<ClientHandle, LeaseError>) {
    let sandbox = Sandbox {
        extra_dirs: vec![(account.dir.clone(), "/creds".into())],
        trusted_ca_pem: Some(cluster.api.ca_pem().into_bytes()),
        allowed_origins: vec![cluster.api.url()],
        ..Sandbox::default()
    };
    let mut replica = cluster.host.instantiate(sandbox).await.unwrap();
    let config = Config {
        base_url: base_url.into(),
        namespace: NS.into(),
        token_file: Some("/creds/token".into()),
        timeout_ms: Some(5_000),
        allow_token_over_http,
    };
    let client = replica.client_with_config(&config).await.unwrap();
    (replica, client)
}

#[tokio::test]
async fn rotated_revoked_and_forbidden_tokens_never_show_in_errors_debug_or_guest_output() {
    let cluster = cluster().await;
    let (first, second, third) = (secret(), secret(), secret());
    let account = account_with(&cluster, "secretive", &first);
    let (mut replica, client) = cluster.replica(&account).await.unwrap();
    assert_eq!(ok(replica.get(&client, "absent").await), None);
    let mut shown = vec![
        format!("{account:?}"),
        format!("{:?}", cluster.sandbox(&account)),
    ];
    // Rotated: the kept token gets a 401, the file's new one is sent once more.
    let user = format!("system:serviceaccount:{NS}:secretive");
    cluster.api.add_token(&second, &user, None);
    cluster.api.remove_token(&first);
    std::fs::write(account.dir.join("token"), &second).unwrap();
    assert_eq!(ok(replica.get(&client, "absent").await), None);
    // Revoked: 401.
    cluster.api.remove_token(&second);
    let unauthorized = err(replica.get(&client, "absent").await);
    assert!(
        matches!(&unauthorized, LeaseError::Api(s) if s.kind == StatusKind::Unauthorized),
        "{unauthorized:?}"
    );
    shown.push(text(&unauthorized));
    // Valid elsewhere only: 403 on every operation.
    cluster
        .api
        .add_token(&third, &user, Some(vec!["elsewhere".into()]));
    std::fs::write(account.dir.join("token"), &third).unwrap();
    let forbidden = err(replica.create(&client, &held("x", "a", T0)).await);
    assert!(
        matches!(&forbidden, LeaseError::Api(s) if s.kind == StatusKind::Forbidden),
        "{forbidden:?}"
    );
    shown.push(text(&forbidden));
    shown.push(text(&err(replica.list(&client).await)));
    shown.push(replica.stderr());
    for token in [&first, &second, &third] {
        for text in &shown {
            assert_hidden(token, "an error, Debug print or guest output", text);
        }
    }
}

#[tokio::test]
async fn bad_base_urls_never_show_the_token() {
    let cluster = cluster().await;
    let token = secret();
    let account = account_with(&cluster, "misdirected", &token);
    let bad = [
        // Not an allowed origin: the host refuses it.
        "https://127.0.0.1:1".to_owned(),
        // Malformed, and with the token as user info.
        format!("https://{token}@[::1"),
        format!("https://user:{token}@127.0.0.1:1"),
        "ftp://127.0.0.1".to_owned(),
        // Plain http without the switch.
        "http://127.0.0.1:1".to_owned(),
        // Path and query are not an origin.
        format!("{}/apis?token={token}", cluster.api.url()),
    ];
    for base_url in bad {
        let (mut replica, client) = configured(&cluster, &account, &base_url, false).await;
        let shown = match client {
            Err(e) => text(&e),
            Ok(client) => text(&err(replica.get(&client, "x").await)),
        };
        assert_hidden(&token, &base_url, &shown);
        assert_hidden(&token, "guest output", &replica.stderr());
    }
}

#[tokio::test]
async fn a_server_echoing_the_authorization_header_cannot_leak_the_token() {
    let cluster = cluster().await;
    let token = secret();
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(creds.path().join("token"), &token).unwrap();
    let echoes = [
        (401, Echo::Status),
        (403, Echo::Status),
        (500, Echo::Status),
        // Only a part of the token: a scrub of the whole token alone misses it.
        (401, Echo::StatusPrefix(24)),
        (500, Echo::StatusSuffix(20)),
        // A 2xx body that is not a Lease: the decode error quotes the bad value.
        (200, Echo::Lease),
        (429, Echo::Text),
    ];
    for (code, echo) in echoes {
        let (addr, seen) = serve_recording(Behaviour::EchoInto(code, echo)).await;
        let (mut replica, client) =
            plain_http_client(&cluster, addr, 5_000, Some(creds.path())).await;
        let e = err(replica.get(&client, "x").await);
        let head = &seen.lock().unwrap()[0].head;
        assert_eq!(
            header(head, "authorization"),
            Some(format!("Bearer {token}").as_str()),
            "the server got the token to echo"
        );
        let what = format!("{code} {echo:?}");
        assert_hidden(&token, &what, &text(&e));
        assert_hidden(&token, &what, &replica.stderr());
    }
}

#[tokio::test]
async fn a_watch_event_echoing_the_authorization_header_cannot_leak_the_token() {
    let cluster = cluster().await;
    let token = secret();
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(creds.path().join("token"), &token).unwrap();
    let (addr, seen) = serve_recording(Behaviour::WatchEcho).await;
    let (mut replica, client) = plain_http_client(&cluster, addr, 5_000, Some(creds.path())).await;
    let options = crate::lock_support::options("me", 15, ExpiryRule::WallClock);
    let locker = ok(replica.locker_create(&client, &options).await);
    // The lease is held for an hour, so acquire waits by watch and reads the bad event.
    let outcome = replica.acquire(&locker, "l", &[], 3_000).await;
    let watched = seen
        .lock()
        .unwrap()
        .iter()
        .any(|s| s.head.contains("watch="));
    assert!(watched, "acquire never watched: {outcome:?}");
    assert_hidden(&token, "acquire's outcome", &format!("{outcome:?}"));
    assert_hidden(&token, "guest output", &replica.stderr());
}

#[tokio::test]
async fn plain_http_never_carries_the_token_unless_explicitly_allowed() {
    let cluster = cluster().await;
    let token = secret();
    let account = account_with(&cluster, "plain", &token);
    let (addr, seen) = serve_recording(Behaviour::Reply(404, "", "not found")).await;
    let origin = format!("http://{addr}");
    // A token file over http without the switch: refused before anything is sent.
    let (_replica, client) = configured(&cluster, &account, &origin, false).await;
    match client {
        Err(LeaseError::Config(m)) => {
            assert!(m.contains("allow-token-over-http"), "{m}");
            assert_hidden(&token, "the refusal", &m);
        }
        other => panic!("{other:?}"),
    }
    assert!(seen.lock().unwrap().is_empty());
    // No token file (a kubectl proxy authenticates): requests arrive without Authorization.
    let (mut replica, client) = plain_http_client(&cluster, addr, 5_000, None).await;
    assert_eq!(ok(replica.get(&client, "x").await), None);
    // `host-test lease` with an http server and a service-account directory sends none either.
    let run = lease([
        "--server".as_ref(),
        origin.as_ref(),
        "--sa-dir".as_ref(),
        account.dir.as_os_str(),
        "get".as_ref(),
        "x".as_ref(),
    ])
    .await;
    run.error_line();
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "{seen:?}");
        for request in seen.iter() {
            assert_eq!(
                header(&request.head, "authorization"),
                None,
                "{}",
                request.head
            );
            assert_hidden(&token, "a plain-http request", &request.head);
        }
    }
    // With the switch, the token goes: the switch is what allows it.
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(creds.path().join("token"), &token).unwrap();
    let (mut replica, client) = plain_http_client(&cluster, addr, 5_000, Some(creds.path())).await;
    assert_eq!(ok(replica.get(&client, "x").await), None);
    let seen = seen.lock().unwrap();
    assert_eq!(
        header(&seen[2].head, "authorization"),
        Some(format!("Bearer {token}").as_str())
    );
}

#[tokio::test]
async fn cli_error_lines_never_show_the_token() {
    let cluster = cluster().await;
    let token = secret();
    let account = account_with(&cluster, "cli", &token);
    let user = format!("system:serviceaccount:{NS}:cli");
    cluster.api.remove_token(&token);
    let revoked = lease(in_cluster(&cluster, &account.dir, &["get", "x"])).await;
    cluster
        .api
        .add_token(&token, &user, Some(vec!["elsewhere".into()]));
    let forbidden = lease(in_cluster(&cluster, &account.dir, &["lock", "x"])).await;
    for run in [revoked, forbidden] {
        assert!(
            run.error_line().starts_with("error: api "),
            "{}",
            run.stderr
        );
        assert_hidden(&token, "a CLI error", &run.stderr);
    }
}

#[tokio::test]
async fn lock_service_answers_and_its_debug_never_show_a_token() {
    let cluster = cluster().await;
    let token = secret();
    let front = secret();
    let account = account_with(&cluster, "front", &token);
    let mut sandbox = cluster.sandbox(&account);
    sandbox
        .env
        .push(("KUBE_LEASE_FRONT_TOKEN".into(), front.clone()));
    let options = ServeOptions {
        sandbox,
        ..ServeOptions::default()
    };
    let shown_options = format!("{options:?}");
    let server = ProxyServer::start(options).await.unwrap();
    let caller = Front::new(&server.url());
    let lock = r#"{"identity": "a"}"#;
    let mut answers = Vec::new();
    // A wrong front token, then none.
    for presented in [Some("kl-secret-wrong"), None] {
        let answer = caller
            .call("POST", "/v1/locks/cert-lock-x", presented, lock)
            .await
            .unwrap();
        assert_eq!(answer.status, 401, "{}", answer.body);
        answers.push(answer.body.to_string());
    }
    // The apiserver refusing the service account's token: revoked, then forbidden.
    cluster.api.remove_token(&token);
    let user = format!("system:serviceaccount:{NS}:front");
    for step in 0..2 {
        if step == 1 {
            cluster
                .api
                .add_token(&token, &user, Some(vec!["elsewhere".into()]));
        }
        let answer = caller
            .call("POST", "/v1/locks/cert-lock-x", Some(&front), lock)
            .await
            .unwrap();
        assert_eq!(answer.status, 502, "{}", answer.body);
        answers.push(answer.body.to_string());
    }
    for secret in [&token, &front] {
        assert_hidden(secret, "ServeOptions Debug", &shown_options);
        for answer in &answers {
            assert_hidden(secret, "an answer", answer);
        }
    }
}

#[tokio::test]
async fn the_demo_prints_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_host-test"))
        .args([
            "demo",
            "--replicas",
            "2",
            "--rounds",
            "1",
            "--lease-seconds",
            "1",
        ])
        .arg("--keep-serving")
        .arg(&kubeconfig)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let written = wait_for_file(&kubeconfig).await;
    let token = written
        .lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .expect("the kubeconfig holds a token")
        .trim_matches('"')
        .to_owned();
    child.start_kill().unwrap();
    let out = tokio::time::timeout(RUN_DEADLINE, child.wait_with_output())
        .await
        .expect("the demo ends when killed")
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.contains("overlaps: 0"), "{printed}");
    assert_hidden(&token, "the demo", &printed);
    // The replicas' tokens are `replica-N.` and 32 hex digits: none printed either.
    for (at, _) in printed.match_indices("replica-") {
        let rest = &printed[at + "replica-".len()..];
        let after_number = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        let hex = after_number
            .strip_prefix('.')
            .map(|t| t.chars().take_while(char::is_ascii_hexdigit).count());
        assert!(hex.unwrap_or(0) < 8, "a replica token in {printed}");
    }
}

/// The contents of `path` once the demo wrote it (within [`RUN_DEADLINE`]).
async fn wait_for_file(path: &Path) -> String {
    tokio::time::timeout(RUN_DEADLINE, async {
        loop {
            if let Ok(text) = std::fs::read_to_string(path)
                && text.contains("current-context")
            {
                return text;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the demo writes its kubeconfig")
}
