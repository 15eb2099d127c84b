//! `host-test demo`: the real binary shows replicas of the component taking turns on per-domain
//! locks, a crash while holding one, a takeover after expiry, and the checker's `overlaps: 0`.

use tokio::process::Command;

use crate::cli::RUN_DEADLINE;

#[tokio::test]
async fn the_demo_shows_turns_a_crash_a_takeover_after_expiry_and_no_overlaps() {
    let run = Command::new(env!("CARGO_BIN_EXE_host-test"))
        .args([
            "demo",
            "--replicas",
            "3",
            "--rounds",
            "1",
            "--lease-seconds",
            "1",
        ])
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(RUN_DEADLINE, run)
        .await
        .expect("the demo finishes")
        .expect("host-test runs");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let find = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in\n{stdout}"))
    };
    let crash = find("replica-2  CRASHED   holding example.com (token ");
    let takeover = find("TOOK OVER example.com from crashed replica-2 after expiry");
    assert!(crash < takeover, "{stdout}");
    // Both survivors locked every domain once, each with its fencing token.
    for replica in ["replica-0", "replica-1"] {
        for domain in ["example.com", "example.org", "example.net"] {
            let locked = lines.iter().any(|l| {
                l.contains(replica)
                    && (l.contains(&format!("LOCKED    {domain}"))
                        || l.contains(&format!("TOOK OVER {domain}")))
                    && l.contains(", fencing token ")
            });
            assert!(locked, "{replica} never locked {domain}:\n{stdout}");
        }
    }
    // The checker replayed the write log: one takeover after expiry, tokens in order.
    assert!(
        lines[find("acquisitions (1 after expiry)")].starts_with("  example.com  "),
        "{stdout}"
    );
    assert!(
        stdout.contains("0 token regressions, 0 holds without their acquiring write"),
        "{stdout}"
    );
    assert_eq!(lines.last(), Some(&"overlaps: 0"), "{stdout}");
}
