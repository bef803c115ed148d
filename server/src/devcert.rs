//! A self-signed certificate for trying `wss://` locally
//! (`snapwire-server dev-cert --out DIR`).
//!
//! It is a leaf, not a CA: `basicConstraints CA:FALSE`, key usage
//! `digitalSignature`, extended key usage `serverAuth`, names in
//! `subjectAltName` (browsers ignore the common name). OpenSSL 3's
//! `req -x509` makes `CA:TRUE` certificates, which rustls clients refuse as
//! a server's certificate (`CaUsedAsEndEntity`). The validity is short
//! (90 days, from a day ago against clock skew) because some platforms
//! refuse server certificates valid for longer than 825 days even when the
//! user trusts them.

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// The names every development certificate covers.
pub const DEFAULT_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];
/// How long a development certificate is valid.
const VALID_DAYS: i64 = 90;

/// A certificate and its private key, as PEM.
#[derive(Debug)]
pub struct DevCert {
    /// The certificate (also what clients are told to trust).
    pub cert_pem: String,
    /// The private key (PKCS#8).
    pub key_pem: String,
}

/// Why a development certificate could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum DevCertError {
    /// rcgen refused the parameters (for example an empty name).
    #[error("cannot make the certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// The directory or a file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// Makes a self-signed leaf certificate for [`DEFAULT_NAMES`] plus
/// `extra_names` (DNS names or IP addresses).
pub fn generate(extra_names: &[String]) -> Result<DevCert, DevCertError> {
    let mut names: Vec<String> = DEFAULT_NAMES.iter().map(|&n| n.to_owned()).collect();
    names.extend(extra_names.iter().cloned());
    let mut params = CertificateParams::new(names)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "snapwire development certificate");
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(VALID_DAYS);
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok(DevCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Writes `cert.pem` and `key.pem` (readable by the owner only) into `dir`,
/// creating it; returns their paths.
pub fn write(dir: &Path, cert: &DevCert) -> Result<(PathBuf, PathBuf), DevCertError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| DevCertError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, &cert.cert_pem).map_err(io(&cert_path))?;
    write_private(&key_path, cert.key_pem.as_bytes()).map_err(io(&key_path))?;
    Ok((cert_path, key_path))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // An existing file keeps its mode through `open`: tighten it too.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_loads_as_a_server_certificate() {
        let made = generate(&["game.test".to_owned()]).expect("generating");
        let dir =
            std::env::temp_dir().join(format!("snapwire-devcert-unit-{}", std::process::id()));
        let (cert, key) = write(&dir, &made).expect("writing");
        crate::net::transport::server_config(&cert, &key).expect("rustls should take the pair");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
