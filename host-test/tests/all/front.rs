//! A plain-http caller of the lock service's REST front, whichever host serves it (`wasmtime
//! serve`, or the embedding's `ProxyServer`); its connections are kept and reused.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// Generous bound for one call: proves the front never hangs.
const CALL_DEADLINE: Duration = Duration::from_secs(60);

/// One answer: the status and the JSON body.
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Value,
}

/// The front at one base URL.
pub struct Front {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Front {
    /// A caller of the front at `base` (`http://host:port`, with or without a final `/`).
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// `method path` presenting `token` (if any) with the JSON text `body` (empty: none); the
    /// status and JSON answer, or why no answer came. A body that is not JSON panics.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> Result<Answer, String> {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap();
        let response = tokio::time::timeout(CALL_DEADLINE, self.client.request(request))
            .await
            .map_err(|_| format!("{method} {path}: no answer within {CALL_DEADLINE:?}"))?
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{method} {path}: {status} with a body that is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        Ok(Answer { status, body })
    }
}
