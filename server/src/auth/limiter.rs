//! Failed token attempts per client address (login form, bearer tokens, server functions alike):
//! five failures in five minutes lock the address out until the oldest leaves the window. An IPv6
//! client is counted by its /64 (`listener::client_key`): one host commonly holds a whole /64.
//! The lockout is logged once, when it begins; refusals while it lasts are not (a locked-out
//! guesser must not be able to fill the log).
//!
//! Our own rather than `governor`: governor's GCRA spends a cell on every check, while here only a
//! *failure* counts and a correct token must never be charged; its keyed state grows with every
//! address until `retain_recent` is called, while this map is hard-bounded (the address whose
//! last failure is oldest is forgotten first); and the lockout must read "try again in N minutes"
//! from the oldest failure, which a replenishing bucket does not give.

use prometheus_client::metrics::counter::Counter;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per window before token attempts are refused.
pub const MAX_FAILURES: usize = 5;
/// The failure window, and how long a lockout lasts.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(5 * 60);
/// Client addresses tracked at most.
pub const LIMITER_CAPACITY: usize = 4096;
/// Every refused token waits this long (uniformly), so guessing is slow even below the limit.
pub const FAILURE_DELAY_MS: std::ops::RangeInclusive<u64> = 500..=1000;

/// Failed attempts per client address, bounded; with counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Limiter {
    recent: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
    /// Every failure recorded.
    pub failures: Counter,
    /// Every time an address reached the limit.
    pub lockouts: Counter,
}

impl Limiter {
    /// `Err(wait)` while the address is locked out.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let ip = crate::listener::client_key(ip);
        let mut map = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let Some(times) = map.get_mut(&ip) else {
            return Ok(());
        };
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= FAILURE_WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= MAX_FAILURES {
            let oldest = *times.front().expect("non-empty");
            return Err(FAILURE_WINDOW.saturating_sub(now.saturating_duration_since(oldest)));
        }
        Ok(())
    }

    /// Records a failure; logs the lockout it may begin (once per lockout).
    pub fn fail(&self, ip: IpAddr, now: Instant) {
        let ip = crate::listener::client_key(ip);
        let mut map = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= LIMITER_CAPACITY && !map.contains_key(&ip) {
            // Forget the address whose last failure is oldest.
            if let Some(victim) = map
                .iter()
                .min_by_key(|(_, t)| t.back().copied())
                .map(|(ip, _)| *ip)
            {
                map.remove(&victim);
            }
        }
        let times = map.entry(ip).or_default();
        times.retain(|t| now.saturating_duration_since(*t) < FAILURE_WINDOW);
        times.push_back(now);
        self.failures.inc();
        if times.len() == MAX_FAILURES {
            self.lockouts.inc();
            tracing::warn!(%ip, "token attempts locked out for 5 minutes: {MAX_FAILURES} failures");
        }
        while times.len() > MAX_FAILURES {
            times.pop_front();
        }
    }

    /// Addresses tracked (for tests of the bound).
    pub fn tracked(&self) -> usize {
        self.recent.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Waits the failure delay (on tokio's clock, so tests control it).
    pub async fn delay() {
        use rand::Rng;
        let ms = rand::rng().random_range(FAILURE_DELAY_MS);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

/// "Try again in N minute(s)" for a lockout's remaining time.
pub fn try_again_in(wait: Duration) -> String {
    let minutes = wait.as_secs().div_ceil(60).max(1);
    format!(
        "Try again in {minutes} minute{}.",
        if minutes == 1 { "" } else { "s" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_five_failures_and_forgets_after_the_window() {
        let l = Limiter::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..MAX_FAILURES {
            assert!(l.check(ip, t0).is_ok(), "attempt {i}");
            l.fail(ip, t0);
        }
        let wait = l.check(ip, t0 + Duration::from_secs(60)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(240));
        assert_eq!(try_again_in(wait), "Try again in 4 minutes.");
        assert_eq!(
            try_again_in(Duration::from_secs(1)),
            "Try again in 1 minute."
        );
        assert!(
            l.check("192.0.2.2".parse().unwrap(), t0).is_ok(),
            "other addresses are not locked"
        );
        assert!(l.check(ip, t0 + FAILURE_WINDOW).is_ok());
        assert_eq!((l.failures.get(), l.lockouts.get()), (5, 1));
        // Failures older than the window do not count towards a new lockout.
        l.fail(ip, t0 + FAILURE_WINDOW);
        assert!(l.check(ip, t0 + FAILURE_WINDOW).is_ok());
        assert_eq!((l.failures.get(), l.lockouts.get()), (6, 1));
    }

    #[test]
    fn an_ipv6_client_is_one_client_across_its_64() {
        let l = Limiter::default();
        let t0 = Instant::now();
        for i in 0..MAX_FAILURES as u16 {
            // a new address of the same /64 for every guess
            let ip = IpAddr::from([0x2001, 0xdb8, 7, 7, i, 1, 2, 3]);
            assert!(l.check(ip, t0).is_ok(), "guess {i}");
            l.fail(ip, t0);
        }
        assert!(l
            .check(IpAddr::from([0x2001, 0xdb8, 7, 7, 99, 0, 0, 1]), t0)
            .is_err());
        assert!(l
            .check(IpAddr::from([0x2001, 0xdb8, 7, 8, 0, 0, 0, 1]), t0)
            .is_ok());
        assert_eq!(l.tracked(), 1);
    }

    #[test]
    fn a_flood_of_addresses_keeps_memory_bounded() {
        let l = Limiter::default();
        let t0 = Instant::now();
        for i in 0..(LIMITER_CAPACITY as u32 * 4) {
            l.fail(
                IpAddr::from(i.to_be_bytes()),
                t0 + Duration::from_millis(u64::from(i)),
            );
        }
        assert_eq!(l.tracked(), LIMITER_CAPACITY);
        // The newest addresses are the ones kept: the attacker's latest cannot evict a lockout
        // younger than every other entry.
        let newest = IpAddr::from((LIMITER_CAPACITY as u32 * 4 - 1).to_be_bytes());
        for _ in 1..MAX_FAILURES {
            l.fail(newest, t0 + Duration::from_secs(30));
        }
        assert!(l.check(newest, t0 + Duration::from_secs(31)).is_err());
    }
}
