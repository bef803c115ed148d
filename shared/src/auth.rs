//! The claims of a signed join token.
//!
//! A game's backend mints a standard JWT (HS256, signed with the secret it
//! shares with the server) carrying these claims, and the client passes it
//! in `Hello::auth_token`. The server checks them; with the `jwt` feature,
//! [`mint`] makes one (the server's `token` subcommand and the bots use it).

use serde::{Deserialize, Serialize};

/// Shortest secret accepted: HS256 wants at least 256 bits of key.
pub const MIN_SECRET_BYTES: usize = 32;
/// Environment variable that may hold the secret instead of a file.
pub const SECRET_ENV: &str = "SNAPWIRE_AUTH_SECRET";

/// Why a secret cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Fewer than [`MIN_SECRET_BYTES`] bytes (after trimming whitespace).
    #[error("auth secret too short: {0} bytes, need at least {MIN_SECRET_BYTES}")]
    TooShort(usize),
    /// The secret file could not be read.
    #[error("cannot read the auth secret from {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The secret from `file` if given, else from [`SECRET_ENV`], else none.
pub fn load_secret(file: Option<&std::path::Path>) -> Result<Option<Vec<u8>>, SecretError> {
    let raw = match file {
        Some(path) => std::fs::read(path).map_err(|source| SecretError::Read {
            path: path.display().to_string(),
            source,
        })?,
        None => match std::env::var_os(SECRET_ENV) {
            Some(v) => v.into_encoded_bytes(),
            None => return Ok(None),
        },
    };
    secret_from_bytes(&raw).map(Some)
}

/// Checks a secret's length; surrounding whitespace (a file's final
/// newline) is not part of it.
pub fn secret_from_bytes(raw: &[u8]) -> Result<Vec<u8>, SecretError> {
    let secret = raw.trim_ascii().to_vec();
    if secret.len() < MIN_SECRET_BYTES {
        return Err(SecretError::TooShort(secret.len()));
    }
    Ok(secret)
}

/// What a join token says about its player.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinClaims {
    /// The player's id: a decimal number from 1 to 4294967295, as a string
    /// (JWT's `sub` is a string). It becomes the player's `PlayerId`.
    pub sub: String,
    /// Display name, at most `MAX_NAME_BYTES` bytes; replaces `Hello::name`.
    pub name: String,
    /// Expiry, seconds since the Unix epoch (JWT's `exp`).
    pub exp: u64,
    /// The room to join, created if it does not exist; absent: any room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<u32>,
}

impl JoinClaims {
    /// Claims for `player` called `name`, valid for `ttl` from now.
    pub fn new(
        player: crate::PlayerId,
        name: &str,
        ttl: std::time::Duration,
        room: Option<crate::RoomId>,
    ) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        JoinClaims {
            sub: player.0.to_string(),
            name: name.to_owned(),
            exp: (now + ttl).as_secs(),
            room: room.map(|r| r.0),
        }
    }
}

/// Signs `claims` with `secret` as an HS256 JWT, as a game backend would.
#[cfg(feature = "jwt")]
pub fn mint(secret: &[u8], claims: &JoinClaims) -> Result<String, jsonwebtoken::errors::Error> {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_are_refused_and_whitespace_trimmed() {
        assert!(matches!(
            secret_from_bytes(b"short\n"),
            Err(SecretError::TooShort(5))
        ));
        let s = secret_from_bytes(b"  0123456789abcdef0123456789abcdef\n").expect("long enough");
        assert_eq!(s, b"0123456789abcdef0123456789abcdef");
    }
}
