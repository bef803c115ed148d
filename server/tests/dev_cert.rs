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
use std::process::Command;

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
