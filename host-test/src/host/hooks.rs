//! The `wasi:http` hooks of one instance: each outgoing request is checked against the
//! sandbox's origins, then sent on the pooled client under the guest's connect and first-byte
//! timeouts, its body read under the between-bytes timeout.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper_util::client::legacy::connect::capture_connection;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use super::errors::client_error;
use super::network::PooledClient;
use super::policy::Policy;
use super::timed_body::timed;

/// The timeout wasi:http applies when the guest sets none.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Sends the component's outgoing HTTP requests (the [`WasiHttpHooks`] of one instance).
///
/// Cheap to clone: the policy and the pooled client are shared.
#[derive(Clone, Debug)]
pub(crate) struct TlsSender {
    /// The origins requests may go to.
    policy: Arc<Policy>,
    /// The client whose connector dials (only) those origins.
    client: PooledClient,
}

impl TlsSender {
    /// A sender allowed to reach `policy`'s origins through `client`.
    pub(crate) fn new(policy: Arc<Policy>, client: PooledClient) -> Self {
        Self { policy, client }
    }

    /// Sends `request` (absolute URI) and returns the response once its head has arrived.
    ///
    /// # Errors
    ///
    /// The `wasi:http` error the guest sees: `HttpRequestDenied` for an origin the sandbox
    /// does not list (no connection is attempted), `ConnectionTimeout` when no connection is
    /// ready within the connect timeout, `ConnectionReadTimeout` when no response head arrives
    /// within the first-byte timeout after that, else the cause the dial or the exchange
    /// failed with (see [`super::errors`]).
    pub(crate) async fn send(
        &self,
        mut request: Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<Response<WasiBody>, Error> {
        self.policy.allow(request.uri())?;
        let options = options.unwrap_or_default();
        let connect_timeout = options.connect_timeout.unwrap_or(DEFAULT_TIMEOUT);
        let first_byte_timeout = options.first_byte_timeout.unwrap_or(DEFAULT_TIMEOUT);
        let between_bytes_timeout = options.between_bytes_timeout.unwrap_or(DEFAULT_TIMEOUT);

        // The connect timeout runs until the client has a connection (pooled or dialled), the
        // first-byte timeout from then on (also over the new dial when a pooled connection
        // turns out closed before the request was written and hyper-util resends it).
        let mut connection = capture_connection(&mut request);
        let response = self.client.request(request);
        tokio::pin!(response);
        let connecting = async {
            tokio::select! {
                biased;
                done = &mut response => Some(done),
                _ = connection.wait_for_connection_metadata() => None,
            }
        };
        let connected = tokio::time::timeout(connect_timeout, connecting).await;
        let done = match connected {
            Err(_) => return Err(Error::ConnectionTimeout),
            Ok(Some(done)) => done,
            Ok(None) => tokio::time::timeout(first_byte_timeout, response)
                .await
                .map_err(|_| Error::ConnectionReadTimeout)?,
        };
        let response = done.map_err(|e| Error::from(client_error(&e)))?;
        Ok(timed(response, between_bytes_timeout))
    }
}

impl WasiHttpHooks for TlsSender {
    fn send_request(
        &mut self,
        request: Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), Error>> + Send>,
                    ),
                    Error,
                >,
            > + Send,
    > {
        let sender = self.clone();
        Box::new(async move {
            let response = sender.send(request, options).await?;
            // The connection runs in its own task; a request body failure surfaces through the
            // response, so there is nothing left to report here.
            let io: Box<dyn Future<Output = Result<(), Error>> + Send> = Box::new(async { Ok(()) });
            Ok((response, io))
        })
    }
}
