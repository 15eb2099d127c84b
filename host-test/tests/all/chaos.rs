//! The chaos run in the suite: 16 component instances contending on 4 leases for 30 s while
//! the emulator injects every request fault at random, restarts and rotates its certificate.
//! No two holds may overlap, every reported hold must be backed by the write history, and every
//! instance must end in a known state. The seed is printed; `host-test chaos --seed S` reruns.

use std::time::Duration;

use host_test::chaos::{self, ChaosOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_16_instances_on_4_leases_with_random_faults_stay_safe() {
    let seed = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| host_test::history::now_micros().unsigned_abs());
    eprintln!("chaos seed {seed} (rerun: CHAOS_SEED={seed}, or host-test chaos --seed {seed})");
    let options = ChaosOptions {
        seed,
        duration: Duration::from_secs(30),
        ..ChaosOptions::default()
    };
    let report = chaos::run(&options).await.expect("the chaos run starts");
    eprint!("{report}");
    assert_eq!((report.instances, report.leases), (16, 4));
    assert!(report.acquisitions > 0, "no lock changed hands");
    assert!(
        report.faults_fired.values().sum::<u64>() > 0,
        "no fault fired"
    );
    assert!(report.overlaps.is_empty(), "{report}");
    assert!(report.phantoms.is_empty(), "{report}");
    assert!(report.token_regressions.is_empty(), "{report}");
    assert!(report.unknown_ends().is_empty(), "{report}");
}
