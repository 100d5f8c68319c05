//! Helpers shared by the integration tests of several crates.
//!
//! - [`free_port`]: a loopback TCP port nothing listens on right now;
//!   [`ClosedPort`]: one held so that nothing can take it until released.
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

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use socket2::{Domain, Socket, Type};

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

/// A loopback TCP port held closed: bound but not listening, so a
/// connection to it is refused, and no other socket on this machine can
/// bind it while it is held (the ephemeral range skips it too). For a peer
/// that is down at first and comes up later on the same port: a plain
/// [`free_port`] may be taken meanwhile by any other test's server, and
/// then the "peer" answering there is a stranger.
pub struct ClosedPort {
    socket: Socket,
    port: u16,
}

impl ClosedPort {
    pub fn new() -> Result<ClosedPort, String> {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None)
            .map_err(|e| format!("cannot open a socket: {e}"))?;
        socket
            .bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())
            .map_err(|e| format!("cannot bind a loopback port: {e}"))?;
        let port = socket
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .map(|a| a.port())
            .ok_or("cannot read a bound port")?;
        Ok(ClosedPort { socket, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Lets the port go, for the peer that is to listen on it next. The
    /// socket never connected, so the port is free at once.
    pub fn release(self) -> u16 {
        drop(self.socket);
        self.port
    }
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

    #[test]
    fn a_closed_port_refuses_and_cannot_be_taken_until_released() -> Result<(), String> {
        let held = super::ClosedPort::new()?;
        let port = held.port();
        let refused = std::net::TcpStream::connect((super::Ipv4Addr::LOCALHOST, port));
        assert!(refused.is_err(), "a held port refuses connections");
        assert!(
            super::TcpListener::bind((super::Ipv4Addr::LOCALHOST, port)).is_err(),
            "nobody else binds a held port"
        );
        let port = held.release();
        let listener = super::TcpListener::bind((super::Ipv4Addr::LOCALHOST, port))
            .map_err(|e| format!("a released port is free: {e}"))?;
        assert_eq!(listener.local_addr().map(|a| a.port()).ok(), Some(port));
        Ok(())
    }
}
