//! Signed join tokens: HS256 JWTs minted by the game's backend.
//!
//! With a secret configured, every `Hello` that does not resume a session
//! must carry a token signed with it, naming the player (`sub`), the
//! display name, the expiry and optionally the room
//! ([`JoinClaims`]). Any failure is one error: the client is told
//! `invalid token` and never which check failed.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use snapwire_shared::auth::JoinClaims;
pub use snapwire_shared::auth::{MIN_SECRET_BYTES, SECRET_ENV, SecretError, load_secret};
use snapwire_shared::protocol::MAX_NAME_BYTES;
use snapwire_shared::{PlayerId, RoomId};

/// A token was missing, malformed, badly signed, expired, or said
/// something invalid. Deliberately without detail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid token")]
pub struct InvalidToken;

/// Who a verified token says the player is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The player's id.
    pub player: PlayerId,
    /// The display name.
    pub name: String,
    /// The room asked for, if any.
    pub room: Option<RoomId>,
}

/// Verifies join tokens against one secret.
pub struct JoinAuth {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JoinAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.write_str("JoinAuth(HS256)")
    }
}

impl JoinAuth {
    /// A verifier for tokens signed with `secret`.
    pub fn new(secret: &[u8]) -> Self {
        // HS256 only: a token naming another algorithm (`none`, RS256 with
        // the secret as a "public key") is refused. `exp` and `sub` are
        // required; the default 60 s leeway absorbs clock skew between
        // the backend and the server.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        JoinAuth {
            key: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Checks signature, expiry and contents.
    pub fn verify(&self, token: &str) -> Result<Identity, InvalidToken> {
        let data = jsonwebtoken::decode::<JoinClaims>(token, &self.key, &self.validation)
            .map_err(|_| InvalidToken)?;
        let claims = data.claims;
        let player = claims
            .sub
            .parse::<u32>()
            .ok()
            .filter(|&id| id != 0)
            .ok_or(InvalidToken)?;
        if claims.name.len() > MAX_NAME_BYTES || claims.room == Some(0) {
            return Err(InvalidToken);
        }
        Ok(Identity {
            player: PlayerId(player),
            name: claims.name,
            room: claims.room.map(RoomId),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use snapwire_shared::auth::mint;
    use std::time::Duration;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn claims_token(claims: &JoinClaims, secret: &[u8]) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(secret),
        )
        .expect("encoding a token")
    }

    #[test]
    fn a_minted_token_verifies() {
        let claims = JoinClaims::new(
            PlayerId(42),
            "ann",
            Duration::from_secs(60),
            Some(RoomId(7)),
        );
        let token = mint(SECRET, &claims).expect("minting");
        let id = JoinAuth::new(SECRET).verify(&token).expect("valid token");
        assert_eq!(
            id,
            Identity {
                player: PlayerId(42),
                name: "ann".into(),
                room: Some(RoomId(7)),
            }
        );
    }

    #[test]
    fn bad_signature_expiry_and_contents_are_refused() {
        let auth = JoinAuth::new(SECRET);
        let good = JoinClaims {
            sub: "5".into(),
            name: "bo".into(),
            exp: u64::MAX / 2,
            room: None,
        };
        assert!(auth.verify(&claims_token(&good, SECRET)).is_ok());
        let other_secret = b"ffffffffffffffffffffffffffffffff";
        assert_eq!(
            auth.verify(&claims_token(&good, other_secret)),
            Err(InvalidToken)
        );
        let expired = JoinClaims {
            exp: 1,
            ..good.clone()
        };
        assert_eq!(
            auth.verify(&claims_token(&expired, SECRET)),
            Err(InvalidToken)
        );
        for sub in ["0", "-1", "abc", "4294967296"] {
            let bad = JoinClaims {
                sub: sub.into(),
                ..good.clone()
            };
            assert_eq!(
                auth.verify(&claims_token(&bad, SECRET)),
                Err(InvalidToken),
                "sub {sub}"
            );
        }
        let long_name = JoinClaims {
            name: "x".repeat(MAX_NAME_BYTES + 1),
            ..good.clone()
        };
        assert_eq!(
            auth.verify(&claims_token(&long_name, SECRET)),
            Err(InvalidToken)
        );
        assert_eq!(auth.verify("not.a.jwt"), Err(InvalidToken));
        assert_eq!(auth.verify(""), Err(InvalidToken));
    }

    #[test]
    fn a_token_minted_by_another_jwt_library_verifies() {
        // Made by the README's Python example (PyJWT 2.15.1) with SECRET and
        // {"sub": "42", "name": "ann", "exp": 4102444800 (2100), "room": 3}.
        let pyjwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
                     eyJzdWIiOiI0MiIsIm5hbWUiOiJhbm4iLCJleHAiOjQxMDI0NDQ4MDAsInJvb20iOjN9.\
                     keP2Zpurq12n5U-XeIreUx75j_omG0Im64Sa7ejOF54";
        let secret = b"test-secret-test-secret-test-secret";
        assert_eq!(
            JoinAuth::new(secret).verify(pyjwt),
            Ok(Identity {
                player: PlayerId(42),
                name: "ann".into(),
                room: Some(RoomId(3)),
            })
        );
    }

    #[test]
    fn other_algorithms_are_refused() {
        let claims = JoinClaims {
            sub: "5".into(),
            name: "bo".into(),
            exp: u64::MAX / 2,
            room: None,
        };
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .expect("encoding");
        assert_eq!(JoinAuth::new(SECRET).verify(&hs512), Err(InvalidToken));
        // An unsigned token ("alg": "none").
        let unsigned = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiI1IiwibmFtZSI6ImJvIiwiZXhwIjo5OTk5OTk5OTk5fQ.";
        assert_eq!(JoinAuth::new(SECRET).verify(unsigned), Err(InvalidToken));
    }
}
