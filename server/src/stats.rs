//! Counters of what the server saw, and log lines that cannot flood.
//!
//! Every refused connection and every protocol violation is counted by kind
//! and logged with its fields, but each kind is logged at most once a second:
//! a thousand bad clients produce one line a second per kind, and the
//! counters (and the periodic summary) still tell how many there were.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::warn;

/// Number of [`Violation`] kinds.
const KINDS: usize = 18;

/// What a connection did wrong, or why it was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Over `--max-connections`: refused with HTTP 503.
    ServerFull,
    /// Over `--max-connections-per-ip`: refused with HTTP 503.
    TooManyFromAddress,
    /// Upgrade plus Hello not done within `--handshake-timeout`.
    HandshakeTimeout,
    /// A text frame (1003).
    TextFrame,
    /// Bytes that do not decode (1007).
    Undecodable,
    /// A message or frame over `--max-message-bytes` (1009).
    Oversized,
    /// `Hello` with another protocol version (1002).
    WrongVersion,
    /// Something other than `Hello` first, or a second `Hello` (1002).
    OutOfOrder,
    /// NaN or infinity in an input, or a name too long (1007).
    InvalidValue,
    /// Over `--input-rate` (1008).
    RateLimited,
    /// Sent nothing for `--idle-timeout` (1008).
    Idle,
    /// Stopped reading for `--stall-timeout` (1008).
    Stalled,
    /// Fell too far behind on reliable events (1008).
    Lagging,
    /// A missing, badly signed or expired join token (1008).
    BadToken,
    /// A resume token that is unknown, spent or past its grace (1008).
    BadResume,
    /// A browser handshake from an origin not on `--allowed-origin` (403).
    ForbiddenOrigin,
    /// Broke the WebSocket framing rules: interleaved or unfinished
    /// fragments, an unknown opcode, reserved bits, an unmasked frame, a
    /// long or fragmented control frame, a bad close frame (1002).
    ProtocolError,
    /// Invalid UTF-8 in a text message or a close reason (1007).
    InvalidUtf8,
}

impl Violation {
    /// Every kind, in a fixed order (the order of the counters).
    pub const ALL: [Violation; KINDS] = [
        Violation::ServerFull,
        Violation::TooManyFromAddress,
        Violation::HandshakeTimeout,
        Violation::TextFrame,
        Violation::Undecodable,
        Violation::Oversized,
        Violation::WrongVersion,
        Violation::OutOfOrder,
        Violation::InvalidValue,
        Violation::RateLimited,
        Violation::Idle,
        Violation::Stalled,
        Violation::Lagging,
        Violation::BadToken,
        Violation::BadResume,
        Violation::ForbiddenOrigin,
        Violation::ProtocolError,
        Violation::InvalidUtf8,
    ];

    /// Stable name, for logs and summaries.
    pub fn name(self) -> &'static str {
        match self {
            Violation::ServerFull => "server_full",
            Violation::TooManyFromAddress => "too_many_from_address",
            Violation::HandshakeTimeout => "handshake_timeout",
            Violation::TextFrame => "text_frame",
            Violation::Undecodable => "undecodable",
            Violation::Oversized => "oversized",
            Violation::WrongVersion => "wrong_version",
            Violation::OutOfOrder => "out_of_order",
            Violation::InvalidValue => "invalid_value",
            Violation::RateLimited => "rate_limited",
            Violation::Idle => "idle",
            Violation::Stalled => "stalled",
            Violation::Lagging => "lagging",
            Violation::BadToken => "bad_token",
            Violation::BadResume => "bad_resume",
            Violation::ForbiddenOrigin => "forbidden_origin",
            Violation::ProtocolError => "protocol_error",
            Violation::InvalidUtf8 => "invalid_utf8",
        }
    }

    fn index(self) -> usize {
        Violation::ALL.iter().position(|&v| v == self).unwrap_or(0)
    }
}

/// How a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Closed {
    /// The server sent a close frame with this code.
    Code(u16),
    /// The client closed first; the server answered.
    Client,
    /// The transport was gone: no close frame.
    NoFrame,
}

impl Closed {
    /// Its metric label: the code, `client` or `none`.
    pub fn label(self) -> String {
        match self {
            Closed::Code(c) => c.to_string(),
            Closed::Client => "client".to_owned(),
            Closed::NoFrame => "none".to_owned(),
        }
    }
}

/// Server-wide counters. Shared by every connection; cheap to update.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted and admitted (past the connection caps).
    pub admitted: AtomicU64,
    /// Connections that completed Hello and joined a room.
    pub joined: AtomicU64,
    /// Connections currently open (admitted and not yet finished).
    pub open: AtomicU64,
    /// Inputs dropped because a room's command channel was full.
    pub inputs_dropped: AtomicU64,
    /// Sessions resumed with a session token (after a drop or a takeover).
    pub resumed: AtomicU64,
    /// Connections saying goodbye now (close frame sent, waiting for the
    /// client's).
    pub closing: AtomicU64,
    /// Connections ended, by how.
    closes: Mutex<BTreeMap<Closed, u64>>,
    /// Violations, by [`Violation::ALL`] order.
    violations: [AtomicU64; KINDS],
    /// Per kind: the second (since the epoch) of the last log line.
    last_logged: [AtomicU64; KINDS],
}

impl Stats {
    /// How many violations of `kind` have been seen.
    pub fn violations(&self, kind: Violation) -> u64 {
        self.violations[kind.index()].load(Ordering::Relaxed)
    }

    /// Counts a violation and logs it, unless this kind was already logged
    /// in the current second.
    pub fn violation(&self, kind: Violation, peer: std::net::SocketAddr, detail: &str) {
        let i = kind.index();
        let total = self.violations[i].fetch_add(1, Ordering::Relaxed) + 1;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if self.last_logged[i].swap(now, Ordering::Relaxed) != now {
            warn!(kind = kind.name(), %peer, detail, total, "client violation");
        }
    }

    /// Counts a connection's end (once per connection).
    pub fn closed(&self, how: Closed) {
        *self
            .closes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(how)
            .or_default() += 1;
    }

    /// How many connections ended each way so far.
    pub fn close_counts(&self) -> Vec<(Closed, u64)> {
        let closes = self.closes.lock().unwrap_or_else(|p| p.into_inner());
        closes.iter().map(|(&c, &n)| (c, n)).collect()
    }

    /// `(name, count)` of every kind seen at least once.
    pub fn violation_counts(&self) -> Vec<(&'static str, u64)> {
        Violation::ALL
            .iter()
            .map(|&v| (v.name(), self.violations(v)))
            .filter(|&(_, n)| n > 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_are_counted_by_kind() {
        let s = Stats::default();
        let peer = "127.0.0.1:1".parse().unwrap();
        for _ in 0..1000 {
            s.violation(Violation::Undecodable, peer, "x");
        }
        s.violation(Violation::Idle, peer, "y");
        assert_eq!(s.violations(Violation::Undecodable), 1000);
        assert_eq!(s.violations(Violation::Idle), 1);
        assert_eq!(s.violations(Violation::Stalled), 0);
        assert_eq!(
            s.violation_counts(),
            vec![("undecodable", 1000), ("idle", 1)]
        );
    }

    #[test]
    fn every_kind_has_its_own_slot() {
        for (i, v) in Violation::ALL.iter().enumerate() {
            assert_eq!(v.index(), i);
        }
    }
}
