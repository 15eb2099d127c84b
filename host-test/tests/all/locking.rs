//! The Go original's locking protocol, run by several component instances at once, checked
//! against the apiserver's write history.

use host_test::demo::locker::{Attempt, Locker, Release};
use host_test::history;

use crate::support::*;

const NAME: &str = "cert-lock-a379a6f6eeafb9a5";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contending_replicas_never_hold_the_lease_together() {
    let cluster = cluster().await;
    let mut tasks = Vec::new();
    for i in 0..4 {
        let identity = format!("proxy-{i}");
        let (replica, client) = cluster
            .replica(&cluster.account(&identity).unwrap())
            .await
            .unwrap();
        let mut locker = Locker {
            replica,
            client,
            identity,
            duration_seconds: 300,
        };
        tasks.push(tokio::spawn(async move {
            let (mut acquired, mut raced) = (0, 0);
            while acquired < 3 {
                match locker.try_acquire(NAME, "example.com").await.unwrap() {
                    Attempt::Acquired { .. } => {
                        acquired += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        assert!(matches!(
                            locker.release(NAME).await.unwrap(),
                            Release::Released(_)
                        ));
                    }
                    Attempt::LostRace(_) => raced += 1,
                    Attempt::HeldBy(_) => {
                        tokio::time::sleep(std::time::Duration::from_millis(3)).await
                    }
                }
            }
            raced
        }));
    }
    let mut races = 0;
    for t in tasks {
        races += t.await.unwrap();
    }
    let verdict = history::check(&cluster.api.history(), NAME);
    assert_eq!(verdict.violations, Vec::<String>::new());
    assert_eq!(verdict.acquisitions, 12, "{verdict:?}");
    assert_eq!(verdict.releases, 12, "{verdict:?}");
    assert_eq!(
        verdict.writes, 24,
        "creates/updates that won; {races} lost races wrote nothing"
    );
}

#[tokio::test]
async fn a_crashed_holder_is_taken_over_only_after_expiry() {
    let cluster = cluster().await;
    let mk = |id: &str| {
        let account = cluster.account(id).unwrap();
        let id = id.to_owned();
        let cluster = &cluster;
        async move {
            let (replica, client) = cluster.replica(&account).await.unwrap();
            Locker {
                replica,
                client,
                identity: id,
                duration_seconds: 2,
            }
        }
    };
    let mut crashed = mk("proxy-0").await;
    let mut survivor = mk("proxy-1").await;
    assert!(matches!(
        crashed.try_acquire(NAME, "example.com").await.unwrap(),
        Attempt::Acquired { created: true, .. }
    ));
    drop(crashed);
    match survivor.try_acquire(NAME, "example.com").await.unwrap() {
        Attempt::HeldBy(h) => assert_eq!(h, "proxy-0"),
        other => panic!("{other:?}"),
    }
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    match survivor.try_acquire(NAME, "example.com").await.unwrap() {
        Attempt::Acquired {
            created: false,
            from,
            ..
        } => assert_eq!(from.as_deref(), Some("proxy-0")),
        other => panic!("{other:?}"),
    }
    let verdict = history::check(&cluster.api.history(), NAME);
    assert_eq!((verdict.acquisitions, verdict.expired_takeovers), (2, 1));
    assert!(verdict.violations.is_empty());
}
