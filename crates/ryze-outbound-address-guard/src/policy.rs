//! Address classification: which IP addresses the bridge may contact, and why the others
//! are refused.
//!
//! Threat model: a user-supplied URL must not make the server talk to itself (loopback),
//! to the cloud metadata service (link-local `169.254.169.254`, and a few provider
//! addresses outside link-local), or to the private network it runs in, whatever form the
//! address takes (plain IPv4, IPv4-mapped IPv6, NAT64, 6to4, ...). `classify` names the
//! kind of every non-public address; [`AddressPolicy::check_ip`] then allows loopback and
//! private addresses only when the policy says so, and refuses every other kind always.
//! The table of ranges is on [`AddressPolicy`], where rustdoc shows it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The setting (environment variable) that allows private networks.
pub const ALLOW_PRIVATE_SETTING: &str = "BRIDGE_ALLOW_PRIVATE_ADDRESSES";

/// The setting (environment variable) that allows loopback addresses.
pub const ALLOW_LOOPBACK_SETTING: &str = "BRIDGE_ALLOW_LOOPBACK_ADDRESSES";

/// The setting (environment variable) that lets a caller's `mediaUrl` reach loopback and
/// private networks. Off by default in every mode: a `mediaUrl` comes from any API token
/// holder, and the file it names is sent back to them through WhatsApp.
pub const MEDIA_URL_ALLOW_PRIVATE_SETTING: &str = "MEDIA_URL_ALLOW_PRIVATE_ADDRESSES";

/// The settings a refusal names when loopback or a private network is refused: each use
/// of the guard has its own, so the message tells the operator what to change for *that*
/// use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowSettings {
    /// The setting that allows loopback addresses.
    pub loopback: &'static str,
    /// The setting that allows private networks.
    pub private: &'static str,
}

impl AllowSettings {
    /// `chatwootBaseUrl` and the bridge's downloads of Chatwoot attachments:
    /// [`ALLOW_LOOPBACK_SETTING`] and [`ALLOW_PRIVATE_SETTING`].
    pub const CHATWOOT: Self = Self {
        loopback: ALLOW_LOOPBACK_SETTING,
        private: ALLOW_PRIVATE_SETTING,
    };

    /// A caller's `mediaUrl`: [`MEDIA_URL_ALLOW_PRIVATE_SETTING`] for both.
    pub const MEDIA_URL: Self = Self {
        loopback: MEDIA_URL_ALLOW_PRIVATE_SETTING,
        private: MEDIA_URL_ALLOW_PRIVATE_SETTING,
    };
}

/// Which addresses outgoing requests may reach.
///
/// Only loopback and private addresses are configurable; every other non-public address
/// is refused whatever the policy.
///
/// # Ranges
///
/// Refused under every policy:
///
/// | Range | Kind | Reference |
/// | --- | --- | --- |
/// | `169.254.0.0/16`, `fe80::/10` | link-local (AWS, GCP, Azure, OpenStack metadata at `169.254.169.254`) | RFC 3927, RFC 4291 |
/// | `100.100.100.200`, `168.63.129.16`, `192.0.0.192`, `fd00:ec2::254` | cloud metadata outside link-local (Alibaba, Azure WireServer, Oracle legacy, AWS IPv6) | provider docs |
/// | `0.0.0.0`, `::` | unspecified (connecting to it reaches this machine on Linux) | RFC 1122, RFC 4291 |
/// | `0.0.0.0/8` | "this network" | RFC 1122 §3.2.1.3 |
/// | `224.0.0.0/4`, `ff00::/8` | multicast | RFC 5771, RFC 4291 |
/// | `255.255.255.255` | limited broadcast | RFC 919, RFC 8190 |
/// | `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32`, `3fff::/20` | documentation | RFC 5737, RFC 3849, RFC 9637 |
/// | `240.0.0.0/4` | reserved ("future use") | RFC 1112 §4 |
/// | `192.0.0.0/24` | IETF protocol assignments | RFC 6890 |
/// | `192.88.99.0/24` | deprecated 6to4 relay anycast | RFC 7526 |
/// | `2001::/23` | IETF protocol assignments (Teredo `2001::/32`, benchmarking `2001:2::/48`, ORCHID) | RFC 2928, RFC 6890, RFC 4380 |
/// | `fec0::/10` | deprecated site-local | RFC 3879 |
/// | `::/96` (except `::` and `::1`) | deprecated IPv4-compatible IPv6 | RFC 4291 §2.5.5.1 |
/// | anything outside `2000::/3` not listed here (e.g. discard-only `100::/64`) | reserved or unassigned IPv6 | RFC 4291, RFC 6666 |
/// | `64:ff9b::/96` (NAT64), `2002::/16` (6to4), `::ffff:0:0:0/96` (SIIT) embedding a non-public IPv4 | translates to a non-public IPv4 address | RFC 6052 §3.1, RFC 3056, RFC 6145 |
///
/// Refused unless the policy allows them (the settings are Chatwoot's, see
/// [`AllowSettings::CHATWOOT`]; a `mediaUrl` policy names
/// [`MEDIA_URL_ALLOW_PRIVATE_SETTING`] for both):
///
/// | Range | Kind | Setting | Reference |
/// | --- | --- | --- | --- |
/// | `127.0.0.0/8`, `::1` | loopback | [`ALLOW_LOOPBACK_SETTING`] | RFC 1122, RFC 4291 |
/// | `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16` | private | [`ALLOW_PRIVATE_SETTING`] | RFC 1918 |
/// | `fc00::/7` | unique-local (private) | [`ALLOW_PRIVATE_SETTING`] | RFC 4193 |
/// | `100.64.0.0/10` | shared address space (carrier-grade NAT, Tailscale) | [`ALLOW_PRIVATE_SETTING`] | RFC 6598 |
/// | `198.18.0.0/15` | benchmarking (used as an internal range in labs and by "fake-IP" DNS proxies) | [`ALLOW_PRIVATE_SETTING`] | RFC 2544 |
/// | `64:ff9b:1::/48` | local-use NAT64 | [`ALLOW_PRIVATE_SETTING`] | RFC 8215 |
///
/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) are the IPv4 address
/// itself to the kernel, so they are classified exactly as `a.b.c.d`:
/// `::ffff:127.0.0.1` is loopback, `::ffff:169.254.169.254` is link-local. NAT64, 6to4 and
/// SIIT addresses reach their embedded IPv4 address through a translator on someone else's
/// network, so the allow settings (meant for *our* loopback and private network) do not
/// apply: they are allowed when the embedded address is public and refused otherwise.
/// Everything else is public and allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Allow `127.0.0.0/8`, `::1` and their IPv4-mapped forms
    /// (`BRIDGE_ALLOW_LOOPBACK_ADDRESSES` for Chatwoot, `MEDIA_URL_ALLOW_PRIVATE_ADDRESSES`
    /// for `mediaUrl`).
    pub allow_loopback: bool,
    /// Allow private networks: RFC 1918, IPv6 unique-local, shared address space
    /// (`100.64.0.0/10`), benchmarking (`198.18.0.0/15`) and local-use NAT64
    /// (`BRIDGE_ALLOW_PRIVATE_ADDRESSES` for Chatwoot, `MEDIA_URL_ALLOW_PRIVATE_ADDRESSES`
    /// for `mediaUrl`).
    pub allow_private: bool,
    /// The settings a refusal of loopback or a private address names.
    pub settings: AllowSettings,
}

impl AddressPolicy {
    /// The embedded mode's default for Chatwoot: loopback and private networks are
    /// allowed, so a Chatwoot installed on the same machine or network works out of the
    /// box.
    pub const fn embedded_default() -> Self {
        Self::chatwoot(true, true)
    }

    /// Public addresses only: neither loopback nor private networks (refusals name the
    /// Chatwoot settings).
    pub const fn strict() -> Self {
        Self::chatwoot(false, false)
    }

    /// The policy of `chatwootBaseUrl` and of the bridge's downloads of Chatwoot
    /// attachments ([`AllowSettings::CHATWOOT`]).
    pub const fn chatwoot(allow_loopback: bool, allow_private: bool) -> Self {
        Self {
            allow_loopback,
            allow_private,
            settings: AllowSettings::CHATWOOT,
        }
    }

    /// The policy of a caller's `mediaUrl` ([`AllowSettings::MEDIA_URL`]): loopback and
    /// private networks only when `allow_private_and_loopback` (off by default).
    pub const fn media_url(allow_private_and_loopback: bool) -> Self {
        Self {
            allow_loopback: allow_private_and_loopback,
            allow_private: allow_private_and_loopback,
            settings: AllowSettings::MEDIA_URL,
        }
    }

    /// Whether `ip` may be contacted under this policy; the refusal says why not.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), RefusedAddress> {
        match classify(ip) {
            None => Ok(()),
            Some(RefusalReason::Loopback) if self.allow_loopback => Ok(()),
            Some(RefusalReason::Private(_)) if self.allow_private => Ok(()),
            Some(reason) => Err(RefusedAddress {
                ip,
                reason,
                setting: reason.setting(self.settings),
            }),
        }
    }
}

/// An address the policy refuses, why, and the setting that would allow it.
///
/// `Display` reads "169.254.169.254 is a link-local address (cloud metadata), which is
/// never allowed" or "10.0.0.5 is a private address; set
/// BRIDGE_ALLOW_PRIVATE_ADDRESSES=true to allow private networks".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{ip} is {}", self.explanation())]
pub struct RefusedAddress {
    /// The address as it was resolved or written (an IPv4-mapped address stays IPv6).
    pub ip: IpAddr,
    /// Why it is refused.
    pub reason: RefusalReason,
    /// The setting that would allow it under the refusing policy; `None` when nothing
    /// may allow it.
    pub setting: Option<&'static str>,
}

impl RefusedAddress {
    /// The end of a sentence: "a private address; set BRIDGE_ALLOW_PRIVATE_ADDRESSES=true
    /// to allow private networks", or "…, which is never allowed".
    pub fn explanation(&self) -> String {
        let kind = self.reason.kind();
        match (self.setting, self.reason) {
            (Some(setting), RefusalReason::Loopback) => {
                format!("{kind}; set {setting}=true to allow loopback addresses")
            }
            (Some(setting), _) => format!("{kind}; set {setting}=true to allow private networks"),
            (None, _) => format!("{kind}, which is never allowed"),
        }
    }
}

/// Why an address is refused. See the crate documentation for the ranges of each kind.
///
/// `Display` is what the address is: "a private address"; [`RefusedAddress`] adds the
/// setting to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusalReason {
    /// `127.0.0.0/8`, `::1`: allowed with [`AddressPolicy::allow_loopback`].
    Loopback,
    /// A private network: allowed with [`AddressPolicy::allow_private`].
    Private(PrivateRange),
    /// `169.254.0.0/16`, `fe80::/10`: where cloud metadata services live. Never allowed.
    LinkLocal,
    /// A cloud provider's metadata or platform address outside link-local. Never allowed.
    CloudMetadata,
    /// `0.0.0.0` or `::`. Never allowed.
    Unspecified,
    /// `0.0.0.0/8` other than `0.0.0.0`. Never allowed.
    ThisNetwork,
    /// `224.0.0.0/4`, `ff00::/8`. Never allowed.
    Multicast,
    /// `255.255.255.255`. Never allowed.
    Broadcast,
    /// Documentation ranges. Never allowed.
    Documentation,
    /// Reserved, deprecated or special-purpose ranges no server lives in. Never allowed.
    Reserved,
    /// Deprecated IPv4-compatible IPv6 (`::a.b.c.d`). Never allowed.
    Ipv4Compatible,
    /// An IPv6 translation address whose embedded IPv4 address is not public. Never
    /// allowed.
    EmbedsNonPublicIpv4 {
        /// The translation mechanism the prefix belongs to.
        mechanism: Ipv4Embedding,
        /// The embedded IPv4 address.
        ipv4: Ipv4Addr,
    },
}

/// The private ranges, allowed together by [`AddressPolicy::allow_private`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrivateRange {
    /// `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16` (RFC 1918).
    Rfc1918,
    /// `fc00::/7` (RFC 4193).
    UniqueLocal,
    /// `100.64.0.0/10`, carrier-grade NAT and overlay networks such as Tailscale (RFC 6598).
    SharedAddressSpace,
    /// `198.18.0.0/15` (RFC 2544).
    Benchmarking,
    /// `64:ff9b:1::/48` (RFC 8215).
    LocalUseNat64,
}

/// IPv6 prefixes that carry an IPv4 address to a translator or relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ipv4Embedding {
    /// `64:ff9b::/96` (RFC 6052).
    Nat64,
    /// `2002::/16` (RFC 3056).
    SixToFour,
    /// `::ffff:0:0:0/96`, IPv4-translated (RFC 6145 / SIIT).
    Siit,
}

impl RefusalReason {
    /// The one of `settings` that would allow addresses of this kind, if any.
    pub fn setting(&self, settings: AllowSettings) -> Option<&'static str> {
        match self {
            Self::Loopback => Some(settings.loopback),
            Self::Private(_) => Some(settings.private),
            _ => None,
        }
    }

    /// What the address is, as a noun phrase ("a link-local address (cloud metadata)").
    fn kind(&self) -> String {
        match self {
            Self::Loopback => "a loopback address".into(),
            Self::Private(PrivateRange::Rfc1918) => "a private address".into(),
            Self::Private(PrivateRange::UniqueLocal) => {
                "a unique-local (private) IPv6 address".into()
            }
            Self::Private(PrivateRange::SharedAddressSpace) => {
                "a shared carrier-grade NAT (private) address".into()
            }
            Self::Private(PrivateRange::Benchmarking) => {
                "a benchmarking-network (private) address".into()
            }
            Self::Private(PrivateRange::LocalUseNat64) => {
                "a local-use NAT64 (private) address".into()
            }
            Self::LinkLocal => "a link-local address (cloud metadata)".into(),
            Self::CloudMetadata => "a cloud provider's metadata address".into(),
            Self::Unspecified => "the unspecified address (it reaches this machine)".into(),
            Self::ThisNetwork => "a \"this network\" address (0.0.0.0/8)".into(),
            Self::Multicast => "a multicast address".into(),
            Self::Broadcast => "the broadcast address".into(),
            Self::Documentation => "a documentation-only address".into(),
            Self::Reserved => "a reserved address no server uses".into(),
            Self::Ipv4Compatible => "a deprecated IPv4-compatible IPv6 address".into(),
            Self::EmbedsNonPublicIpv4 { mechanism, ipv4 } => {
                let mechanism = match mechanism {
                    Ipv4Embedding::Nat64 => "a NAT64",
                    Ipv4Embedding::SixToFour => "a 6to4",
                    Ipv4Embedding::Siit => "an IPv4-translated",
                };
                format!("{mechanism} address that leads to the non-public IPv4 address {ipv4}")
            }
        }
    }
}

impl fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind())
    }
}

/// The kind of a non-public address, `None` for a public one. Policy-free: see
/// [`AddressPolicy::check_ip`] for what is allowed.
pub(crate) fn classify(ip: IpAddr) -> Option<RefusalReason> {
    match ip {
        IpAddr::V4(ip) => classify_v4(ip),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

/// Whether `ip` lies in `net/len`.
fn in_v4(ip: Ipv4Addr, net: [u8; 4], len: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    u32::from(ip) & mask == u32::from_be_bytes(net) & mask
}

/// Whether `ip` lies in `net/len`.
fn in_v6(ip: Ipv6Addr, net: [u16; 8], len: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    let [a, b, c, d, e, f, g, h] = net;
    u128::from(ip) & mask == u128::from(Ipv6Addr::new(a, b, c, d, e, f, g, h)) & mask
}

/// Cloud metadata and platform endpoints outside link-local, refused like link-local:
/// Alibaba Cloud (`100.100.100.200`, inside the shared address space), Azure WireServer
/// (`168.63.129.16`, a public address reachable only from inside Azure), Oracle Cloud's
/// legacy metadata (`192.0.0.192`).
const CLOUD_METADATA_V4: [Ipv4Addr; 3] = [
    Ipv4Addr::new(100, 100, 100, 200),
    Ipv4Addr::new(168, 63, 129, 16),
    Ipv4Addr::new(192, 0, 0, 192),
];

/// AWS's IPv6 instance metadata endpoint (inside unique-local `fc00::/7`).
const CLOUD_METADATA_V6: [Ipv6Addr; 1] = [Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254)];

fn classify_v4(ip: Ipv4Addr) -> Option<RefusalReason> {
    use RefusalReason::*;
    let reason = if ip.is_broadcast() {
        Broadcast
    } else if CLOUD_METADATA_V4.contains(&ip) {
        CloudMetadata
    } else if ip.is_unspecified() {
        Unspecified
    } else if in_v4(ip, [0, 0, 0, 0], 8) {
        // RFC 1122 §3.2.1.3: "this host on this network"; Linux routes it to this host.
        ThisNetwork
    } else if ip.is_loopback() {
        Loopback
    } else if ip.is_link_local() {
        LinkLocal
    } else if ip.is_multicast() {
        Multicast
    } else if in_v4(ip, [240, 0, 0, 0], 4) {
        // RFC 1112 §4: reserved for future use (255.255.255.255 handled above).
        Reserved
    } else if ip.is_documentation() {
        Documentation
    } else if in_v4(ip, [192, 0, 0, 0], 24) || in_v4(ip, [192, 88, 99, 0], 24) {
        // RFC 6890 IETF protocol assignments; RFC 7526 deprecated 6to4 relay anycast.
        Reserved
    } else if ip.is_private() {
        Private(PrivateRange::Rfc1918)
    } else if in_v4(ip, [100, 64, 0, 0], 10) {
        // RFC 6598 shared address space (std's `is_shared` is unstable).
        Private(PrivateRange::SharedAddressSpace)
    } else if in_v4(ip, [198, 18, 0, 0], 15) {
        // RFC 2544 benchmarking (std's `is_benchmarking` is unstable).
        Private(PrivateRange::Benchmarking)
    } else {
        return None;
    };
    Some(reason)
}

/// The embedded address of a translation prefix, refused when it is not public.
fn embedded(mechanism: Ipv4Embedding, ipv4: Ipv4Addr) -> Option<RefusalReason> {
    classify_v4(ipv4).map(|_| RefusalReason::EmbedsNonPublicIpv4 { mechanism, ipv4 })
}

/// The IPv4 address in the low 32 bits of `ip`.
fn low_ipv4(ip: Ipv6Addr) -> Ipv4Addr {
    let o = ip.octets();
    Ipv4Addr::new(o[12], o[13], o[14], o[15])
}

fn classify_v6(ip: Ipv6Addr) -> Option<RefusalReason> {
    use RefusalReason::*;
    // RFC 4291 §2.5.5.2: `::ffff:a.b.c.d` is `a.b.c.d` on the wire.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let reason = if ip.is_unspecified() {
        Unspecified
    } else if ip.is_loopback() {
        Loopback
    } else if in_v6(ip, [0; 8], 96) {
        // RFC 4291 §2.5.5.1: deprecated IPv4-compatible addresses (`::` and `::1` above).
        Ipv4Compatible
    } else if CLOUD_METADATA_V6.contains(&ip) {
        CloudMetadata
    } else if in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        // RFC 6052 well-known NAT64 prefix: the IPv4 address is the low 32 bits.
        return embedded(Ipv4Embedding::Nat64, low_ipv4(ip));
    } else if in_v6(ip, [0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48) {
        // RFC 8215 local-use NAT64: a translator inside someone's own network.
        Private(PrivateRange::LocalUseNat64)
    } else if in_v6(ip, [0, 0, 0, 0, 0xffff, 0, 0, 0], 96) {
        // RFC 6145 (SIIT) IPv4-translated addresses `::ffff:0:a.b.c.d`.
        return embedded(Ipv4Embedding::Siit, low_ipv4(ip));
    } else if in_v6(ip, [0x2002, 0, 0, 0, 0, 0, 0, 0], 16) {
        // RFC 3056 6to4: the IPv4 address is in bits 16..48.
        let o = ip.octets();
        return embedded(
            Ipv4Embedding::SixToFour,
            Ipv4Addr::new(o[2], o[3], o[4], o[5]),
        );
    } else if ip.is_multicast() {
        Multicast
    } else if ip.is_unicast_link_local() {
        LinkLocal
    } else if in_v6(ip, [0xfec0, 0, 0, 0, 0, 0, 0, 0], 10) {
        // RFC 3879: deprecated site-local.
        Reserved
    } else if ip.is_unique_local() {
        Private(PrivateRange::UniqueLocal)
    } else if in_v6(ip, [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32)
        || in_v6(ip, [0x3fff, 0, 0, 0, 0, 0, 0, 0], 20)
    {
        // RFC 3849 and RFC 9637 documentation prefixes.
        Documentation
    } else if in_v6(ip, [0x2001, 0, 0, 0, 0, 0, 0, 0], 23) {
        // RFC 2928 / RFC 6890 IETF protocol assignments: Teredo, benchmarking, ORCHID.
        Reserved
    } else if !in_v6(ip, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3) {
        // Outside global unicast 2000::/3 and not classified above: reserved or
        // unassigned (RFC 4291), including discard-only 100::/64 (RFC 6666).
        Reserved
    } else {
        return None;
    };
    Some(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_helpers_match_their_ranges() {
        assert!(in_v4(Ipv4Addr::new(172, 31, 255, 255), [172, 16, 0, 0], 12));
        assert!(!in_v4(Ipv4Addr::new(172, 32, 0, 0), [172, 16, 0, 0], 12));
        assert!(in_v4(Ipv4Addr::new(1, 2, 3, 4), [0, 0, 0, 0], 0));
        assert!(in_v4(Ipv4Addr::new(1, 2, 3, 4), [1, 2, 3, 4], 32));
        assert!(in_v6(Ipv6Addr::LOCALHOST, [0; 8], 0));
        assert!(in_v6(
            "2001:1ff::1".parse().unwrap(),
            [0x2001, 0, 0, 0, 0, 0, 0, 0],
            23
        ));
        assert!(!in_v6(
            "2001:200::1".parse().unwrap(),
            [0x2001, 0, 0, 0, 0, 0, 0, 0],
            23
        ));
    }

    #[test]
    fn reasons_name_the_setting_that_allows_them() {
        assert_eq!(
            RefusalReason::Loopback.setting(AllowSettings::CHATWOOT),
            Some(ALLOW_LOOPBACK_SETTING)
        );
        assert_eq!(
            RefusalReason::Private(PrivateRange::SharedAddressSpace)
                .setting(AllowSettings::CHATWOOT),
            Some(ALLOW_PRIVATE_SETTING)
        );
        assert_eq!(
            RefusalReason::Loopback.setting(AllowSettings::MEDIA_URL),
            Some(MEDIA_URL_ALLOW_PRIVATE_SETTING)
        );
        assert_eq!(
            RefusalReason::LinkLocal.setting(AllowSettings::CHATWOOT),
            None
        );
    }
}
