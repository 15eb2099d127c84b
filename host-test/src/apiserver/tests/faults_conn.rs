//! Injected faults that break the connection or the body: resets before and after a write is
//! applied (told apart by the history), a hang, a slow body and a cut one, read on the wire.

use std::time::Duration;

use super::super::{Fault, FaultRule};
use super::stream::{NEVER_HANGS, RawWatch, head_header};
use super::*;

/// The last logged request's status and fault.
fn last_logged(server: &ApiServer) -> (u16, Option<&'static str>) {
    let last = server.requests().pop().expect("logged");
    (last.status, last.fault)
}

#[tokio::test]
async fn a_reset_before_apply_closes_without_a_reply_and_writes_nothing() {
    let (server, c) = server(Options::default()).await;
    server.inject(FaultRule::next(1, Fault::ResetBeforeApply).on_verb("create"));
    let body = lease_body("r", SPEC);
    let r = tokio::time::timeout(NEVER_HANGS, c.send(Method::POST, LEASES, &[], &body))
        .await
        .expect("never hangs");
    assert!(r.is_err(), "a reply came: {:?}", r.map(|r| r.code));
    assert!(server.history().is_empty(), "the write was applied");
    // The rule is spent: the retry is applied.
    create(&c, "r").await;
    assert_eq!(server.history().len(), 1);
    let logged: Vec<_> = server
        .requests()
        .iter()
        .map(|r| (r.status, r.fault))
        .collect();
    assert_eq!(logged, [(0, Some("reset-before-apply")), (201, None)]);
}

#[tokio::test]
async fn a_reset_after_apply_closes_without_a_reply_but_the_write_is_applied() {
    let (server, c) = server(Options::default()).await;
    let v = create(&c, "r").await;
    server.inject(FaultRule::next(1, Fault::ResetAfterApply).on_verb("update"));
    let mut next = v.clone();
    next["spec"]["holderIdentity"] = "b".into();
    let r = tokio::time::timeout(
        NEVER_HANGS,
        c.send(Method::PUT, &format!("{LEASES}/r"), &[], &next.to_string()),
    )
    .await
    .expect("never hangs");
    assert!(r.is_err(), "a reply came: {:?}", r.map(|r| r.code));
    let history = server.history();
    assert_eq!(history.len(), 2);
    assert_eq!(
        (history[1].verb, history[1].holder.as_deref()),
        (Verb::Update, Some("b"))
    );
    assert_eq!(last_logged(&server), (0, Some("reset-after-apply")));
    let stored: Value = serde_json::from_str(&server.stored(NS, "r").unwrap()).unwrap();
    assert_eq!(stored["spec"]["holderIdentity"], "b");
}

#[tokio::test]
async fn a_hang_sends_nothing_until_the_client_gives_up_and_writes_nothing() {
    let (server, c) = server(Options::default()).await;
    server.inject(FaultRule::next(1, Fault::Hang));
    let gave_up = tokio::time::timeout(
        Duration::from_millis(500),
        c.send(Method::POST, LEASES, &[], &lease_body("h", SPEC)),
    )
    .await;
    assert!(
        gave_up.is_err(),
        "a reply came: {:?}",
        gave_up.map(|r| r.map(|r| r.code))
    );
    assert!(server.history().is_empty());
    assert_eq!(last_logged(&server), (0, Some("hang")));
    assert_eq!(c.get(LEASES).await.code, 200, "others are served");
}

#[tokio::test]
async fn a_hang_and_a_silent_watch_end_when_their_client_goes_away() {
    let (server, c) = server(Options::default()).await;
    // No connection yet: only the accept loop runs.
    let metrics = tokio::runtime::Handle::current().metrics();
    let idle = metrics.num_alive_tasks();
    server.inject(FaultRule::next(1, Fault::Hang));
    server.inject(FaultRule::next(1, Fault::WatchSilent));
    let hang = c.send(Method::GET, LEASES, &[], "");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), hang)
            .await
            .is_err()
    );
    let (watch, _) = RawWatch::open(&server, &format!("{LEASES}?watch=1")).await;
    drop(watch);
    tokio::time::timeout(NEVER_HANGS, async {
        while metrics.num_alive_tasks() > idle {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the server let go of both");
    assert_eq!(server.faults_fired().len(), 2);
}

#[tokio::test]
async fn a_slow_body_arrives_whole_in_several_pieces() {
    let (server, c) = server(Options::default()).await;
    create(&c, "s").await;
    server.inject(FaultRule::next(1, Fault::SlowBody { chunk_delay_ms: 20 }));
    let r = tokio::time::timeout(NEVER_HANGS, async {
        let tcp = TcpStream::connect(server.addr()).await.unwrap();
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let tls = connector(Some(&server.ca_pem()))
            .connect(name, tcp)
            .await
            .unwrap();
        let mut sender = http1(tls).await.unwrap();
        let req = Request::get(format!("{LEASES}/s"))
            .header("host", server.addr().to_string())
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        sender.send_request(req).await.unwrap()
    })
    .await
    .expect("the head comes");
    assert_eq!(r.status(), 200);
    let length: usize = r.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut body = r.into_body();
    let (mut pieces, mut got) = (0, Vec::new());
    while let Some(frame) = tokio::time::timeout(NEVER_HANGS, body.frame())
        .await
        .unwrap()
    {
        let data = frame.unwrap().into_data().unwrap();
        pieces += 1;
        got.extend_from_slice(&data);
    }
    let want = format!("{}\n", server.stored(NS, "s").unwrap());
    assert_eq!(
        (String::from_utf8(got).unwrap(), length),
        (want.clone(), want.len())
    );
    assert!(pieces > 1, "{pieces} pieces");
    assert_eq!(last_logged(&server), (200, Some("slow-body")));
}

#[tokio::test]
async fn a_cut_body_sends_the_head_and_half_the_body_then_closes() {
    let (server, c) = server(Options::default()).await;
    create(&c, "c").await;
    server.inject(FaultRule::next(1, Fault::CutBody).on_verb("get"));
    let (mut raw, head) = RawWatch::request(&server, "GET", &format!("{LEASES}/c"), "").await;
    raw.until_closed().await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    let whole = format!("{}\n", server.stored(NS, "c").unwrap());
    assert_eq!(
        head_header(&head, "content-length"),
        [whole.len().to_string()]
    );
    assert_eq!(
        String::from_utf8(raw.raw).unwrap(),
        whole[..whole.len() / 2]
    );
    assert_eq!(last_logged(&server), (200, Some("cut-body")));

    // On a write, the write is applied: only the reply is cut.
    server.inject(FaultRule::next(1, Fault::CutBody).on_verb("create"));
    let r = c
        .send(Method::POST, LEASES, &[], &lease_body("d", SPEC))
        .await;
    assert!(r.is_err(), "the whole reply came");
    assert!(server.stored(NS, "d").is_some());
}
