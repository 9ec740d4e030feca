//! Which HTTP proxy a request goes through, with Go's rules
//! (golang.org/x/net/http/httpproxy): HTTPS_PROXY for https URLs,
//! HTTP_PROXY for http, NO_PROXY exceptions, and never a proxy for
//! localhost or a loopback address.
//!
//! Invariant: a proxy's credentials live only in [`ProxyUrl`], whose
//! `Display` and `Debug` show the proxy without them.

use std::net::IpAddr;

use super::redact::redact;

/// A proxy from the environment, parsed (`host:port` alone means http).
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    pub scheme: String,
    pub host: String,
    pub port: u16,
    /// Percent-decoded userinfo.
    pub user: Option<(String, String)>,
}

impl std::fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

impl std::fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProxyUrl({self})")
    }
}

fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

impl ProxyUrl {
    /// Parses a proxy setting as Go does: without a scheme, `http://` is
    /// assumed. The error is a redacted reason.
    pub fn parse(raw: &str) -> Result<ProxyUrl, String> {
        let full = if raw.contains("://") {
            raw.to_string()
        } else {
            format!("http://{raw}")
        };
        let u = url::Url::parse(&full).map_err(|e| format!("{}: {e}", redact(raw)))?;
        let host = u
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("{}: no host", redact(raw)))?;
        let port = u.port_or_known_default().unwrap_or(80);
        let user = (!u.username().is_empty()).then(|| {
            (
                decode(u.username()),
                decode(u.password().unwrap_or_default()),
            )
        });
        Ok(ProxyUrl {
            scheme: u.scheme().to_string(),
            host: host.to_string(),
            port,
            user,
        })
    }
}

/// One NO_PROXY entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Matcher {
    All,
    Cidr(IpAddr, u8),
    Ip(IpAddr, Option<String>),
    /// `.suffix` (leading dot always), whether the bare host matches too,
    /// and the port, if any.
    Domain(String, bool, Option<String>),
}

/// The proxy environment: HTTPS_PROXY/https_proxy, HTTP_PROXY/http_proxy,
/// NO_PROXY/no_proxy (upper case first; an empty value counts as unset).
#[derive(Clone, Default)]
pub struct ProxyEnv {
    pub https: Option<String>,
    pub http: Option<String>,
    pub no_proxy: String,
}

impl std::fmt::Debug for ProxyEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyEnv")
            .field("https", &self.https.as_deref().map(redact))
            .field("http", &self.http.as_deref().map(redact))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl ProxyEnv {
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> ProxyEnv {
        let any = |a: &str, b: &str| {
            lookup(a)
                .filter(|v| !v.is_empty())
                .or_else(|| lookup(b).filter(|v| !v.is_empty()))
        };
        ProxyEnv {
            https: any("HTTPS_PROXY", "https_proxy"),
            http: any("HTTP_PROXY", "http_proxy"),
            no_proxy: any("NO_PROXY", "no_proxy").unwrap_or_default(),
        }
    }
}

/// NO_PROXY, parsed.
#[derive(Debug, Clone, Default)]
pub struct NoProxy {
    matchers: Vec<Matcher>,
}

fn parse_cidr(p: &str) -> Option<Matcher> {
    let (ip, bits) = p.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some(Matcher::Cidr(ip, bits))
}

/// `host:port`, `[v6]:port` → (host, port); None without a port.
fn split_host_port(p: &str) -> Option<(&str, &str)> {
    if let Some(rest) = p.strip_prefix('[') {
        let (h, port) = rest.split_once("]:")?;
        return Some((h, port));
    }
    let (h, port) = p.rsplit_once(':')?;
    (!h.contains(':') && port.bytes().all(|b| b.is_ascii_digit())).then_some((h, port))
}

fn parse_entry(p: &str) -> Option<Matcher> {
    if p == "*" {
        return Some(Matcher::All);
    }
    if let Some(m) = parse_cidr(p) {
        return Some(m);
    }
    let (host, port) = match split_host_port(p) {
        Some(("", _)) => return None,
        Some((h, port)) => (h, Some(port.to_string())),
        None => (p.trim_start_matches('[').trim_end_matches(']'), None),
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(Matcher::Ip(ip, port));
    }
    let host = host
        .strip_prefix('*')
        .filter(|h| h.starts_with('.'))
        .unwrap_or(host);
    if host.is_empty() {
        return None;
    }
    match host.strip_prefix('.') {
        Some(_) => Some(Matcher::Domain(host.to_string(), false, port)),
        None => Some(Matcher::Domain(format!(".{host}"), true, port)),
    }
}

fn in_cidr(net: IpAddr, bits: u8, ip: IpAddr) -> bool {
    let mask = |len: u32, bits: u8| -> u128 {
        if bits == 0 {
            0
        } else {
            (!0u128 << (len - u32::from(bits))) & (!0u128 >> (128 - len))
        }
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let m = mask(32, bits);
            (u128::from(u32::from(n)) & m) == (u128::from(u32::from(i)) & m)
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let m = mask(128, bits);
            (u128::from(n) & m) == (u128::from(i) & m)
        }
        _ => false,
    }
}

impl NoProxy {
    pub fn parse(list: &str) -> NoProxy {
        let matchers = list
            .split(',')
            .map(|p| p.trim().to_ascii_lowercase())
            .filter(|p| !p.is_empty())
            .filter_map(|p| parse_entry(&p))
            .collect();
        NoProxy { matchers }
    }

    /// Whether a request to `host` (no brackets) on `port` goes through a
    /// proxy at all.
    pub fn use_proxy(&self, host: &str, port: u16) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ip = host.parse::<IpAddr>().ok();
        if host == "localhost" || ip.is_some_and(|ip| ip.is_loopback()) {
            return false;
        }
        let port = port.to_string();
        let port_ok = |p: &Option<String>| p.as_ref().map_or(true, |p| *p == port);
        !self.matchers.iter().any(|m| match m {
            Matcher::All => true,
            Matcher::Cidr(net, bits) => ip.is_some_and(|ip| in_cidr(*net, *bits, ip)),
            Matcher::Ip(want, p) => ip == Some(*want) && port_ok(p),
            Matcher::Domain(suffix, bare, p) => {
                ip.is_none()
                    && (host.ends_with(suffix.as_str()) || (*bare && host == &suffix[1..]))
                    && port_ok(p)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_matching_follows_go() {
        let np = NoProxy::parse(
            " example.com, .dot.example ,*.star.example, port.example:8080, 10.0.0.0/8, 192.168.1.7, [::2]:99, fe80::/10",
        );
        // Bare domain: itself and subdomains.
        assert!(!np.use_proxy("example.com", 443));
        assert!(!np.use_proxy("a.example.com", 443));
        assert!(np.use_proxy("notexample.com", 443));
        // Leading dot, and `*.`: subdomains only.
        assert!(!np.use_proxy("x.dot.example", 443));
        assert!(np.use_proxy("dot.example", 443));
        assert!(!np.use_proxy("x.star.example", 443));
        assert!(np.use_proxy("star.example", 443));
        // host:port.
        assert!(!np.use_proxy("port.example", 8080));
        assert!(np.use_proxy("port.example", 443));
        // IPs and CIDRs.
        assert!(!np.use_proxy("10.1.2.3", 443));
        assert!(np.use_proxy("11.1.2.3", 443));
        assert!(!np.use_proxy("192.168.1.7", 80));
        assert!(np.use_proxy("192.168.1.8", 80));
        assert!(!np.use_proxy("::2", 99));
        assert!(np.use_proxy("::2", 98));
        assert!(!np.use_proxy("[fe80::1]", 443));
        // Case-insensitive.
        assert!(!np.use_proxy("A.EXAMPLE.COM", 443));
    }

    #[test]
    fn loopback_is_never_proxied_and_star_matches_all() {
        let none = NoProxy::parse("");
        assert!(!none.use_proxy("localhost", 80));
        assert!(!none.use_proxy("127.0.0.1", 80));
        assert!(!none.use_proxy("127.9.9.9", 80));
        assert!(!none.use_proxy("::1", 80));
        assert!(none.use_proxy("host.example", 80));
        assert!(!NoProxy::parse("*").use_proxy("host.example", 80));
    }

    #[test]
    fn proxy_urls_keep_credentials_out_of_display() {
        let p = ProxyUrl::parse("http://al%40ice:s3cr%3At@proxy.example:3128").unwrap();
        assert_eq!(p.user, Some(("al@ice".into(), "s3cr:t".into())));
        assert_eq!(p.to_string(), "http://proxy.example:3128");
        assert!(!format!("{p:?}").contains("s3cr"));
        let p = ProxyUrl::parse("proxy.example:8080").unwrap();
        assert_eq!((p.scheme.as_str(), p.port), ("http", 8080));
        let env = ProxyEnv::from_lookup(&|k| match k {
            "HTTPS_PROXY" => Some(String::new()),
            "https_proxy" => Some("lower.example:1".into()),
            "NO_PROXY" => Some("a.example".into()),
            _ => None,
        });
        assert_eq!(env.https.as_deref(), Some("lower.example:1"));
        assert_eq!(env.http, None);
        assert_eq!(env.no_proxy, "a.example");
    }
}
