//! Outbound targets that customers choose (webhook endpoints, alert hooks) must never reach
//! inside the platform's network: server-side request forgery, OWASP API Security Top 10
//! (API7:2023).
//!
//! A target is refused when its host is, or resolves to, an address that is loopback,
//! link-local, private, shared (carrier-grade NAT), unspecified, multicast, broadcast or
//! reserved, in IPv4 or IPv6 (IPv4-mapped and NAT64 forms are judged by the IPv4 address inside).
//! The check runs twice: when the target is registered, and when it is delivered to, through a
//! resolver that hands the HTTP client only public addresses. The address connected to is the
//! one that was checked, so DNS rebinding cannot get around it. Redirects are not followed.
//!
//! `allow_private_targets` turns the check off, for local development and tests whose fake
//! receivers listen on loopback.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Why a target was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("must be an http or https URL with a host")]
    NotHttp,
    #[error("resolves to {0}, which is not a public address (loopback, private, link-local and similar are refused)")]
    NotPublic(IpAddr),
    #[error("its host {0} does not resolve")]
    Unresolvable(String),
}

/// True when `ip` is an address on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network", RFC 791
        || (a == 100 && (64..128).contains(&b)) // shared address space, RFC 6598
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments, RFC 6890
        || (a == 198 && (18..20).contains(&b)) // benchmarking, RFC 2544
        || a >= 240) // reserved, RFC 1112
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (RFC 6052) carries an IPv4 address in its last 32 bits.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., high, low] = segments;
        return is_public_v4(Ipv4Addr::from((u32::from(high) << 16) | u32::from(low)));
    }
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (segments[0] & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated), fec0::/10
        || (segments[0] & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (segments[0] == 0x2001 && segments[1] == 0x0db8)) // documentation, RFC 3849
}

/// Checks a target when it is registered: an IP literal is judged as it is, a name by every
/// address it resolves to (one private answer is enough to refuse it).
pub async fn check_target(url: &str, allow_private: bool) -> Result<(), TargetError> {
    let parsed = url::Url::parse(url).map_err(|_| TargetError::NotHttp)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(TargetError::NotHttp);
    }
    if allow_private {
        return Ok(());
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    match parsed.host() {
        Some(url::Host::Ipv4(ip)) => judge(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => judge(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let addresses = resolve(name, port).await?;
            addresses.into_iter().try_for_each(|address| judge(address.ip()))
        }
        None => Err(TargetError::NotHttp),
    }
}

fn judge(ip: IpAddr) -> Result<(), TargetError> {
    if is_public(ip) { Ok(()) } else { Err(TargetError::NotPublic(ip)) }
}

const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

async fn resolve(name: &str, port: u16) -> Result<Vec<SocketAddr>, TargetError> {
    let lookup = tokio::net::lookup_host((name, port));
    let addresses: Vec<SocketAddr> = tokio::time::timeout(RESOLVE_TIMEOUT, lookup)
        .await
        .ok()
        .and_then(Result::ok)
        .map(Iterator::collect)
        .unwrap_or_default();
    if addresses.is_empty() {
        return Err(TargetError::Unresolvable(name.to_owned()));
    }
    Ok(addresses)
}

/// A resolver that gives the HTTP client only public addresses, so a name that resolved to a
/// public address at registration and to a private one now (DNS rebinding) fails to connect.
#[derive(Debug, Default)]
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = resolve(&name, 0).await?;
            let public: Vec<SocketAddr> = addresses.iter().copied().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(
                    Box::new(TargetError::NotPublic(addresses[0].ip())) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// An HTTP client for customer-chosen targets: it follows no redirects and, unless
/// `allow_private`, connects only to public addresses. Sends through `proxy` when one is set
/// (the egress proxy then resolves and connects). Pair every send with [`check_literal`], since
/// a URL whose host is an IP literal never passes through a resolver.
pub fn client(allow_private: bool, proxy: Option<&str>, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout)
        .timeout(timeout);
    if !allow_private {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    builder = match proxy {
        Some(proxy) => builder.proxy(reqwest::Proxy::all(proxy)?),
        None => builder.no_proxy(),
    };
    builder.build()
}

/// At delivery: refuses a target whose host is a non-public IP literal (names are judged by the
/// client's resolver as it connects).
pub fn check_literal(url: &str, allow_private: bool) -> Result<(), TargetError> {
    if allow_private {
        return Ok(());
    }
    match url::Url::parse(url).map_err(|_| TargetError::NotHttp)?.host() {
        Some(url::Host::Ipv4(ip)) => judge(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => judge(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => Ok(()),
        None => Err(TargetError::NotHttp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_addresses_are_not_public() {
        for inside in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(inside.parse().unwrap()), "{inside} must be refused");
        }
        for outside in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(outside.parse().unwrap()), "{outside} is public");
        }
    }

    #[tokio::test]
    async fn registration_refuses_inside_literals_and_names_that_resolve_inside() {
        for url in [
            "http://169.254.169.254/latest/meta-data",
            "http://127.0.0.1:8081/v1/apps",
            "http://10.0.0.1/x",
            "http://[::1]:8082/",
            "http://localhost:8082/",
        ] {
            assert!(matches!(check_target(url, false).await, Err(TargetError::NotPublic(_))), "{url} must be refused");
            assert_eq!(check_target(url, true).await, Ok(()), "{url} is allowed when private targets are");
        }
        assert_eq!(check_target("ftp://example.com/", false).await, Err(TargetError::NotHttp));
        assert_eq!(
            check_literal("http://[fe80::1]/hook", false),
            Err(TargetError::NotPublic("fe80::1".parse().unwrap()))
        );
        assert_eq!(check_literal("https://hooks.example.com/x", false), Ok(()));
    }

    #[tokio::test]
    async fn the_delivery_client_will_not_connect_to_a_name_that_resolves_inside() {
        let client = client(false, None, Duration::from_secs(2)).unwrap();
        let error = client.get("http://localhost:9/").send().await.unwrap_err();
        assert!(error.is_connect() || error.is_request(), "{error:?}");
    }
}
