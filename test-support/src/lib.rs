//! Helpers shared by the integration tests of several crates.
//!
//! - [`free_port`]: a loopback TCP port nothing listens on right now.
//! - [`garage`]: a throwaway single-node Garage server, the S3-compatible
//!   service the S3 tests run against.
//! - [`browser`]: headless Chromium over chromedriver, for the viewer.
//! - [`link`]: a poor network link (bandwidth, delay, loss, outages)
//!   between two processes on loopback.
//! - [`oidc`]: a small OpenID Connect provider on loopback, for sign-in.

pub mod browser;
pub mod garage;
pub mod link;
pub mod oidc;

use std::net::{Ipv4Addr, TcpListener};

/// A loopback TCP port that was free when this returned. Another process
/// may take it before the caller binds it; callers that need several
/// distinct ports should use [`free_ports`].
pub fn free_port() -> Result<u16, String> {
    Ok(free_ports(1)?[0])
}

/// `n` distinct loopback TCP ports that were free when this returned.
pub fn free_ports(n: usize) -> Result<Vec<u16>, String> {
    // Hold every listener until all are chosen so the ports differ.
    let listeners = (0..n)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cannot bind a loopback port: {e}"))?;
    listeners
        .iter()
        .map(|l| {
            l.local_addr()
                .map(|a| a.port())
                .map_err(|e| format!("cannot read a bound port: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn free_ports_are_distinct() -> Result<(), String> {
        let mut ports = super::free_ports(5)?;
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 5);
        assert_ne!(super::free_port()?, 0);
        Ok(())
    }
}
