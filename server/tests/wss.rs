//! `wss://`: the server serves TLS natively (rustls) with a certificate made
//! at test time, and a client and a small bot swarm play over it.

mod common;

use common::{TestServer, config, next_snapshot, within};
use snapwire_bot::client::{ClientOptions, Join, tls_trusting};
use snapwire_bot::{GameClient, SwarmConfig, run_swarm};
use snapwire_server::Config;
use snapwire_server::net::transport::server_config;
use snapwire_shared::{ClientMsg, InputCmd};
use std::path::PathBuf;
use std::time::Duration;

/// A self-signed certificate for `localhost`, written as PEM files into a
/// fresh directory under the system's temp dir.
struct TestCert {
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl TestCert {
    fn new(tag: &str) -> Self {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("generating a certificate");
        let dir = std::env::temp_dir().join(format!("snapwire-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("creating the temp dir");
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, made.cert.pem()).expect("writing the certificate");
        std::fs::write(&key, made.signing_key.serialize_pem()).expect("writing the key");
        TestCert { dir, cert, key }
    }
}

impl TestCert {
    /// Client options that trust only this certificate.
    fn trusting_client(&self) -> ClientOptions {
        ClientOptions {
            tls: Some(tls_trusting(&self.cert).expect("trusting the test certificate")),
            origin: None,
        }
    }
}

impl Drop for TestCert {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn tls_server(cert: &TestCert) -> TestServer {
    let tls = server_config(&cert.cert, &cert.key).expect("loading the test certificate");
    TestServer::start(Config {
        tls: Some(tls),
        ..config()
    })
    .await
}

#[tokio::test]
async fn a_game_session_runs_over_wss() {
    let cert = TestCert::new("wss-session");
    let server = tls_server(&cert).await;
    let url = server.handle().url_with_scheme("wss");
    assert!(url.starts_with("wss://localhost:"), "{url}");
    let options = cert.trusting_client();
    let (mut client, welcome) = within(GameClient::join_with(&url, &options, Join::named("tls")))
        .await
        .expect("joining over wss");
    let first = next_snapshot(&mut client).await;
    assert!(first.delta.spawned.iter().any(|e| e.id == welcome.entity));
    // Inputs flow back: the server acknowledges them.
    for seq in 1..=10 {
        let input = InputCmd {
            seq,
            move_x: 1.0,
            ..InputCmd::default()
        };
        client.send(&(input).msg()).await.expect("send input");
    }
    let mut acked = 0;
    for _ in 0..60 {
        acked = next_snapshot(&mut client).await.ack_input_seq;
        if acked == 10 {
            break;
        }
    }
    assert_eq!(acked, 10, "every input was applied");
    client.send(&ClientMsg::Leave).await.expect("send Leave");
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_certificate_is_refused_and_plain_ws_fails() {
    let cert = TestCert::new("wss-untrusted");
    let server = tls_server(&cert).await;
    // The web PKI roots do not include a self-signed test certificate.
    let untrusted = within(GameClient::connect_with(
        &server.handle().url_with_scheme("wss"),
        &ClientOptions::default(),
    ))
    .await;
    assert!(
        untrusted.is_err(),
        "a self-signed certificate is not trusted by default"
    );
    // Plain WebSocket to a TLS port fails cleanly.
    assert!(within(GameClient::connect(&server.url())).await.is_err());
    // The server is unharmed.
    let options = cert.trusting_client();
    let (mut c, _) = within(GameClient::join_with(
        &server.handle().url_with_scheme("wss"),
        &options,
        Join::named("ok"),
    ))
    .await
    .expect("a trusting client joins");
    next_snapshot(&mut c).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_swarm_plays_over_wss() {
    let cert = TestCert::new("wss-swarm");
    let server = tls_server(&cert).await;
    let swarm = SwarmConfig {
        options: cert.trusting_client(),
        ..SwarmConfig::new(
            server.handle().url_with_scheme("wss"),
            4,
            Duration::from_secs(1),
        )
    };
    let report = tokio::time::timeout(Duration::from_secs(30), run_swarm(swarm))
        .await
        .expect("the swarm ends in time");
    assert_eq!(
        (report.connected, report.failed, report.disconnected),
        (4, 0, 0)
    );
    assert!(report.snapshot_hz > 20.0, "{}", report.snapshot_hz);
    assert_eq!((report.decode_errors, report.delta_errors), (0, 0));
    server.stop().await;
}
