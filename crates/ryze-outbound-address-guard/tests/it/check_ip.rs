//! Table-driven tests of `AddressPolicy::check_ip` over every range, IPv4 and IPv6
//! (including IPv4-mapped, IPv4-compatible, NAT64, 6to4 and SIIT forms), for both
//! policies, and of the refusal messages.

use std::net::{IpAddr, Ipv4Addr};

use ryze_outbound_address_guard::{
    AddressPolicy, AllowSettings, Ipv4Embedding, PrivateRange, RefusalReason, RefusedAddress,
    MEDIA_URL_ALLOW_PRIVATE_SETTING,
};

/// What an address is, independently of the policy.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Public,
    /// Refused unless the policy allows loopback / private addresses.
    Configurable(RefusalReason),
    /// Refused under every policy.
    Never(RefusalReason),
}

use Expect::*;
use RefusalReason::*;

const RFC1918: RefusalReason = Private(PrivateRange::Rfc1918);
const SHARED: RefusalReason = Private(PrivateRange::SharedAddressSpace);
const BENCH: RefusalReason = Private(PrivateRange::Benchmarking);
const ULA: RefusalReason = Private(PrivateRange::UniqueLocal);

fn embeds(mechanism: Ipv4Embedding, ipv4: [u8; 4]) -> Expect {
    Never(EmbedsNonPublicIpv4 {
        mechanism,
        ipv4: Ipv4Addr::from(ipv4),
    })
}

fn table() -> Vec<(&'static str, Expect)> {
    vec![
        // IPv4 public, including the edges of the ranges below.
        ("8.8.8.8", Public),
        ("1.1.1.1", Public),
        ("93.184.215.14", Public),
        ("1.0.0.0", Public),
        ("9.255.255.255", Public),
        ("11.0.0.0", Public),
        ("126.255.255.255", Public),
        ("128.0.0.0", Public),
        ("172.15.255.255", Public),
        ("172.32.0.0", Public),
        ("192.167.255.255", Public),
        ("192.169.0.0", Public),
        ("100.63.255.255", Public),
        ("100.128.0.0", Public),
        ("198.17.255.255", Public),
        ("198.20.0.0", Public),
        ("169.253.255.255", Public),
        ("169.255.0.0", Public),
        ("223.255.255.255", Public),
        ("192.0.1.255", Public),
        ("192.0.3.0", Public),
        // Loopback (RFC 1122).
        ("127.0.0.1", Configurable(Loopback)),
        ("127.1.2.3", Configurable(Loopback)),
        ("127.255.255.255", Configurable(Loopback)),
        // Private (RFC 1918, RFC 6598, RFC 2544).
        ("10.0.0.5", Configurable(RFC1918)),
        ("10.255.255.255", Configurable(RFC1918)),
        ("172.16.0.1", Configurable(RFC1918)),
        ("172.31.255.255", Configurable(RFC1918)),
        ("192.168.0.1", Configurable(RFC1918)),
        ("192.168.255.255", Configurable(RFC1918)),
        ("100.64.0.1", Configurable(SHARED)),
        ("100.127.255.255", Configurable(SHARED)),
        ("198.18.0.1", Configurable(BENCH)),
        ("198.19.255.255", Configurable(BENCH)),
        // Link-local and cloud metadata.
        ("169.254.169.254", Never(LinkLocal)),
        ("169.254.0.1", Never(LinkLocal)),
        ("169.254.255.255", Never(LinkLocal)),
        ("100.100.100.200", Never(CloudMetadata)),
        ("168.63.129.16", Never(CloudMetadata)),
        ("192.0.0.192", Never(CloudMetadata)),
        // Unspecified, "this network", multicast, broadcast, reserved.
        ("0.0.0.0", Never(Unspecified)),
        ("0.0.0.1", Never(ThisNetwork)),
        ("0.255.255.255", Never(ThisNetwork)),
        ("224.0.0.1", Never(Multicast)),
        ("239.255.255.250", Never(Multicast)),
        ("255.255.255.255", Never(Broadcast)),
        ("240.0.0.1", Never(Reserved)),
        ("255.255.255.254", Never(Reserved)),
        ("192.0.0.8", Never(Reserved)),
        ("192.0.0.255", Never(Reserved)),
        ("192.88.99.1", Never(Reserved)),
        // Documentation (RFC 5737).
        ("192.0.2.1", Never(Documentation)),
        ("198.51.100.7", Never(Documentation)),
        ("203.0.113.9", Never(Documentation)),
        // IPv6 public.
        ("2606:4700:4700::1111", Public),
        ("2001:4860:4860::8888", Public),
        ("2a00:1450:4001:80b::200e", Public),
        ("2001:200::1", Public),
        ("3fff:1000::1", Public),
        ("3ffe::1", Public),
        // IPv6 loopback, unspecified, IPv4-compatible (deprecated).
        ("::1", Configurable(Loopback)),
        ("::", Never(Unspecified)),
        ("::2", Never(Ipv4Compatible)),
        ("::127.0.0.1", Never(Ipv4Compatible)),
        ("::169.254.169.254", Never(Ipv4Compatible)),
        ("::8.8.8.8", Never(Ipv4Compatible)),
        // IPv4-mapped: classified as the IPv4 address, policy applies.
        ("::ffff:127.0.0.1", Configurable(Loopback)),
        ("::ffff:10.0.0.5", Configurable(RFC1918)),
        ("::ffff:100.64.0.1", Configurable(SHARED)),
        ("::ffff:169.254.169.254", Never(LinkLocal)),
        ("::ffff:a9fe:a9fe", Never(LinkLocal)),
        ("::ffff:0.0.0.0", Never(Unspecified)),
        ("::ffff:255.255.255.255", Never(Broadcast)),
        ("::ffff:224.0.0.1", Never(Multicast)),
        ("::ffff:100.100.100.200", Never(CloudMetadata)),
        ("::ffff:8.8.8.8", Public),
        // NAT64 well-known prefix (RFC 6052): refused when the IPv4 address is not public.
        (
            "64:ff9b::169.254.169.254",
            embeds(Ipv4Embedding::Nat64, [169, 254, 169, 254]),
        ),
        (
            "64:ff9b::127.0.0.1",
            embeds(Ipv4Embedding::Nat64, [127, 0, 0, 1]),
        ),
        (
            "64:ff9b::a00:5",
            embeds(Ipv4Embedding::Nat64, [10, 0, 0, 5]),
        ),
        ("64:ff9b::8.8.8.8", Public),
        // Local-use NAT64 (RFC 8215).
        (
            "64:ff9b:1::a00:5",
            Configurable(Private(PrivateRange::LocalUseNat64)),
        ),
        // 6to4 (RFC 3056) and SIIT (RFC 6145).
        (
            "2002:a9fe:a9fe::1",
            embeds(Ipv4Embedding::SixToFour, [169, 254, 169, 254]),
        ),
        (
            "2002:7f00:1::",
            embeds(Ipv4Embedding::SixToFour, [127, 0, 0, 1]),
        ),
        ("2002:808:808::1", Public),
        (
            "::ffff:0:a9fe:a9fe",
            embeds(Ipv4Embedding::Siit, [169, 254, 169, 254]),
        ),
        ("::ffff:0:808:808", Public),
        // Link-local, site-local, unique-local, AWS IPv6 metadata.
        ("fe80::1", Never(LinkLocal)),
        ("fe80::a9fe:a9fe", Never(LinkLocal)),
        ("febf:ffff::1", Never(LinkLocal)),
        ("fec0::1", Never(Reserved)),
        ("fc00::1", Configurable(ULA)),
        ("fd12:3456:789a::1", Configurable(ULA)),
        ("fdff:ffff::1", Configurable(ULA)),
        ("fd00:ec2::254", Never(CloudMetadata)),
        // Multicast.
        ("ff02::1", Never(Multicast)),
        ("ff05::1:3", Never(Multicast)),
        ("ff0e::1", Never(Multicast)),
        // Documentation (RFC 3849, RFC 9637).
        ("2001:db8::1", Never(Documentation)),
        ("2001:db8:ffff::1", Never(Documentation)),
        ("3fff::1", Never(Documentation)),
        ("3fff:fff::1", Never(Documentation)),
        // IETF protocol assignments (Teredo, benchmarking, ORCHID), unassigned space.
        ("2001::1", Never(Reserved)),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", Never(Reserved)),
        ("2001:2::1", Never(Reserved)),
        ("2001:10::1", Never(Reserved)),
        ("2001:1ff::1", Never(Reserved)),
        ("100::1", Never(Reserved)),
        ("4000::1", Never(Reserved)),
        ("1::1", Never(Reserved)),
    ]
}

fn parse(text: &str) -> IpAddr {
    text.parse()
        .unwrap_or_else(|e| panic!("bad address {text} in the table: {e}"))
}

#[test]
fn strict_policy_allows_public_addresses_only() {
    let policy = AddressPolicy::strict();
    for (text, expect) in table() {
        let ip = parse(text);
        let got = policy.check_ip(ip);
        match expect {
            Public => assert_eq!(got, Ok(()), "{text} should be allowed"),
            Configurable(reason) | Never(reason) => assert_eq!(
                got,
                Err(RefusedAddress {
                    ip,
                    reason,
                    setting: reason.setting(AllowSettings::CHATWOOT)
                }),
                "{text} should be refused as {reason:?}"
            ),
        }
    }
}

#[test]
fn embedded_policy_allows_loopback_and_private_but_never_the_rest() {
    let policy = AddressPolicy::embedded_default();
    for (text, expect) in table() {
        let ip = parse(text);
        let got = policy.check_ip(ip);
        match expect {
            Public | Configurable(_) => assert_eq!(got, Ok(()), "{text} should be allowed"),
            Never(reason) => assert_eq!(
                got,
                Err(RefusedAddress {
                    ip,
                    reason,
                    setting: None
                }),
                "{text} should be refused as {reason:?}"
            ),
        }
    }
}

#[test]
fn loopback_and_private_settings_are_independent() {
    let loopback_only = AddressPolicy::chatwoot(true, false);
    let private_only = AddressPolicy::chatwoot(false, true);
    for (text, expect) in table() {
        let ip = parse(text);
        match expect {
            Configurable(Loopback) => {
                assert!(loopback_only.check_ip(ip).is_ok(), "{text}");
                assert!(private_only.check_ip(ip).is_err(), "{text}");
            }
            Configurable(Private(_)) => {
                assert!(loopback_only.check_ip(ip).is_err(), "{text}");
                assert!(private_only.check_ip(ip).is_ok(), "{text}");
            }
            Configurable(other) => panic!("{text}: {other:?} is not configurable"),
            Public => {
                assert!(loopback_only.check_ip(ip).is_ok(), "{text}");
                assert!(private_only.check_ip(ip).is_ok(), "{text}");
            }
            Never(_) => {
                assert!(loopback_only.check_ip(ip).is_err(), "{text}");
                assert!(private_only.check_ip(ip).is_err(), "{text}");
            }
        }
    }
}

#[test]
fn every_refusal_names_a_setting_or_says_never() {
    for (text, expect) in table() {
        let ip = parse(text);
        let Err(refused) = AddressPolicy::strict().check_ip(ip) else {
            continue;
        };
        let message = refused.to_string();
        assert!(message.starts_with(&format!("{ip} is ")), "{message}");
        match expect {
            Configurable(reason) => {
                let setting = reason
                    .setting(AllowSettings::CHATWOOT)
                    .unwrap_or_else(|| panic!("{text}: no setting"));
                assert!(
                    message.contains(&format!("set {setting}=true")),
                    "{message}"
                );
            }
            Never(reason) => {
                assert_eq!(reason.setting(AllowSettings::CHATWOOT), None, "{text}");
                assert!(message.ends_with(", which is never allowed"), "{message}");
            }
            Public => unreachable!("{text} is public"),
        }
    }
}

#[test]
fn refusal_messages_read_as_sentences() {
    let refuse = |text: &str| {
        AddressPolicy::strict()
            .check_ip(parse(text))
            .expect_err("refused")
            .to_string()
    };
    assert_eq!(
        refuse("169.254.169.254"),
        "169.254.169.254 is a link-local address (cloud metadata), which is never allowed"
    );
    assert_eq!(
        refuse("10.0.0.5"),
        "10.0.0.5 is a private address; set BRIDGE_ALLOW_PRIVATE_ADDRESSES=true to allow \
         private networks"
    );
    assert_eq!(
        refuse("::ffff:127.0.0.1"),
        "::ffff:127.0.0.1 is a loopback address; set BRIDGE_ALLOW_LOOPBACK_ADDRESSES=true to \
         allow loopback addresses"
    );
    assert_eq!(
        refuse("64:ff9b::a9fe:a9fe"),
        "64:ff9b::a9fe:a9fe is a NAT64 address that leads to the non-public IPv4 address \
         169.254.169.254, which is never allowed"
    );
    assert_eq!(
        refuse("100.64.0.1"),
        "100.64.0.1 is a shared carrier-grade NAT (private) address; set \
         BRIDGE_ALLOW_PRIVATE_ADDRESSES=true to allow private networks"
    );
}

#[test]
fn the_media_url_policy_refuses_loopback_and_private_unless_its_own_setting_allows_them() {
    let refusing = AddressPolicy::media_url(false);
    let allowing = AddressPolicy::media_url(true);
    for (text, expect) in table() {
        let ip = parse(text);
        match expect {
            Public => assert!(refusing.check_ip(ip).is_ok(), "{text}"),
            Configurable(reason) => {
                let refused = refusing.check_ip(ip).expect_err(text);
                assert_eq!(refused.reason, reason, "{text}");
                assert_eq!(
                    refused.setting,
                    Some(MEDIA_URL_ALLOW_PRIVATE_SETTING),
                    "{text}"
                );
                assert!(allowing.check_ip(ip).is_ok(), "{text}");
            }
            Never(_) => assert!(allowing.check_ip(ip).is_err(), "{text}"),
        }
    }
    assert_eq!(
        refusing
            .check_ip(parse("10.0.0.7"))
            .expect_err("refused")
            .to_string(),
        "10.0.0.7 is a private address; set MEDIA_URL_ALLOW_PRIVATE_ADDRESSES=true to allow \
         private networks"
    );
}
