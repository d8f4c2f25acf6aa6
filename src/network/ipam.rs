//! Address management: subnets (CIDR arithmetic over IPv4 and IPv6 alike)
//! and picking a free address. Which addresses are taken lives in the
//! database; this is the pure part.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A network prefix, always stored with its host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subnet {
    pub addr: IpAddr,
    pub prefix: u8,
}

fn bits(a: IpAddr) -> (u128, u8) {
    match a {
        IpAddr::V4(v) => (u32::from(v) as u128, 32),
        IpAddr::V6(v) => (u128::from(v), 128),
    }
}

fn from_bits(v: u128, like: IpAddr) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(v as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(v)),
    }
}

impl Subnet {
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Subnet, String> {
        let (_, width) = bits(addr);
        if prefix > width {
            return Err(format!("invalid prefix length /{prefix} for {addr}"));
        }
        let s = Subnet { addr, prefix };
        Ok(Subnet {
            addr: from_bits(s.first(), addr),
            prefix,
        })
    }

    fn width(&self) -> u8 {
        bits(self.addr).1
    }

    fn mask(&self) -> u128 {
        let w = self.width() as u32;
        let host = w - self.prefix as u32;
        let all = if w == 128 {
            u128::MAX
        } else {
            (1u128 << w) - 1
        };
        if host >= 128 {
            0
        } else {
            all & !((1u128 << host) - 1)
        }
    }

    fn first(&self) -> u128 {
        bits(self.addr).0 & self.mask()
    }

    fn last(&self) -> u128 {
        let w = self.width() as u32;
        let all = if w == 128 {
            u128::MAX
        } else {
            (1u128 << w) - 1
        };
        self.first() | (all & !self.mask())
    }

    pub fn is_ipv6(&self) -> bool {
        self.addr.is_ipv6()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv6() == self.is_ipv6() && (bits(ip).0 & self.mask()) == self.first()
    }

    pub fn overlaps(&self, other: &Subnet) -> bool {
        self.is_ipv6() == other.is_ipv6()
            && self.first() <= other.last()
            && other.first() <= self.last()
    }

    /// The n-th address of the subnet (0 is the network address).
    pub fn nth(&self, n: u128) -> Option<IpAddr> {
        let v = self.first().checked_add(n)?;
        (v <= self.last()).then(|| from_bits(v, self.addr))
    }

    /// The conventional gateway: the first host address.
    pub fn default_gateway(&self) -> Option<IpAddr> {
        self.nth(1)
    }

    /// Addresses a container may get: all but the network address and,
    /// for IPv4, the broadcast address.
    fn host_range(&self) -> (u128, u128) {
        let (first, last) = (self.first(), self.last());
        if self.is_ipv6() || self.prefix >= 31 {
            (first + 1, last)
        } else {
            (first + 1, last - 1)
        }
    }
}

impl FromStr for Subnet {
    type Err = String;
    fn from_str(s: &str) -> Result<Subnet, String> {
        let bad = || format!("invalid subnet {s:?}: expected CIDR notation such as 10.89.0.0/24");
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = a.parse().map_err(|_| bad())?;
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        Subnet::new(addr, prefix).map_err(|_| bad())
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for Subnet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Subnet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Subnet, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The first free address in `subnet` (inside `range` when given), not the
/// gateway and not in `used`.
pub fn next_free(
    subnet: &Subnet,
    range: Option<&Subnet>,
    gateway: Option<IpAddr>,
    used: &HashSet<IpAddr>,
) -> Option<IpAddr> {
    next_free_after(subnet, range, gateway, used, None)
}

/// The next free address after `last` (the network's last handed out),
/// wrapping around to the start: podman's IPAM, which does not hand a
/// just-released address out again at once (a container disconnected and
/// connected again gets a new one).
pub fn next_free_after(
    subnet: &Subnet,
    range: Option<&Subnet>,
    gateway: Option<IpAddr>,
    used: &HashSet<IpAddr>,
    last: Option<IpAddr>,
) -> Option<IpAddr> {
    let (mut lo, mut hi) = subnet.host_range();
    if let Some(r) = range {
        lo = lo.max(r.first());
        hi = hi.min(r.last());
    }
    let start = last
        .filter(|l| subnet.contains(*l) && l.is_ipv6() == subnet.is_ipv6())
        .map(|l| bits(l).0.saturating_add(1))
        .filter(|s| *s > lo && *s <= hi)
        .unwrap_or(lo);
    // Large IPv6 subnets: the first free address is found long before the
    // end; the bound keeps a pathological `used` set from spinning forever.
    let mut tries = 0u32;
    for (from, to) in [(start, hi), (lo, start.saturating_sub(1))] {
        let mut v = from;
        while v <= to && tries < 1 << 20 {
            let ip = from_bits(v, subnet.addr);
            if Some(ip) != gateway && !used.contains(&ip) {
                return Some(ip);
            }
            v += 1;
            tries += 1;
        }
    }
    None
}

/// Check that `ip` may be given to a container on `subnet`.
pub fn check_static(subnet: &Subnet, gateway: Option<IpAddr>, ip: IpAddr) -> Result<(), String> {
    let (lo, hi) = subnet.host_range();
    let v = bits(ip).0;
    if !subnet.contains(ip) || v < lo || v > hi {
        return Err(format!(
            "IP address {ip} is not a host address of subnet {subnet}"
        ));
    }
    if Some(ip) == gateway {
        return Err(format!("IP address {ip} is the gateway of subnet {subnet}"));
    }
    Ok(())
}

/// A locally administered unicast MAC derived from the address, stable for
/// the container's lifetime (as docker derives 02:42:<ip>).
pub fn mac_for(ip: IpAddr) -> [u8; 6] {
    let (v, _) = bits(ip);
    let b = (v as u32).to_be_bytes();
    [0x02, 0x42, b[0], b[1], b[2], b[3]]
}

pub fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let bad =
        || format!("invalid MAC address {s:?}: expected six hex bytes such as 92:d0:c6:0a:29:33");
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        mac[i] = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    if mac[0] & 1 == 1 {
        return Err(format!(
            "invalid MAC address {s:?}: a multicast address cannot be assigned"
        ));
    }
    Ok(mac)
}

pub fn format_mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_normalize() {
        let s: Subnet = "10.88.3.7/16".parse().unwrap();
        assert_eq!(s.to_string(), "10.88.0.0/16");
        assert_eq!(s.default_gateway().unwrap().to_string(), "10.88.0.1");
        assert!("10.88.0.0".parse::<Subnet>().is_err());
        assert!("10.88.0.0/33".parse::<Subnet>().is_err());
        assert!("300.1.0.0/16".parse::<Subnet>().is_err());
        let v6: Subnet = "fd00:abcd::5/64".parse().unwrap();
        assert_eq!(v6.to_string(), "fd00:abcd::/64");
        assert_eq!(v6.default_gateway().unwrap().to_string(), "fd00:abcd::1");
    }

    #[test]
    fn overlap_and_contains() {
        let a: Subnet = "10.88.0.0/16".parse().unwrap();
        let b: Subnet = "10.88.5.0/24".parse().unwrap();
        let c: Subnet = "10.89.0.0/24".parse().unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c));
        assert!(a.contains("10.88.255.255".parse().unwrap()));
        assert!(!a.contains("10.89.0.1".parse().unwrap()));
        let d: Subnet = "0.0.0.0/0".parse().unwrap();
        assert!(d.overlaps(&c));
        let v6: Subnet = "fd00::/8".parse().unwrap();
        assert!(!v6.overlaps(&d));
    }

    #[test]
    fn allocation_skips_gateway_used_and_broadcast() {
        let s: Subnet = "10.89.0.0/30".parse().unwrap();
        let gw = s.default_gateway();
        let mut used = HashSet::new();
        let first = next_free(&s, None, gw, &used).unwrap();
        assert_eq!(first.to_string(), "10.89.0.2");
        used.insert(first);
        // .3 is the broadcast address of a /30.
        assert_eq!(next_free(&s, None, gw, &used), None);
        let big: Subnet = "10.88.0.0/16".parse().unwrap();
        let range: Subnet = "10.88.7.0/24".parse().unwrap();
        let ip = next_free(&big, Some(&range), big.default_gateway(), &HashSet::new()).unwrap();
        // After the last one handed out, wrapping around.
        let s24: Subnet = "10.5.0.0/24".parse().unwrap();
        let gw24 = s24.default_gateway();
        let used24: HashSet<IpAddr> = ["10.5.0.2".parse().unwrap()].into();
        let after = |last: &str| {
            next_free_after(&s24, None, gw24, &used24, Some(last.parse().unwrap()))
                .unwrap()
                .to_string()
        };
        assert_eq!(after("10.5.0.3"), "10.5.0.4");
        assert_eq!(after("10.5.0.254"), "10.5.0.3");
        assert_eq!(after("10.9.9.9"), "10.5.0.3");
        assert_eq!(ip.to_string(), "10.88.7.0");
    }

    #[test]
    fn static_addresses() {
        let s: Subnet = "10.89.0.0/24".parse().unwrap();
        let gw = s.default_gateway();
        assert!(check_static(&s, gw, "10.89.0.9".parse().unwrap()).is_ok());
        assert!(check_static(&s, gw, "10.89.0.1".parse().unwrap()).is_err());
        assert!(check_static(&s, gw, "10.89.0.255".parse().unwrap()).is_err());
        assert!(check_static(&s, gw, "10.90.0.9".parse().unwrap()).is_err());
    }

    #[test]
    fn macs() {
        let m = mac_for("10.88.0.2".parse().unwrap());
        assert_eq!(format_mac(&m), "02:42:0a:58:00:02");
        assert_eq!(parse_mac("92:d0:c6:0a:29:33").unwrap()[0], 0x92);
        assert!(parse_mac("01:00:00:00:00:00").is_err());
        assert!(parse_mac("zz").is_err());
    }
}
