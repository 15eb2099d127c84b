//! The WIT glue: generated bindings, the export, and the `Guest` impls that hand every call
//! to the shell. Type conversions live in `convert`.
#![allow(unsafe_code, missing_docs)]

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use kube_lease_client::shell::{self, Client};

wit_bindgen::generate!({
    world: "lease-client",
    path: "wit",
    with: {
        "wasi:cli/environment@0.2.12": wasi::cli::environment,
        "wasi:clocks/monotonic-clock@0.2.12": wasi::clocks::monotonic_clock,
        "wasi:clocks/wall-clock@0.2.12": wasi::clocks::wall_clock,
        "wasi:filesystem/types@0.2.12": wasi::filesystem::types,
        "wasi:filesystem/preopens@0.2.12": wasi::filesystem::preopens,
        "wasi:http/types@0.2.12": wasi::http::types,
        "wasi:http/outgoing-handler@0.2.12": wasi::http::outgoing_handler,
        "wasi:io/error@0.2.12": wasi::io::error,
        "wasi:io/poll@0.2.12": wasi::io::poll,
        "wasi:io/streams@0.2.12": wasi::io::streams,
        "wasi:random/random@0.2.12": wasi::random::random,
    },
});

use exports::kube::lease::leases::{
    Config, Guest, GuestLeaseClient, LeaseClient, LeaseClientBorrow,
};
use exports::kube::lease::locks::{
    Election, Elector as WitElector, Guest as LocksGuest, GuestElector, GuestLocker, Hold,
    Locker as WitLocker, LockerOptions,
};
use exports::kube::lease::types::{Entry, Error, Lease, LeaseList, Preconditions};

use kube_lease_client::shell::elector::Elector;
use kube_lease_client::shell::locker::Locker;

struct Component;

impl Guest for Component {
    type LeaseClient = Client;

    fn in_cluster() -> bool {
        shell::in_cluster()
    }

    fn lease_name_for_domain(domain: String) -> String {
        kube_lease_client::names::lease_name_for_domain(&domain)
    }
}

impl GuestLeaseClient for Client {
    fn in_cluster() -> Result<LeaseClient, Error> {
        Ok(LeaseClient::new(Client::in_cluster()?))
    }

    fn with_config(config: Config) -> Result<LeaseClient, Error> {
        Ok(LeaseClient::new(Client::with_config(config.into())?))
    }

    fn namespace(&self) -> String {
        Client::namespace(self).to_owned()
    }

    fn base_url(&self) -> String {
        Client::base_url(self)
    }

    fn get(&self, name: String) -> Result<Option<Lease>, Error> {
        Ok(Client::get(self, &name)?.map(Into::into))
    }

    fn create(&self, lease: Lease) -> Result<Lease, Error> {
        Ok(Client::create(self, lease.into())?.into())
    }

    fn update(&self, lease: Lease) -> Result<Lease, Error> {
        Ok(Client::update(self, &lease.into())?.into())
    }

    fn delete(&self, name: String, preconditions: Preconditions) -> Result<(), Error> {
        Ok(Client::delete(self, &name, &preconditions.into())?)
    }

    fn list(&self) -> Result<LeaseList, Error> {
        Ok(Client::list(self)?.into())
    }
}

impl LocksGuest for Component {
    type Locker = Locker;
    type Elector = Elector;
}

impl GuestLocker for Locker {
    fn create(client: LeaseClientBorrow<'_>, options: LockerOptions) -> Result<WitLocker, Error> {
        let client = client.get::<Client>().clone();
        Ok(WitLocker::new(Locker::new(client, options.into())?))
    }

    fn identity(&self) -> String {
        Locker::identity(self).to_owned()
    }

    fn try_acquire(&self, name: String, annotations: Vec<Entry>) -> Result<Option<Hold>, Error> {
        Ok(Locker::try_acquire(self, &name, &annotations)?.map(Into::into))
    }

    fn acquire(
        &self,
        name: String,
        annotations: Vec<Entry>,
        timeout_ms: u32,
    ) -> Result<Hold, Error> {
        Ok(Locker::acquire(self, &name, &annotations, timeout_ms)?.into())
    }

    fn renew(&self, hold: Hold) -> Result<Hold, Error> {
        Ok(Locker::renew(self, &hold.into())?.into())
    }

    fn release(&self, hold: Hold) -> Result<(), Error> {
        Ok(Locker::release(self, &hold.into())?)
    }

    fn lock_for_domain(&self, domain: String, timeout_ms: u32) -> Result<Hold, Error> {
        Ok(Locker::lock_for_domain(self, &domain, timeout_ms)?.into())
    }
}

impl GuestElector for Elector {
    fn create(
        client: LeaseClientBorrow<'_>,
        name: String,
        options: LockerOptions,
    ) -> Result<WitElector, Error> {
        let client = client.get::<Client>().clone();
        Ok(WitElector::new(Elector::new(
            client,
            &name,
            options.into(),
        )?))
    }

    fn tick(&self) -> Result<Election, Error> {
        Ok(Elector::tick(self)?.into())
    }

    fn resign(&self) -> Result<(), Error> {
        Ok(Elector::resign(self)?)
    }
}

export!(Component);
