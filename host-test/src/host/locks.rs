//! The `kube:lease/locks` exports of a [`Replica`]: lockers and electors as plain async methods.

use std::time::Duration;

use wasmtime::component::ResourceAny;

use super::bindings::exports::kube::lease::locks::{Election, Guest, Hold, LockerOptions};
use super::bindings::exports::kube::lease::types::Entry;
use super::{CallResult, ClientHandle, Replica};

/// A `locker` resource owned by one [`Replica`] (dropped with it, or by [`Replica::drop_locker`]).
#[derive(Clone, Copy, Debug)]
pub struct LockerHandle(ResourceAny);

/// An `elector` resource owned by one [`Replica`] (dropped with it, or by [`Replica::drop_elector`]).
#[derive(Clone, Copy, Debug)]
pub struct ElectorHandle(ResourceAny);

impl Replica {
    /// The `locks` exports and the store to call them with, the call's deadline started
    /// with `own_timeout` (its own) added.
    fn locks(&mut self, own_timeout: Duration) -> (&Guest, &mut wasmtime::Store<super::HostState>) {
        self.arm(own_timeout);
        (self.bindings.kube_lease_locks(), &mut self.store)
    }

    /// `locker.create`: a locker using `client`'s apiserver and namespace.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn locker_create(
        &mut self,
        client: &ClientHandle,
        options: &LockerOptions,
    ) -> CallResult<LockerHandle> {
        let (locks, store) = self.locks(Duration::ZERO);
        let result = locks.locker().call_create(store, client.0, options).await?;
        Ok(result.map(LockerHandle))
    }

    /// `locker.identity`: who this locker writes as holder.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn locker_identity(&mut self, locker: &LockerHandle) -> anyhow::Result<String> {
        let (locks, store) = self.locks(Duration::ZERO);
        Ok(locks.locker().call_identity(store, locker.0).await?)
    }

    /// `locker.try-acquire`: the hold, or `None` while another live holder has the lease.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn try_acquire(
        &mut self,
        locker: &LockerHandle,
        name: &str,
        annotations: &[Entry],
    ) -> CallResult<Option<Hold>> {
        let (locks, store) = self.locks(Duration::ZERO);
        Ok(locks
            .locker()
            .call_try_acquire(store, locker.0, name, annotations)
            .await?)
    }

    /// `locker.acquire`: waits for the hold; `timeout` once `timeout_ms` passes.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn acquire(
        &mut self,
        locker: &LockerHandle,
        name: &str,
        annotations: &[Entry],
        timeout_ms: u32,
    ) -> CallResult<Hold> {
        let (locks, store) = self.locks(Duration::from_millis(timeout_ms.into()));
        Ok(locks
            .locker()
            .call_acquire(store, locker.0, name, annotations, timeout_ms)
            .await?)
    }

    /// `locker.renew`: the extended hold; `lost` when another holder wrote the lease since.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn renew(&mut self, locker: &LockerHandle, hold: &Hold) -> CallResult<Hold> {
        let (locks, store) = self.locks(Duration::ZERO);
        Ok(locks.locker().call_renew(store, locker.0, hold).await?)
    }

    /// `locker.release`: gives the hold back; `lost` when it was lost.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn release(&mut self, locker: &LockerHandle, hold: &Hold) -> CallResult<()> {
        let (locks, store) = self.locks(Duration::ZERO);
        Ok(locks.locker().call_release(store, locker.0, hold).await?)
    }

    /// `locker.lock-for-domain`: the original's per-domain lock.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn lock_for_domain(
        &mut self,
        locker: &LockerHandle,
        domain: &str,
        timeout_ms: u32,
    ) -> CallResult<Hold> {
        let (locks, store) = self.locks(Duration::from_millis(timeout_ms.into()));
        Ok(locks
            .locker()
            .call_lock_for_domain(store, locker.0, domain, timeout_ms)
            .await?)
    }

    /// Drops the guest's `locker` resource.
    ///
    /// # Errors
    ///
    /// When the handle is not live in this instance or the destructor traps.
    pub async fn drop_locker(&mut self, locker: LockerHandle) -> anyhow::Result<()> {
        self.arm(Duration::ZERO);
        locker.0.resource_drop_async(&mut self.store).await?;
        Ok(())
    }

    /// `elector.create`: an elector for lease `name`.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn elector_create(
        &mut self,
        client: &ClientHandle,
        name: &str,
        options: &LockerOptions,
    ) -> CallResult<ElectorHandle> {
        let (locks, store) = self.locks(Duration::ZERO);
        let result = locks
            .elector()
            .call_create(store, client.0, name, options)
            .await?;
        Ok(result.map(ElectorHandle))
    }

    /// `elector.tick`: acquires, renews or watches; says where this instance stands.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn tick(&mut self, elector: &ElectorHandle) -> CallResult<Election> {
        let (locks, store) = self.locks(Duration::ZERO);
        Ok(locks.elector().call_tick(store, elector.0).await?)
    }

    /// `elector.resign`: gives up leadership.
    ///
    /// # Errors
    ///
    /// When the guest traps.
    pub async fn resign(&mut self, elector: &ElectorHandle) -> CallResult<()> {
        let (locks, store) = self.locks(Duration::ZERO);
        Ok(locks.elector().call_resign(store, elector.0).await?)
    }

    /// Drops the guest's `elector` resource.
    ///
    /// # Errors
    ///
    /// When the handle is not live in this instance or the destructor traps.
    pub async fn drop_elector(&mut self, elector: ElectorHandle) -> anyhow::Result<()> {
        self.arm(Duration::ZERO);
        elector.0.resource_drop_async(&mut self.store).await?;
        Ok(())
    }
}
