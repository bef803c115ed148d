//! Seat reservations: what `/matchmake` hands out and `Hello` then carries.
//!
//! A reservation is an HS256 JWT (header `typ: seat+jwt`) signed with the
//! cluster's seat key: the process that holds the room (`aud`), the room,
//! the mode, a single-use id (`jti`), a short expiry, and the player's
//! identity when a join token vouched for it. The key is shared through the
//! registry (Redis) by every process of one deployment; a process on its
//! own makes one at start. A reservation is accepted once, by its process,
//! before it expires; anything else is refused with 1008.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use snapwire_shared::{PlayerId, RoomId};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The JWT header's `typ` that tells a reservation from a join token.
pub(crate) const SEAT_TYP: &str = "seat+jwt";
/// Length of a seat key, bytes.
pub(crate) const KEY_BYTES: usize = 32;

/// What a reservation says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatClaims {
    /// The process that holds the room, by its registry id.
    pub aud: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// The seat's single-use id.
    pub jti: String,
    /// The room.
    pub room: u32,
    /// The game mode.
    pub mode: String,
    /// The player's id, when a join token named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The display name, when a join token named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl SeatClaims {
    /// The room as an id.
    pub fn room_id(&self) -> RoomId {
        RoomId(self.room)
    }

    /// The player's id, if the reservation names one.
    pub fn player(&self) -> Option<PlayerId> {
        self.sub
            .as_deref()
            .and_then(|s| s.parse().ok())
            .filter(|&p| p != 0)
            .map(PlayerId)
    }
}

/// Why a reservation was refused; the client only hears
/// `invalid reservation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SeatError {
    /// Not signed with this deployment's key, malformed, or for another process.
    #[error("foreign or malformed reservation")]
    Foreign,
    /// Past its expiry.
    #[error("expired reservation")]
    Expired,
    /// Already used.
    #[error("reservation already used")]
    Used,
    /// Too many reservations in use at once to remember another.
    #[error("too many reservations outstanding")]
    Busy,
    /// The seat key is not known yet (the registry has not answered).
    #[error("no seat key yet")]
    NoKey,
}

/// The signing key, as raw bytes and as jsonwebtoken keys.
struct Key {
    raw: Arc<[u8]>,
    enc: EncodingKey,
    dec: DecodingKey,
}

/// Signs and checks reservations for one process.
pub(crate) struct Seats {
    /// This process's registry id: the audience it accepts.
    me: String,
    key: RwLock<Option<Key>>,
    /// Reservations already accepted, until they expire (replays refused).
    used: Mutex<Used>,
    /// Most reservations remembered as used at once.
    max_used: usize,
}

#[derive(Default)]
struct Used {
    ids: HashSet<String>,
    /// By acceptance, with expiry: the oldest expire first (one TTL for all).
    order: VecDeque<(u64, String)>,
}

impl std::fmt::Debug for Seats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seats")
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// A fresh random key (or id).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::fill(&mut b[..]);
    b
}

/// Hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Seats {
    /// Seats for process `me`, with `key` if it is known already.
    pub(crate) fn new(me: String, key: Option<&[u8]>, max_used: usize) -> Self {
        let seats = Seats {
            me,
            key: RwLock::new(None),
            used: Mutex::default(),
            max_used: max_used.max(1),
        };
        if let Some(k) = key {
            seats.set_key(k);
        }
        seats
    }

    /// Uses `raw` from now on (the registry's key, which every process shares).
    pub(crate) fn set_key(&self, raw: &[u8]) {
        let mut key = self.key.write().unwrap_or_else(|p| p.into_inner());
        if key.as_ref().is_some_and(|k| *k.raw == *raw) {
            return;
        }
        *key = Some(Key {
            raw: raw.into(),
            enc: EncodingKey::from_secret(raw),
            dec: DecodingKey::from_secret(raw),
        });
    }

    /// The key in use, if any.
    pub(crate) fn key(&self) -> Option<Arc<[u8]>> {
        let key = self.key.read().unwrap_or_else(|p| p.into_inner());
        key.as_ref().map(|k| k.raw.clone())
    }

    /// Signs a reservation.
    pub(crate) fn sign(&self, claims: &SeatClaims) -> Result<String, SeatError> {
        let key = self.key.read().unwrap_or_else(|p| p.into_inner());
        let key = key.as_ref().ok_or(SeatError::NoKey)?;
        let header = Header {
            typ: Some(SEAT_TYP.to_owned()),
            ..Header::new(Algorithm::HS256)
        };
        jsonwebtoken::encode(&header, claims, &key.enc).map_err(|_| SeatError::NoKey)
    }

    /// Whether `token` is a reservation rather than a join token (by its
    /// header; nothing is verified).
    pub(crate) fn is_reservation(token: &str) -> bool {
        jsonwebtoken::decode_header(token).is_ok_and(|h| h.typ.as_deref() == Some(SEAT_TYP))
    }

    /// Checks a reservation for this process and marks it used.
    pub(crate) fn accept(&self, token: &str) -> Result<SeatClaims, SeatError> {
        let claims = {
            let key = self.key.read().unwrap_or_else(|p| p.into_inner());
            let key = key.as_ref().ok_or(SeatError::NoKey)?;
            let mut v = Validation::new(Algorithm::HS256);
            v.set_required_spec_claims(&["exp", "aud"]);
            v.set_audience(&[&self.me]);
            // Reservations live seconds; a clock skew between processes
            // of a deployment is the operator's to fix.
            v.leeway = 0;
            match jsonwebtoken::decode::<SeatClaims>(token, &key.dec, &v) {
                Ok(data) => data.claims,
                Err(e) => {
                    return Err(match e.kind() {
                        jsonwebtoken::errors::ErrorKind::ExpiredSignature => SeatError::Expired,
                        _ => SeatError::Foreign,
                    });
                }
            }
        };
        let now = unix_now();
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        while used.order.front().is_some_and(|(exp, _)| *exp < now) {
            if let Some((_, id)) = used.order.pop_front() {
                used.ids.remove(&id);
            }
        }
        if used.ids.contains(&claims.jti) {
            return Err(SeatError::Used);
        }
        if used.ids.len() >= self.max_used {
            return Err(SeatError::Busy);
        }
        used.ids.insert(claims.jti.clone());
        used.order.push_back((claims.exp, claims.jti.clone()));
        Ok(claims)
    }
}

/// Claims for a new seat in `room` on process `aud`, valid for `ttl`.
pub(crate) fn claims(
    aud: &str,
    room: RoomId,
    mode: &str,
    ttl: Duration,
    who: Option<(PlayerId, String)>,
) -> SeatClaims {
    let (sub, name) = match who {
        Some((p, n)) => (Some(p.0.to_string()), Some(n)),
        None => (None, None),
    };
    SeatClaims {
        aud: aud.to_owned(),
        exp: unix_now() + ttl.as_secs().max(1),
        jti: hex(&random_bytes::<12>()),
        room: room.0,
        mode: mode.to_owned(),
        sub,
        name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reservation_is_accepted_once_by_its_process_only() {
        let key = random_bytes::<KEY_BYTES>();
        let a = Seats::new("a".into(), Some(&key), 16);
        let b = Seats::new("b".into(), Some(&key), 16);
        let c = claims("a", RoomId(7), "arena", Duration::from_secs(10), None);
        let token = a.sign(&c).expect("signed");
        assert!(Seats::is_reservation(&token));
        assert_eq!(
            b.accept(&token),
            Err(SeatError::Foreign),
            "another audience"
        );
        assert_eq!(a.accept(&token), Ok(c));
        assert_eq!(a.accept(&token), Err(SeatError::Used));
        let other = Seats::new("a".into(), Some(&random_bytes::<KEY_BYTES>()), 16);
        let forged = other
            .sign(&claims(
                "a",
                RoomId(7),
                "arena",
                Duration::from_secs(10),
                None,
            ))
            .expect("signed");
        assert_eq!(a.accept(&forged), Err(SeatError::Foreign), "another key");
        let mut old = claims("a", RoomId(7), "arena", Duration::from_secs(10), None);
        old.exp = unix_now() - 1;
        assert_eq!(
            a.accept(&a.sign(&old).expect("signed")),
            Err(SeatError::Expired)
        );
        assert!(!Seats::is_reservation("not.a.jwt"));
    }

    #[test]
    fn remembered_reservations_are_bounded() {
        let key = random_bytes::<KEY_BYTES>();
        let a = Seats::new("a".into(), Some(&key), 2);
        for _ in 0..2 {
            let t = a
                .sign(&claims("a", RoomId(1), "m", Duration::from_secs(10), None))
                .expect("signed");
            a.accept(&t).expect("accepted");
        }
        let t = a
            .sign(&claims("a", RoomId(1), "m", Duration::from_secs(10), None))
            .expect("signed");
        assert_eq!(a.accept(&t), Err(SeatError::Busy));
    }
}
