//! A destination's bandwidth cap, shared by every job sending to it from
//! this node: a byte budget that refills at the cap's rate and may go into
//! debt by one instance, so the average rate holds however large the
//! instances are.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The budget may bank at most this much idle time, so a quiet hour does
/// not become a burst.
const BURST: Duration = Duration::from_secs(1);

pub struct Throttle {
    state: Mutex<State>,
}

struct State {
    /// Bytes that may be sent now; negative while paying off a debt.
    balance: f64,
    updated: Instant,
}

/// What the throttle says about sending now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Send after waiting this long.
    After(Duration),
    /// The cap is zero at this time: send nothing.
    Paused,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            state: Mutex::new(State {
                balance: 0.0,
                updated: Instant::now(),
            }),
        }
    }
}

impl Throttle {
    /// Takes `bytes` from the budget at `rate` bytes per second (`None`:
    /// unlimited) and says how long to wait before sending them.
    pub fn take(&self, bytes: u64, rate: Option<u64>, now: Instant) -> Permit {
        let Some(rate) = rate else {
            return Permit::After(Duration::ZERO);
        };
        if rate == 0 {
            return Permit::Paused;
        }
        let rate = rate as f64;
        let mut state = match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        let elapsed = now.saturating_duration_since(state.updated).as_secs_f64();
        state.balance = (state.balance + elapsed * rate).min(rate * BURST.as_secs_f64());
        state.updated = now;
        state.balance -= bytes as f64;
        if state.balance >= 0.0 {
            Permit::After(Duration::ZERO)
        } else {
            Permit::After(Duration::from_secs_f64(-state.balance / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_average_rate_holds_and_idle_time_banks_one_second() {
        let t = Throttle::default();
        let start = Instant::now();
        // 1 000 bytes/s: ten 500-byte sends take five seconds in all.
        let mut clock = start;
        for _ in 0..10 {
            match t.take(500, Some(1000), clock) {
                Permit::After(wait) => clock += wait,
                Permit::Paused => panic!("not paused"),
            }
        }
        let spent = clock - start;
        assert!((spent.as_secs_f64() - 5.0).abs() < 0.01, "spent {spent:?}");
        // After a long pause only one second's worth goes at once.
        let later = clock + Duration::from_secs(3600);
        assert_eq!(
            t.take(1000, Some(1000), later),
            Permit::After(Duration::ZERO)
        );
        assert_eq!(
            t.take(1000, Some(1000), later),
            Permit::After(Duration::from_secs(1))
        );
        assert_eq!(t.take(1, Some(0), later), Permit::Paused);
        assert_eq!(t.take(u64::MAX, None, later), Permit::After(Duration::ZERO));
    }
}
