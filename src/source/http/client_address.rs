//! The client address recorded for a request (`http.client_ip`): the socket peer, unless the
//! peer is a configured trusted proxy, in which case what it says: `X-Client-IP`, else the first
//! `X-Forwarded-For` entry. EventGate believes those headers from anyone; exposed directly, that
//! lets a client choose the address recorded for it.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

/// The client address of a request from `peer` with `headers`.
pub fn client_address(peer: Option<SocketAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> String {
    let Some(peer) = peer else {
        return "-".to_owned();
    };
    let peer_ip = canonical(peer.ip());
    if trusted.contains(&peer_ip) {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        if let Some(ip) = header("x-client-ip").and_then(|v| v.parse::<IpAddr>().ok()) {
            return ip.to_string();
        }
        if let Some(ip) = header("x-forwarded-for")
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
        {
            return ip.to_string();
        }
    }
    peer_ip.to_string()
}

/// IPv4-mapped IPv6 addresses as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn headers_are_believed_only_from_trusted_proxies() {
        let peer: SocketAddr = "10.0.0.5:4000".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "198.51.100.7, 10.0.0.5")]);
        assert_eq!(client_address(Some(peer), &h, &[]), "10.0.0.5");
        let trusted = ["10.0.0.5".parse().unwrap()];
        assert_eq!(client_address(Some(peer), &h, &trusted), "198.51.100.7");
        let h = headers(&[
            ("x-client-ip", "203.0.113.9"),
            ("x-forwarded-for", "198.51.100.7"),
        ]);
        assert_eq!(client_address(Some(peer), &h, &trusted), "203.0.113.9");
        let h = headers(&[("x-client-ip", "not an ip")]);
        assert_eq!(client_address(Some(peer), &h, &trusted), "10.0.0.5");
        let mapped: SocketAddr = "[::ffff:10.0.0.5]:1".parse().unwrap();
        assert_eq!(
            client_address(Some(mapped), &HeaderMap::new(), &[]),
            "10.0.0.5"
        );
    }
}
