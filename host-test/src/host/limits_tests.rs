//! Guests that loop or balloon, built from component text and run in stores made by
//! [`HostState::store`] exactly as the real component's are: the deadline and the memory cap
//! stop them with [`GuestLimitExceeded`], and a looping guest never holds its thread.

use std::time::{Duration, Instant};

use wasmtime::Store;
use wasmtime::component::{Component, Instance};

use super::limits::{self, GuestLimitExceeded, GuestLimits};
use super::network::Networks;
use super::state::HostState;
use super::{DEFAULT_IDLE_TIMEOUT, InstanceAllocation, Sandbox, new_engine};

/// A component exporting `spin` (loops forever), `balloon` (grows its memory 1 MiB at a time
/// until a growth fails, then returns its size in pages) and `nop`.
const GREEDY: &str = r#"(component
  (core module $m
    (memory 1)
    (func (export "spin") (loop $l (br $l)))
    (func (export "balloon") (result i32)
      (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
      (memory.size))
    (func (export "nop")))
  (core instance $i (instantiate $m))
  (func (export "spin") (canon lift (core func $i "spin")))
  (func (export "balloon") (result u32) (canon lift (core func $i "balloon")))
  (func (export "nop") (canon lift (core func $i "nop"))))"#;

/// Never hangs: a generous bound on any call here.
const NEVER: Duration = Duration::from_secs(60);

/// The greedy guest instantiated in a store with `limits`, made as every guest's store is.
async fn greedy(limits: GuestLimits) -> (Store<HostState>, Instance) {
    let engine = new_engine(InstanceAllocation::OnDemand).unwrap();
    let component = Component::new(&engine, wat::parse_str(GREEDY).unwrap()).unwrap();
    let sandbox = Sandbox::default();
    let sender = Networks::new(DEFAULT_IDLE_TIMEOUT)
        .sender_for(&sandbox)
        .unwrap();
    let mut store = HostState::store(&engine, &sandbox, sender, limits).unwrap();
    let instance = super::linker(&engine)
        .unwrap()
        .instantiate_async(&mut store, &component)
        .await
        .unwrap();
    (store, instance)
}

/// Calls the export `name` taking nothing and returning `R`, after arming its deadline.
async fn call<R>(store: &mut Store<HostState>, instance: &Instance, name: &str) -> anyhow::Result<R>
where
    R: wasmtime::component::ComponentNamedList + wasmtime::component::Lift + Send + Sync + 'static,
{
    limits::arm(store, Duration::ZERO);
    let func = instance.get_typed_func::<(), R>(&mut *store, name)?;
    let result = tokio::time::timeout(NEVER, func.call_async(&mut *store, ()))
        .await
        .expect("the call ends")?;
    Ok(result)
}

/// Limits with this call deadline and the default memory cap.
fn deadline(call_deadline: Duration) -> GuestLimits {
    GuestLimits {
        call_deadline,
        ..GuestLimits::default()
    }
}

#[tokio::test]
async fn a_looping_guest_is_stopped_at_its_deadline_and_yields_until_then() {
    let limit = Duration::from_millis(1500);
    let (mut store, instance) = greedy(deadline(limit)).await;
    // One thread (tokio::test's runtime): the sleeper can only finish while the guest spins
    // if the guest yields at every tick.
    let sleeper = async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        Instant::now()
    };
    let spin = async {
        let result = call::<()>(&mut store, &instance, "spin").await;
        (result, Instant::now())
    };
    let (slept, (result, stopped)) = tokio::join!(sleeper, spin);
    assert!(slept < stopped, "the spinning guest held the thread");
    let e = result.unwrap_err();
    assert_eq!(
        e.downcast_ref::<GuestLimitExceeded>(),
        Some(&GuestLimitExceeded::Deadline { limit })
    );
    assert_eq!(
        e.root_cause().to_string(),
        "guest call exceeded deadline of 1500 ms"
    );
}

#[tokio::test]
async fn the_deadline_is_per_call_not_per_instance() {
    let limit = Duration::from_millis(200);
    let (mut store, instance) = greedy(deadline(limit)).await;
    // Longer than the deadline passes between calls: each call gets its own.
    for _ in 0..3 {
        tokio::time::sleep(limit + limit / 2).await;
        call::<()>(&mut store, &instance, "nop").await.unwrap();
    }
}

#[tokio::test]
async fn a_ballooning_guest_is_stopped_at_the_memory_cap() {
    let cap = 8 << 20;
    let limits = GuestLimits {
        max_memory_bytes: cap,
        ..GuestLimits::default()
    };
    let (mut store, instance) = greedy(limits).await;
    let e = call::<(u32,)>(&mut store, &instance, "balloon")
        .await
        .unwrap_err();
    // One page to start, 16 more at a time: the growth to 8 MiB + 64 KiB is the one refused.
    let desired = cap + (1 << 16);
    assert_eq!(
        e.downcast_ref::<GuestLimitExceeded>(),
        Some(&GuestLimitExceeded::Memory { cap, desired })
    );
    assert_eq!(
        e.root_cause().to_string(),
        format!("guest exceeded memory cap 8388608 bytes (it asked for {desired} bytes)")
    );
    assert!(store.data().memory.bytes <= cap);
}
