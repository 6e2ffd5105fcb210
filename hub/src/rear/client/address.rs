//! REAR peer addresses: `host:port` or `https://host:port` (mutual TLS), `http://host:port`
//! (plain HTTP, stock upstream peers).

use http::uri::{Authority, Scheme, Uri};

/// A parsed peer address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PeerAddress {
    /// Whether the peer is reached over plain HTTP.
    pub(super) plain: bool,
    /// `host:port` as written (the `Host` header).
    pub(super) authority: Authority,
    /// The host without IPv6 brackets (TCP connect and TLS server name).
    pub(super) host: String,
    /// The port (443 / 80 when omitted).
    pub(super) port: u16,
}

impl PeerAddress {
    /// Parse an address; `None` when it is not one of the accepted shapes.
    pub(super) fn parse(address: &str) -> Option<Self> {
        let (plain, rest) = if let Some(rest) = strip_scheme(address, "http://") {
            (true, rest)
        } else if let Some(rest) = strip_scheme(address, "https://") {
            (false, rest)
        } else {
            (false, address)
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() || rest.contains(['@', '/', '?', '#']) {
            return None;
        }
        let authority: Authority = rest.parse().ok()?;
        let host = authority.host();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .to_owned();
        if host.is_empty() {
            return None;
        }
        // `Authority` accepts `host:junk`: a port, when written, must be a number.
        let after_host = rest.rsplit_once(']').map_or(rest, |(_, tail)| tail);
        if after_host.contains(':') && authority.port_u16().is_none() {
            return None;
        }
        let port = authority.port_u16().unwrap_or(if plain { 80 } else { 443 });
        Some(Self {
            plain,
            authority,
            host,
            port,
        })
    }

    /// The absolute request URI of `path_and_query` at this peer (for errors and logs).
    pub(super) fn uri(&self, path_and_query: &str) -> Result<Uri, http::Error> {
        let scheme = if self.plain {
            Scheme::HTTP
        } else {
            Scheme::HTTPS
        };
        Uri::builder()
            .scheme(scheme)
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
    }
}

fn strip_scheme<'a>(address: &'a str, scheme: &str) -> Option<&'a str> {
    let head = address.get(..scheme.len())?;
    head.eq_ignore_ascii_case(scheme)
        .then(|| &address[scheme.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_shapes() {
        let a = PeerAddress::parse("10.0.0.7:30000").unwrap();
        assert!(!a.plain);
        assert_eq!((a.host.as_str(), a.port), ("10.0.0.7", 30000));
        let a = PeerAddress::parse("https://hub.example:8443/").unwrap();
        assert!(!a.plain);
        assert_eq!((a.host.as_str(), a.port), ("hub.example", 8443));
        let a = PeerAddress::parse("HTTP://10.0.0.7:30000").unwrap();
        assert!(a.plain);
        assert_eq!(a.authority.as_str(), "10.0.0.7:30000");
        let a = PeerAddress::parse("[::1]:7443").unwrap();
        assert_eq!((a.host.as_str(), a.port), ("::1", 7443));
        assert_eq!(
            a.uri("/api/listflavors?x=1").unwrap().to_string(),
            "https://[::1]:7443/api/listflavors?x=1"
        );
        assert_eq!(PeerAddress::parse("hub.example").unwrap().port, 443);
        assert_eq!(PeerAddress::parse("http://hub.example").unwrap().port, 80);
    }

    #[test]
    fn refused_shapes() {
        for bad in [
            "",
            "http://",
            "https://",
            "ftp://hub:1",
            "hub:1/path",
            "user@hub:1",
            "hub:notaport",
            "hub:1?q",
            "hub:99999",
            "[::1",
            ":8080",
            "héllo:1",
        ] {
            assert!(
                PeerAddress::parse(bad).is_none(),
                "{bad:?} should be refused"
            );
        }
    }
}
