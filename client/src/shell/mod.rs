//! The thin shell: reads the environment and the service-account files, and runs the core's
//! calls over `wasi:http`. Everything here is a WASI call or glue around one.

use crate::prelude::*;

pub mod clock;
pub mod elector;
mod files;
mod http;
pub mod locker;
mod waiting;
pub mod watch;

use crate::config::{self, ClientConfig, ExplicitConfig};
use crate::error::{Error, redact_bytes};
use crate::lease::{Lease, LeaseList, Preconditions};
use crate::request::{ApiRequest, ApiResponse, Call};
use crate::retry::{self, Failed, RetryPolicy};
use crate::status::{Operation, error_for};
use crate::token::{CachedToken, Token};
use alloc::rc::Rc;
use core::cell::RefCell;
use wasi::clocks::monotonic_clock;
use watch::Watch;

/// The limit of an operation that serves no call with its own deadline: the request timeout
/// alone bounds it.
const NO_LIMIT: u64 = u64::MAX;

/// Whether `KUBERNETES_SERVICE_HOST` is in the environment (even if empty).
pub fn in_cluster() -> bool {
    files::env(config::HOST_VAR).is_some()
}

/// A lease client: validated configuration; the token is read on every request.
#[derive(Clone)]
pub struct Client {
    config: ClientConfig,
    /// The token as last read; reading its file costs a few host calls per request.
    token: RefCell<Option<CachedToken>>,
    /// The in-cluster service-account directory, kept open: the token is read again through
    /// it, without looking for its preopen again.
    account_dir: Option<Rc<files::Dir>>,
}

impl Client {
    /// From the pod's service account and the `KUBERNETES_SERVICE_*` variables, in one pass
    /// over the account's directory: the namespace and CA are read once, here, and the token
    /// too (kept as every token read is; a token that cannot be read or is malformed is read
    /// again, and its error reported, by the first request).
    pub fn in_cluster() -> Result<Self, Error> {
        let [host, port] = files::env_vars([config::HOST_VAR, config::PORT_VAR]);
        let dir = files::Dir::open(config::SERVICE_ACCOUNT_DIR);
        let read = |name: &str| dir.as_ref().map_err(Clone::clone)?.read(name);
        let config = ClientConfig::in_cluster(
            host.as_deref(),
            port.as_deref(),
            read(config::NAMESPACE_FILE),
            read(config::CA_FILE),
        )?;
        let token = read(config::TOKEN_FILE)
            .ok()
            .and_then(|bytes| Token::from_file_contents(config::TOKEN_PATH, &bytes).ok())
            .map(|token| CachedToken {
                token,
                read_at_ns: monotonic_clock::now(),
            });
        Ok(Self {
            config,
            token: RefCell::new(token),
            account_dir: dir.ok().map(Rc::new),
        })
    }

    /// From explicit configuration.
    pub fn with_config(explicit: ExplicitConfig) -> Result<Self, Error> {
        Ok(Self {
            config: ClientConfig::explicit(explicit)?,
            token: RefCell::new(None),
            account_dir: None,
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

    /// The deadline (monotonic ns) of an operation starting now: the request timeout away.
    /// Every operation, its retries included, ends by it.
    pub fn deadline(&self) -> u64 {
        retry::request_deadline(monotonic_clock::now(), self.config.timeout_ms, None)
    }

    /// The deadline (monotonic ns) of an operation starting now inside a call that must end
    /// by `call_deadline`: the request timeout away, or `call_deadline` if sooner.
    pub fn deadline_within(&self, call_deadline: u64) -> u64 {
        retry::request_deadline(
            monotonic_clock::now(),
            self.config.timeout_ms,
            Some(call_deadline),
        )
    }

    /// GET one lease; `None` when absent.
    pub fn get(&self, name: &str) -> Result<Option<Lease>, Error> {
        self.get_by(name, NO_LIMIT)
    }

    /// GET one lease by `by` (monotonic ns) and within the request timeout; `None` when
    /// absent.
    pub fn get_by(&self, name: &str, by: u64) -> Result<Option<Lease>, Error> {
        Ok(self.run(self.config.get(name)?, by)?)
    }

    /// POST a new lease.
    pub fn create(&self, lease: Lease) -> Result<Lease, Error> {
        Ok(self.create_by(lease, NO_LIMIT)?)
    }

    /// POST a new lease by `by` (monotonic ns) and within the request timeout; the failure
    /// says whether it may have been applied.
    pub fn create_by(&self, lease: Lease, by: u64) -> Result<Lease, Failed> {
        self.run(self.config.create(lease).map_err(Failed::unsent)?, by)
    }

    /// PUT a lease conditional on its resourceVersion.
    pub fn update(&self, lease: &Lease) -> Result<Lease, Error> {
        Ok(self.update_by(lease, NO_LIMIT)?)
    }

    /// PUT a lease by `by` (monotonic ns) and within the request timeout; the failure says
    /// whether it may have been applied.
    pub fn update_by(&self, lease: &Lease, by: u64) -> Result<Lease, Failed> {
        self.run(self.config.update(lease).map_err(Failed::unsent)?, by)
    }

    /// DELETE a lease if the preconditions hold.
    pub fn delete(&self, name: &str, preconditions: &Preconditions) -> Result<(), Error> {
        Ok(self.run(self.config.delete(name, preconditions)?, NO_LIMIT)?)
    }

    /// Every lease in the namespace.
    pub fn list(&self) -> Result<LeaseList, Error> {
        Ok(self.run(self.config.list(), NO_LIMIT)?)
    }

    /// Opens a watch of lease `name` from `resource_version`; the server ends it after
    /// `timeout_seconds`. The answer must come within the request timeout and by `by`
    /// (monotonic ns).
    pub fn watch(
        &self,
        name: &str,
        resource_version: &str,
        timeout_seconds: u32,
        by: u64,
    ) -> Result<Watch, Error> {
        let request = self.config.watch(name, resource_version, timeout_seconds)?;
        self.open_watch(&request, timeout_seconds, by)
    }

    /// Opens a watch of lease `name` that starts with its current state (a synthetic ADDED,
    /// then the initial-events-end BOOKMARK); the server ends it after `timeout_seconds`. A
    /// server without WatchList refuses it with 422. The answer must come within the request
    /// timeout and by `by` (monotonic ns).
    pub fn watch_initial(&self, name: &str, timeout_seconds: u32, by: u64) -> Result<Watch, Error> {
        let request = self.config.watch_initial(name, timeout_seconds)?;
        self.open_watch(&request, timeout_seconds, by)
    }

    /// Sends the watch `request` and gives its stream (the server ends it after
    /// `timeout_seconds`), or the failure status it got instead.
    fn open_watch(
        &self,
        request: &ApiRequest,
        timeout_seconds: u32,
        by: u64,
    ) -> Result<Watch, Error> {
        let (token, _) = self.token()?;
        let secret = token.as_ref().map_or("", Token::secret);
        let deadline = self.deadline_within(by);
        let given_ms = retry::allowed_ms(monotonic_clock::now(), deadline, self.config.timeout_ms);
        // The stream may stay quiet until the server's own timeout ends it.
        let quiet_ns = (u64::from(timeout_seconds) + 30) * 1_000_000_000;
        let result = http::start(
            &self.config,
            request,
            token.as_ref(),
            (deadline, given_ms),
            quiet_ns,
        )
        .map_err(Error::from)
        .and_then(|head| {
            if head.status == 200 {
                return Watch::new(head, secret);
            }
            if head.status == 401 {
                // The next request reads the token file again.
                self.token.replace(None);
            }
            let r = scrubbed(http::finish(head, deadline)?, secret);
            Err(error_for(
                Operation::Get,
                r.status,
                r.retry_after.as_deref(),
                &r.body,
            ))
        });
        result.map_err(|e| e.redact(secret))
    }

    /// Runs `call` within the request timeout and by `limit` (monotonic ns), trying again as
    /// the retry rules allow (reads after any transient failure; writes only when they surely
    /// did nothing), waiting with jitter from `wasi:random` but never up to the deadline; the
    /// last failure is the answer.
    fn run<T>(&self, call: Call<T>, limit: u64) -> Result<T, Failed> {
        let started = monotonic_clock::now();
        let timeout_ms = self.config.timeout_ms;
        let by = retry::request_deadline(started, timeout_ms, Some(limit));
        let given_ms = retry::allowed_ms(started, by, timeout_ms);
        let policy = RetryPolicy::default();
        let mut attempt = 1;
        loop {
            if monotonic_clock::now() >= by {
                return Err(retry::out_of_time(&call.request.path));
            }
            let failed = match self.run_once(&call, (by, given_ms)) {
                Ok(value) => return Ok(value),
                Err(failed) => failed,
            };
            let now = monotonic_clock::now();
            let random = clock::random_u64();
            match policy.next_wait_ns(call.verb(), &failed, attempt, now, by, random) {
                Some(wait) => clock::sleep_until(now.saturating_add(wait)),
                None => return Err(failed),
            }
            attempt += 1;
        }
    }

    /// Sends with the token (kept up to a minute), and reads the response by the call's rule;
    /// the token is scrubbed from whatever error comes back. A 401 with a kept token reads the
    /// file again and, if the token rotated, sends once more: a 401 means nothing was done.
    fn run_once<T>(&self, call: &Call<T>, (by, given_ms): (u64, u32)) -> Result<T, Failed> {
        let (mut token, kept) = self.token().map_err(Failed::unsent)?;
        let send =
            |token: Option<&Token>| http::send(&self.config, &call.request, token, by, given_ms);
        let mut result = send(token.as_ref());
        if kept && matches!(&result, Ok(r) if r.status == 401) {
            self.token.replace(None);
            let (newer, _) = self.token().map_err(Failed::unsent)?;
            if newer != token {
                token = newer;
                result = send(token.as_ref());
            }
        }
        let secret = token.as_ref().map_or("", Token::secret);
        let result = result.and_then(|r| {
            // A success whose body does not decode may be asked for again if it was a read.
            let garbled = (200..300).contains(&r.status);
            call.finish(scrubbed(r, secret)).map_err(|e| match garbled {
                true => Failed::garbled(e),
                false => Failed::sent(e),
            })
        });
        result.map_err(|f| Failed {
            error: f.error.redact(secret),
            ..f
        })
    }

    /// The environment variable `name`, if set.
    pub fn env(name: &str) -> Option<String> {
        files::env(name)
    }

    /// The token, and whether it was kept from an earlier read rather than read now.
    fn token(&self) -> Result<(Option<Token>, bool), Error> {
        let Some(path) = &self.config.token_file else {
            return Ok((None, false));
        };
        let now = monotonic_clock::now();
        if let Some(kept) = self.token.borrow().as_ref().filter(|c| c.usable_at(now)) {
            return Ok((Some(kept.token.clone()), true));
        }
        let bytes = match &self.account_dir {
            Some(dir) => dir.read(config::TOKEN_FILE),
            None => files::read(path),
        };
        let bytes =
            bytes.map_err(|why| Error::Config(format!("cannot read token file {path}: {why}")))?;
        let token = Token::from_file_contents(path, &bytes)?;
        self.token.replace(Some(CachedToken {
            token: token.clone(),
            read_at_ns: now,
        }));
        Ok((Some(token), false))
    }
}

/// A failure body scrubbed of `secret` whole, before any of it is cut into a message.
fn scrubbed(mut response: ApiResponse, secret: &str) -> ApiResponse {
    if !(200..300).contains(&response.status) {
        response.body = redact_bytes(&response.body, secret);
    }
    response
}
