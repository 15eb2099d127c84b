//! The `wasi:http/incoming-handler` export: reads the request (body capped), hands it to
//! `routes` and `service`, and writes the reply. Every failure becomes a reply, never a trap.

use wasi::http::types::{
    Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use wasi::io::streams::StreamError;

use crate::respond::{self, Reply};
use crate::routes::{self, MAX_BODY, Request};
use crate::service;

/// The exported handler.
struct Handler;

wasi::http::proxy::export!(Handler);

impl wasi::exports::http::incoming_handler::Guest for Handler {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        write(out, &serve(&request));
    }
}

fn serve(request: &IncomingRequest) -> Reply {
    let guard = match service::guard() {
        Ok(guard) => guard,
        Err(reply) => return reply,
    };
    let method = method_name(request.method());
    let path = request.path_with_query().unwrap_or_default();
    let authorization = request.headers().get("authorization").into_iter().next();
    let (body, body_too_large) = match read_body(request) {
        Ok(read) => read,
        Err(reply) => return reply,
    };
    let parsed = Request {
        method: &method,
        path_with_query: &path,
        authorization: authorization.as_deref(),
        body: &body,
        body_too_large,
    };
    match routes::route(&parsed, &guard) {
        Ok(action) => service::run(action, &guard.front_token),
        Err(reply) => reply,
    }
}

fn method_name(method: Method) -> String {
    match method {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(other) => other,
    }
}

/// The body, or only the flag that it exceeds [`MAX_BODY`] (the rest is never read).
fn read_body(request: &IncomingRequest) -> Result<(Vec<u8>, bool), Reply> {
    let unreadable = || respond::error(400, "bad-request", "the request body could not be read");
    let body = request.consume().map_err(|()| unreadable())?;
    let stream = body.stream().map_err(|()| unreadable())?;
    let mut read = Vec::new();
    loop {
        match stream.blocking_read(4096) {
            Ok(chunk) => read.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(_)) => return Err(unreadable()),
        }
        if read.len() > MAX_BODY {
            return Ok((Vec::new(), true));
        }
    }
    drop(stream);
    IncomingBody::finish(body);
    Ok((read, false))
}

fn write(out: ResponseOutparam, reply: &Reply) {
    let headers = Fields::from_list(&[("content-type".into(), b"application/json".to_vec())])
        .unwrap_or_else(|_| Fields::new());
    let response = OutgoingResponse::new(headers);
    // Every status the service answers is a valid one.
    let _ = response.set_status_code(reply.status);
    let Ok(body) = response.body() else {
        return;
    };
    ResponseOutparam::set(out, Ok(response));
    if let Ok(stream) = body.write() {
        for chunk in reply.body.chunks(4096) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                break;
            }
        }
    }
    let _ = OutgoingBody::finish(body, None);
}
