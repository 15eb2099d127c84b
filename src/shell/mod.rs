//! The thin shell: reads the environment and the service-account files, and runs the core's
//! calls over `wasi:http`. Everything here is a WASI call or glue around one.

use crate::prelude::*;

mod files;
mod http;

use crate::config::{self, ClientConfig, ExplicitConfig};
use crate::error::{Error, redact_bytes};
use crate::lease::{Lease, LeaseList, Preconditions};
use crate::request::Call;
use crate::token::Token;

/// Whether `KUBERNETES_SERVICE_HOST` is in the environment (even if empty).
pub fn in_cluster() -> bool {
    files::env(config::HOST_VAR).is_some()
}

/// A lease client: validated configuration; the token is read on every request.
pub struct Client {
    config: ClientConfig,
}

impl Client {
    /// From the pod's service account and the `KUBERNETES_SERVICE_*` variables; the
    /// namespace and CA are read once, here.
    pub fn in_cluster() -> Result<Self, Error> {
        let config = ClientConfig::in_cluster(
            files::env(config::HOST_VAR).as_deref(),
            files::env(config::PORT_VAR).as_deref(),
            files::read(config::NAMESPACE_PATH),
            files::read(config::CA_PATH),
        )?;
        Ok(Self { config })
    }

    /// From explicit configuration.
    pub fn with_config(explicit: ExplicitConfig) -> Result<Self, Error> {
        Ok(Self {
            config: ClientConfig::explicit(explicit)?,
        })
    }

    /// The namespace of every operation.
    pub fn namespace(&self) -> &str {
        &self.config.namespace
    }

    /// The apiserver origin.
    pub fn base_url(&self) -> String {
        self.config.base_url.to_string()
    }

    /// GET one lease; `None` when absent.
    pub fn get(&self, name: &str) -> Result<Option<Lease>, Error> {
        self.run(self.config.get(name)?)
    }

    /// POST a new lease.
    pub fn create(&self, lease: Lease) -> Result<Lease, Error> {
        self.run(self.config.create(lease)?)
    }

    /// PUT a lease conditional on its resourceVersion.
    pub fn update(&self, lease: &Lease) -> Result<Lease, Error> {
        self.run(self.config.update(lease)?)
    }

    /// DELETE a lease if the preconditions hold.
    pub fn delete(&self, name: &str, preconditions: &Preconditions) -> Result<(), Error> {
        self.run(self.config.delete(name, preconditions)?)
    }

    /// Every lease in the namespace.
    pub fn list(&self) -> Result<LeaseList, Error> {
        self.run(self.config.list())
    }

    /// Reads the token afresh (bound tokens rotate), sends, and reads the response by the
    /// call's rule; the token is scrubbed from whatever error comes back.
    fn run<T>(&self, call: Call<T>) -> Result<T, Error> {
        let token = self.token()?;
        let secret = token.as_ref().map_or("", Token::secret);
        let result = http::send(&self.config, &call.request, token.as_ref()).and_then(|mut r| {
            // Scrub a failure body whole before any of it is cut into a message.
            if !(200..300).contains(&r.status) {
                r.body = redact_bytes(&r.body, secret);
            }
            call.finish(r)
        });
        result.map_err(|e| e.redact(secret))
    }

    fn token(&self) -> Result<Option<Token>, Error> {
        let Some(path) = &self.config.token_file else {
            return Ok(None);
        };
        let bytes = files::read(path)
            .map_err(|why| Error::Config(format!("cannot read token file {path}: {why}")))?;
        Token::from_file_contents(path, &bytes).map(Some)
    }
}
