//! `snapwire-server dev-cert` makes a certificate that clients accept, and
//! the README's Deploying recipe (development certificate, join-token
//! secret, wss:// bots) works as written.

mod common;

use common::{ServerProcess, TestServer, config, next_snapshot, within};
use snapwire_bot::GameClient;
use snapwire_bot::client::{ClientOptions, Join, tls_trusting};
use snapwire_server::Config;
use snapwire_server::net::transport::server_config;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A fresh directory under the temp dir, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("snapwire-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating the temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `snapwire-server dev-cert --out DIR` as the README says.
fn dev_cert(cwd: &Path) -> (PathBuf, PathBuf) {
    let out = Command::new(env!("CARGO_BIN_EXE_snapwire-server"))
        .args(["dev-cert", "--out", "dev-tls"])
        .current_dir(cwd)
        .output()
        .expect("the server binary runs");
    assert!(out.status.success(), "dev-cert failed: {out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("localhost, 127.0.0.1, ::1"), "{said}");
    (cwd.join("dev-tls/cert.pem"), cwd.join("dev-tls/key.pem"))
}

#[tokio::test]
async fn a_dev_certificate_serves_wss_to_clients_that_trust_it() {
    let dir = TempDir::new("dev-cert");
    let (cert, key) = dev_cert(&dir.0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("key").permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key is private to its owner");
    }
    let tls = server_config(&cert, &key).expect("rustls loads the pair");
    let server = TestServer::start(Config {
        tls: Some(tls),
        ..config()
    })
    .await;
    let options = ClientOptions {
        tls: Some(tls_trusting(&cert).expect("trusting the dev certificate")),
        origin: None,
    };
    // By name and by address: both are in the certificate.
    let port = server.addr.port();
    for url in [
        format!("wss://localhost:{port}/play"),
        format!("wss://127.0.0.1:{port}/play"),
    ] {
        let (mut c, _) = within(GameClient::join_with(&url, &options, Join::named("tls")))
            .await
            .unwrap_or_else(|e| panic!("{url} should accept the dev certificate: {e}"));
        next_snapshot(&mut c).await;
    }
    server.stop().await;
}

/// The commands of README.md's "For local testing" recipe.
const RECIPE: [&str; 4] = [
    "cargo run --release -p snapwire-server -- dev-cert --out dev-tls",
    "head -c 32 /dev/urandom | base64 > secret.txt",
    "cargo run --release -p snapwire-server -- --tls-cert dev-tls/cert.pem --tls-key dev-tls/key.pem --auth-secret-file secret.txt",
    "cargo run --release -p snapwire-bot -- --url wss://localhost:7777/play --ca dev-tls/cert.pem --auth-secret-file secret.txt --bots 20",
];

/// The README's recipe, step by step, with the binaries this test was built
/// with, an ephemeral port instead of 7777, and the bots' pass criteria:
/// all 20 join over TLS with signed tokens, none is dropped, no snapshot
/// fails to decode or to chain, and snapshots keep coming (at least 20 a
/// second each, a bar a debug build on a loaded machine clears).
#[tokio::test]
async fn the_readme_deploying_recipe_holds() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    for command in RECIPE {
        assert!(
            readme.contains(command),
            "README.md no longer says: {command}"
        );
    }
    let bot = Path::new(env!("CARGO_BIN_EXE_snapwire-server")).with_file_name("snapwire-bot");
    assert!(
        bot.exists(),
        "{} is missing: run the tests as the README says (cargo test --workspace --all-targets)",
        bot.display()
    );
    let dir = TempDir::new("recipe");
    let (cert, key) = dev_cert(&dir.0);
    let secret = Command::new("sh")
        .args(["-c", RECIPE[1]])
        .current_dir(&dir.0)
        .status()
        .expect("sh runs");
    assert!(secret.success());
    let secret = dir.0.join("secret.txt");
    let server = ServerProcess::spawn(&[
        "--tls-cert",
        cert.to_str().expect("a UTF-8 path"),
        "--tls-key",
        key.to_str().expect("a UTF-8 path"),
        "--auth-secret-file",
        secret.to_str().expect("a UTF-8 path"),
    ])
    .await;
    assert!(server.url.starts_with("wss://"), "{}", server.url);
    let url = format!("wss://localhost:{}/play", server.addr().port());
    let report = dir.0.join("report.json");
    let bots = tokio::process::Command::new(&bot)
        .args(["--url", &url, "--ca"])
        .arg(&cert)
        .arg("--auth-secret-file")
        .arg(&secret)
        .args(["--bots", "20", "--ramp-up", "1s", "--duration", "3s"])
        .args(["--max-failed", "0", "--max-disconnected", "0"])
        .args(["--min-snapshot-hz", "20", "--report"])
        .arg(&report)
        .kill_on_drop(true)
        .output();
    let bots = tokio::time::timeout(std::time::Duration::from_secs(60), bots)
        .await
        .expect("the swarm ends by itself")
        .expect("the bot binary runs");
    assert!(
        bots.status.success(),
        "the swarm missed its criteria: {}",
        String::from_utf8_lossy(&bots.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("the report")).expect("JSON");
    assert_eq!(report["connected"], 20, "{report}");
    assert_eq!(report["decode_errors"], 0, "{report}");
    assert_eq!(report["delta_errors"], 0, "{report}");
    drop(server);
}

/// What a browser needs, as the README says: Chromium refuses the dev
/// certificate until it is in its NSS database as a trusted *server*
/// certificate (`certutil -t "P,,"`), then a page joins over `wss://`.
///
/// Needs `chromium` and `certutil` (Debian: `chromium`, `libnss3-tools`),
/// which `.ci/run` installs.
#[tokio::test]
async fn chromium_joins_over_wss_once_the_dev_certificate_is_trusted() {
    let chromium = Path::new("/usr/bin/chromium");
    assert!(
        chromium.exists() && Path::new("/usr/bin/certutil").exists(),
        "this test needs Debian's chromium and libnss3-tools (.ci/run installs them)"
    );
    let dir = TempDir::new("browser-trust");
    let (cert, key) = dev_cert(&dir.0);
    let tls = server_config(&cert, &key).expect("rustls loads the pair");
    let server = TestServer::start(Config {
        tls: Some(tls),
        ..config()
    })
    .await;
    let hello = snapwire_shared::codec::client_to_vec(&snapwire_shared::ClientMsg::Hello {
        protocol_version: snapwire_shared::protocol::PROTOCOL_VERSION,
        name: "browser".into(),
        resume_token: None,
        auth_token: None,
    })
    .expect("encoding Hello");
    let page = dir.0.join("page.html");
    std::fs::write(
        &page,
        format!(
            "<script>const ws = new WebSocket('wss://localhost:{}/play', '{}');\n\
             ws.onopen = () => ws.send(new Uint8Array({hello:?}));</script>",
            server.addr.port(),
            snapwire_shared::protocol::SUBPROTOCOL
        ),
    )
    .expect("writing the page");
    let browse = |home: &Path, profile: &str| {
        tokio::process::Command::new(chromium)
            .env("HOME", home)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", dir.0.join(profile).display()))
            .arg(format!("file://{}", page.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromium starts")
    };
    // Not trusted: the TLS handshake fails, nobody joins.
    let untrusted = dir.0.join("home-untrusted");
    std::fs::create_dir_all(&untrusted).expect("a home");
    let browser = browse(&untrusted, "profile-untrusted");
    until(&server, |(admitted, open, _)| admitted >= 1 && open == 0).await;
    drop(browser);
    assert_eq!(
        counts(&server).2,
        0,
        "an untrusted certificate must not connect"
    );
    // Trusted as a server certificate: the page joins.
    let home = dir.0.join("home");
    let nssdb = home.join(".pki/nssdb");
    std::fs::create_dir_all(&nssdb).expect("an NSS directory");
    let db = format!("sql:{}", nssdb.display());
    let certutil = |args: &[&str]| {
        let status = Command::new("certutil")
            .args(["-d", &db])
            .args(args)
            .status()
            .expect("certutil runs");
        assert!(status.success(), "certutil {args:?}");
    };
    certutil(&["-N", "--empty-password"]);
    certutil(&[
        "-A",
        "-t",
        "P,,",
        "-n",
        "snapwire-dev",
        "-i",
        cert.to_str().expect("UTF-8"),
    ]);
    let browser = browse(&home, "profile-trusted");
    until(&server, |(_, _, joined)| joined >= 1).await;
    drop(browser);
    server.stop().await;
}

/// The server's (admitted, open, joined) connection counts.
fn counts(server: &TestServer) -> (u64, u64, u64) {
    use std::sync::atomic::Ordering::Relaxed;
    let s = server.stats();
    (
        s.admitted.load(Relaxed),
        s.open.load(Relaxed),
        s.joined.load(Relaxed),
    )
}

/// Waits until the counts satisfy `done`. Polled: a browser's progress
/// shows only in the server's counters.
async fn until(server: &TestServer, done: impl Fn((u64, u64, u64)) -> bool) {
    within(async {
        while !done(counts(server)) {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
}
