//! Per-server and per-connection bounds: connection caps taken before the
//! upgrade, and a token bucket for client messages.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Why a connection was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `--max-connections` reached.
    Full,
    /// `--max-connections-per-ip` reached for this address.
    PerAddress,
}

/// Connection caps, checked at accept time, before any upgrade work.
#[derive(Debug)]
pub(crate) struct ConnectionCaps {
    /// One permit per open connection.
    total: Arc<Semaphore>,
    /// Open connections per remote address; entries at zero are removed.
    per_ip: Mutex<HashMap<IpAddr, u32>>,
    /// 0 = unlimited.
    max_per_ip: u32,
}

/// Held by an admitted connection; gives its slots back when dropped.
#[derive(Debug)]
pub(crate) struct Admission {
    _permit: OwnedSemaphorePermit,
    caps: Arc<ConnectionCaps>,
    ip: IpAddr,
}

impl ConnectionCaps {
    pub(crate) fn new(max_total: usize, max_per_ip: u32) -> Arc<Self> {
        Arc::new(ConnectionCaps {
            total: Arc::new(Semaphore::new(max_total.min(Semaphore::MAX_PERMITS))),
            per_ip: Mutex::new(HashMap::new()),
            max_per_ip,
        })
    }

    /// Takes a slot for a connection from `ip`, or says why not.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admission, Refusal> {
        let permit = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal::Full)?;
        if self.max_per_ip > 0 {
            let mut per_ip = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
            let n = per_ip.entry(ip).or_insert(0);
            if *n >= self.max_per_ip {
                return Err(Refusal::PerAddress);
            }
            *n += 1;
        }
        Ok(Admission {
            _permit: permit,
            caps: self.clone(),
            ip,
        })
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        if self.caps.max_per_ip == 0 {
            return;
        }
        let mut per_ip = self.caps.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

/// A token bucket: `rate` tokens a second, holding at most `burst`.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(rate: f64, burst: f64) -> Self {
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    /// Takes one token at `now`; false when the bucket is empty.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn caps_count_total_and_per_address() {
        let caps = ConnectionCaps::new(3, 2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let a1 = caps.admit(a).expect("first from a");
        let _a2 = caps.admit(a).expect("second from a");
        assert_eq!(caps.admit(a).err(), Some(Refusal::PerAddress));
        let _b1 = caps.admit(b).expect("first from b");
        assert_eq!(caps.admit(b).err(), Some(Refusal::Full));
        drop(a1);
        let _a3 = caps.admit(a).expect("a slot came back");
    }

    #[test]
    fn a_refused_address_does_not_leak_a_total_slot() {
        let caps = ConnectionCaps::new(2, 1);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let _a1 = caps.admit(a).unwrap();
        for _ in 0..10 {
            assert_eq!(caps.admit(a).err(), Some(Refusal::PerAddress));
        }
        let _b = caps
            .admit("127.0.0.2".parse().unwrap())
            .expect("the total cap still has room");
    }

    #[test]
    fn zero_per_address_means_unlimited() {
        let caps = ConnectionCaps::new(100, 0);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let held: Vec<_> = (0..100).map(|_| caps.admit(a).unwrap()).collect();
        assert_eq!(held.len(), 100);
        assert!(caps.per_ip.lock().unwrap().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_bucket_allows_the_rate_and_a_burst() {
        let mut b = TokenBucket::new(10.0, 5.0);
        let now = Instant::now();
        assert_eq!(
            (0..8).filter(|_| b.take(now)).count(),
            5,
            "a full bucket gives its burst"
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        let later = Instant::now();
        assert_eq!(
            (0..20).filter(|_| b.take(later)).count(),
            5,
            "refills to the burst, not beyond"
        );
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(b.take(Instant::now()), "one token per 100 ms at 10/s");
        assert!(!b.take(Instant::now()));
    }
}
