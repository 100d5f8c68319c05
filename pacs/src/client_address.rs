//! The client's address, for the audit trail, the sign-in limits and the
//! loopback-only answer of an archive without accounts: the TCP peer, or,
//! when that peer is a reverse proxy the configuration trusts
//! (`[server] trusted_proxies`), the address the proxy says it forwarded
//! the request for in `X-Forwarded-For`.
//!
//! `X-Forwarded-For` is read from the right: each trusted proxy appends the
//! address it received the request from, so the first address from the
//! right that is not a trusted proxy is the client. Whatever lies left of
//! it was written by the client itself and is not believed. From a peer
//! that is not trusted the header is ignored altogether.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

use warp::http::HeaderMap;

/// Whether the operator was told of a proxy not in `trusted_proxies`.
static WARNED: AtomicBool = AtomicBool::new(false);

/// One entry of `trusted_proxies`: an address, or a network in CIDR form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    fn parse(text: &str) -> Result<Network, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let address: IpAddr = address.parse().map_err(|_| {
            format!("{text:?} is not an IP address or network (such as 10.0.0.0/8)")
        })?;
        let address = address.to_canonical();
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {bits}"))?,
        };
        Ok(Network { address, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_matches(u32::from(net).into(), u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_matches(u128::from(net), u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// Whether the first `prefix` of `bits` bits of `a` and `b` agree.
fn prefix_matches(a: u128, b: u128, prefix: u8, bits: u32) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = bits - u32::from(prefix);
    (a >> shift) == (b >> shift)
}

/// The reverse proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Network>);

impl TrustedProxies {
    /// Parses the configured entries: addresses (`127.0.0.1`, `::1`) and
    /// networks (`10.0.0.0/8`).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|e| Network::parse(e.as_ref()))
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client of a request that came from `peer` with `headers`.
    /// A forwarded client has port 0: the proxy does not say its port.
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> SocketAddr {
        let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
        if !self.trusts(peer.ip()) {
            if headers.contains_key("x-forwarded-for") && !WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    %peer,
                    "a request came through a proxy that server.trusted_proxies does not name: \
                     every client behind it counts as the proxy for the audit trail and the \
                     sign-in limits"
                );
            }
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            // A hop that cannot be read ends the walk: what stands left of
            // it cannot be told apart from what the client made up.
            let Some(ip) = hop_address(hop) else {
                break;
            };
            client = SocketAddr::new(ip, 0);
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, with or without a port.
fn hop_address(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<SocketAddr>()
        .ok()
        .map(|a| a.ip().to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn client(trusted: &[&str], peer: &str, forwarded: &[&str]) -> String {
        let trusted = TrustedProxies::parse(trusted).unwrap();
        trusted
            .client(peer.parse().unwrap(), &headers(forwarded))
            .ip()
            .to_string()
    }

    #[test]
    fn the_header_is_ignored_from_a_peer_not_trusted() {
        assert_eq!(client(&[], "192.0.2.1:5000", &["203.0.113.9"]), "192.0.2.1");
        assert_eq!(
            client(&["10.0.0.0/8"], "192.0.2.1:5000", &["203.0.113.9"]),
            "192.0.2.1"
        );
    }

    #[test]
    fn the_first_address_from_the_right_that_is_no_proxy_is_the_client() {
        let trusted = ["10.0.0.0/8", "127.0.0.1"];
        assert_eq!(
            client(&trusted, "127.0.0.1:5000", &["203.0.113.9"]),
            "203.0.113.9"
        );
        // The client wrote the leftmost entry itself: not believed.
        assert_eq!(
            client(
                &trusted,
                "127.0.0.1:5000",
                &["198.51.100.1, 203.0.113.9, 10.1.2.3"]
            ),
            "203.0.113.9"
        );
        // Several headers count as one list, in order.
        assert_eq!(
            client(
                &trusted,
                "127.0.0.1:5000",
                &["198.51.100.1", "203.0.113.9:4711"]
            ),
            "203.0.113.9"
        );
        // Only proxies: the leftmost.
        assert_eq!(
            client(&trusted, "127.0.0.1:5000", &["10.9.9.9, 10.1.2.3"]),
            "10.9.9.9"
        );
        // No header: the proxy itself.
        assert_eq!(client(&trusted, "127.0.0.1:5000", &[]), "127.0.0.1");
        // An unreadable hop ends the walk at the last proxy that vouched.
        assert_eq!(
            client(
                &trusted,
                "127.0.0.1:5000",
                &["203.0.113.9, bogus, 10.1.2.3"]
            ),
            "10.1.2.3"
        );
        assert_eq!(
            client(&["::1"], "[::1]:5000", &["[2001:db8::7]:443"]),
            "2001:db8::7"
        );
    }

    #[test]
    fn ipv4_in_ipv6_is_the_ipv4_address() {
        assert_eq!(
            client(
                &["127.0.0.1"],
                "[::ffff:127.0.0.1]:5000",
                &["::ffff:203.0.113.9"]
            ),
            "203.0.113.9"
        );
    }

    #[test]
    fn entries_are_checked() {
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
        assert!(TrustedProxies::parse(&["proxy.example.org"]).is_err());
        assert!(TrustedProxies::parse(&["::/0", "fd00::/8", "192.168.1.7"]).is_ok());
        let any_v4 = TrustedProxies::parse(&["0.0.0.0/0"]).unwrap();
        assert!(any_v4.trusts("203.0.113.9".parse().unwrap()));
        assert!(!any_v4.trusts("2001:db8::1".parse().unwrap()));
        let net = TrustedProxies::parse(&["172.16.0.0/12"]).unwrap();
        assert!(net.trusts("172.31.255.255".parse().unwrap()));
        assert!(!net.trusts("172.32.0.0".parse().unwrap()));
    }
}
