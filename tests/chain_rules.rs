//! The rules on the server's leaf that do not depend on how it is trusted, and
//! what each `ServerAuth` mode checks:
//!
//! - RFC 5246 §7.4.2 / RFC 5280 §4.2.1.3: a leaf whose keyUsage extension lacks
//!   keyEncipherment is refused in every mode (unsupported_certificate);
//! - a leaf byte-identical to a trusted certificate is still checked for its
//!   name, its extendedKeyUsage and (given the time) its validity period;
//! - a pin skips the chain, the name and the period, and nothing else;
//! - the pin, and the identical-certificate shortcut, are about the leaf only;
//! - the name is checked when an anchor issues the leaf directly;
//! - the 2048-bit minimum holds for every mode.
//!
//! The PKI is tests/chain/pki.rs's. Refusals assert the exact error, alert
//! bytes and stickiness; acceptances run the whole handshake.

mod common;
#[path = "chain/pki.rs"]
mod pki;

use std::sync::Arc;

use common::*;
use pki::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsatls::msgs::enums::AlertDescription;
use rsatls::{CertificateError, ClientConfig, ClientConnection, ServerAuth};
use spki::ObjectIdentifier;
use x509_cert::ext::pkix::KeyUsages;
use x509_cert::ext::pkix::name::GeneralName;

const SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
const CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");

fn localhost() -> Vec<GeneralName> {
    vec![dns("localhost")]
}

/// A leaf for `key`, valid for localhost, signed by the test intermediate.
fn issued(key: &str, usage: Usage) -> Vec<u8> {
    certificate_with(
        key,
        "rsatls test leaf",
        ("rsa3072", "rsatls test intermediate"),
        Kind::Leaf(localhost()),
        VALID,
        usage,
    )
}

/// A self-signed leaf for `key`, valid for localhost during `validity`: what
/// `openssl req -x509` makes.
fn self_signed(key: &str, validity: (u64, u64), usage: Usage) -> Vec<u8> {
    let subject = "rsatls self-signed";
    certificate_with(
        key,
        subject,
        (key, subject),
        Kind::Leaf(localhost()),
        validity,
        usage,
    )
}

fn pinning(key: &str) -> Arc<ClientConfig> {
    Arc::new(ClientConfig::new(
        provider(),
        ServerAuth::Pins(vec![pin(key)]),
    ))
}

fn any_key() -> Arc<ClientConfig> {
    Arc::new(ClientConfig::new(
        provider(),
        ServerAuth::DangerousAcceptAnyKeyForTestingOnly,
    ))
}

/// A client made with `new`: no time, so no chain and no validity period.
fn client_without_time(config: Arc<ClientConfig>, server_name: &str) -> ClientConnection {
    ClientConnection::new(config, Some(server_name), ChaCha20Rng::seed_from_u64(1)).unwrap()
}

/// Every way a client can come to trust the rsa2048 key, each with the chain
/// the server sends: its pin, a trusted leaf sent as it is (with and without
/// the time), a chain to the trusted root, and the test-only any-key mode.
/// `self_signed` and `issued` are leaves for rsa2048 with the same usages.
fn every_mode(
    self_signed: &[u8],
    issued: &[u8],
) -> Vec<(&'static str, ClientConnection, Vec<Vec<u8>>)> {
    let chain = vec![issued.to_vec(), pki().intermediate.clone()];
    let alone = vec![self_signed.to_vec()];
    vec![
        (
            "pin",
            client_at(pinning("rsa2048"), "localhost"),
            chain.clone(),
        ),
        (
            "trusted leaf",
            client_at(trusting(alone.clone()), "localhost"),
            alone.clone(),
        ),
        (
            "trusted leaf without a time",
            client_without_time(trusting(alone.clone()), "localhost"),
            alone.clone(),
        ),
        (
            "chain to a trusted root",
            client_at(trusting(vec![pki().root.clone()]), "localhost"),
            chain,
        ),
        ("any key", client_at(any_key(), "localhost"), alone),
    ]
}

fn assert_accepted(what: &str, mut c: ClientConnection, chain: Vec<Vec<u8>>) {
    let mut s = server_with_chain(chain);
    let result = handshake(&mut c, &mut s);
    assert!(result.is_ok(), "{what}: {:?}", result.err());
    assert!(c.is_established() && s.is_established(), "{what}");
}

// ---------------------------------------------------------------------------
// keyUsage: the key must be allowed to encrypt the premaster secret
// ---------------------------------------------------------------------------

/// RFC 5246 §7.4.2: "the keyEncipherment bit MUST be set if the key usage
/// extension is present". A server certificate made for signing only (an
/// ECDHE-RSA server's, say) must not receive an RSA-encrypted premaster: this
/// is about the key's use, so no way of trusting the key overrides it.
#[test]
fn a_leaf_without_key_encipherment_is_refused_in_every_trust_mode() {
    let usages = [
        KeyUsages::DigitalSignature.into(),
        KeyUsages::DigitalSignature | KeyUsages::DataEncipherment,
        KeyUsages::DigitalSignature | KeyUsages::KeyAgreement,
    ];
    for usage in usages {
        let self_signed = self_signed("rsa2048", VALID, Usage::key_usage(usage));
        let issued = issued("rsa2048", Usage::key_usage(usage));
        for (what, c, chain) in every_mode(&self_signed, &issued) {
            println!("{what}, keyUsage {usage:?}");
            assert_client_refuses(
                c,
                chain,
                CertificateError::NoKeyEncipherment,
                AlertDescription::UNSUPPORTED_CERTIFICATE,
            );
        }
    }
}

/// Without a keyUsage extension the key may be used for anything (RFC 5280
/// §4.2.1.3 restricts only through the extension); keyEncipherment alone is
/// enough.
#[test]
fn a_leaf_without_key_usage_or_with_key_encipherment_is_accepted_in_every_trust_mode() {
    let usages = [
        Usage {
            key_usage: None,
            extended: None,
        },
        Usage::key_usage(KeyUsages::KeyEncipherment),
        Usage::server(),
    ];
    for usage in usages {
        let self_signed = self_signed("rsa2048", VALID, usage.clone());
        let issued = issued("rsa2048", usage.clone());
        for (what, c, chain) in every_mode(&self_signed, &issued) {
            let shown = usage.key_usage.map(|u| format!("{u:?}"));
            assert_accepted(&format!("{what}, keyUsage {shown:?}"), c, chain);
        }
    }
}

/// RFC 5280 §4.2.1.12: webpki refuses a chain whose leaf has an
/// extendedKeyUsage without serverAuth; a trusted leaf sent as it is gets the
/// same rule (with or without the time). A pin names a key, not a purpose: the
/// extendedKeyUsage is one of the chain's rules that a pin skips.
#[test]
fn a_trusted_leaf_needs_server_auth_in_its_extended_key_usage_like_a_chain() {
    let with_eku = |purposes: Vec<ObjectIdentifier>| Usage {
        extended: Some(purposes),
        ..Usage::server()
    };
    let client_only = with_eku(vec![CLIENT_AUTH]);
    let leaf = self_signed("rsa2048", VALID, client_only.clone());
    let issued = issued("rsa2048", client_only);
    let alone = vec![leaf.clone()];
    let refusals = [
        (
            client_at(trusting(alone.clone()), "localhost"),
            alone.clone(),
        ),
        (
            client_without_time(trusting(alone.clone()), "localhost"),
            alone.clone(),
        ),
        (
            client_at(trusting(vec![pki().root.clone()]), "localhost"),
            vec![issued, pki().intermediate.clone()],
        ),
    ];
    for (c, chain) in refusals {
        assert_client_refuses(
            c,
            chain,
            CertificateError::InvalidChain,
            AlertDescription::BAD_CERTIFICATE,
        );
    }
    assert_accepted("pin", client_at(pinning("rsa2048"), "localhost"), alone);

    let both = self_signed("rsa2048", VALID, with_eku(vec![CLIENT_AUTH, SERVER_AUTH]));
    let c = client_at(trusting(vec![both.clone()]), "localhost");
    assert_accepted("trusted leaf with serverAuth", c, vec![both]);
}

// ---------------------------------------------------------------------------
// A trusted leaf sent as it is (`--cafile` with a self-signed server)
// ---------------------------------------------------------------------------

/// A leaf byte-identical to a trusted certificate is not checked against a
/// chain, but it must be valid for the name the client connected to, as curl
/// and OpenSSL require of a `--cafile` self-signed server: trusting a
/// certificate for localhost must not make it good for every name.
#[test]
fn a_trusted_leaf_is_checked_for_the_server_name() {
    let leaf = data("rsa2048.cert.der");
    for name in ["www.example.test", "127.0.0.2", "::2"] {
        for with_time in [true, false] {
            let config = trusting(vec![leaf.clone()]);
            let c = match with_time {
                true => client_at(config, name),
                false => client_without_time(config, name),
            };
            println!("{name}, with time {with_time}");
            assert_client_refuses(
                c,
                vec![leaf.clone()],
                CertificateError::NotValidForName,
                AlertDescription::BAD_CERTIFICATE,
            );
        }
    }
    // Without a name there is nothing to check the leaf against.
    let c = ClientConnection::new_at(
        trusting(vec![leaf.clone()]),
        None,
        now(),
        ChaCha20Rng::seed_from_u64(1),
    )
    .unwrap();
    assert_client_refuses(
        c,
        vec![leaf],
        CertificateError::NotValidForName,
        AlertDescription::BAD_CERTIFICATE,
    );
}

/// Given the time (`new_at`, as the CLI does), a trusted leaf must be valid at
/// it, notBefore and notAfter included (RFC 5280 §4.1.2.5).
#[test]
fn a_trusted_leaf_is_checked_for_its_validity_period_at_the_callers_time() {
    let refused = [
        ((NOW - 2 * YEAR, NOW - 1), CertificateError::Expired),
        ((NOW + 1, NOW + YEAR), CertificateError::NotYetValid),
    ];
    for (validity, err) in refused {
        let leaf = self_signed("rsa2048", validity, Usage::server());
        let c = client_at(trusting(vec![leaf.clone()]), "localhost");
        assert_client_refuses(c, vec![leaf], err, AlertDescription::CERTIFICATE_EXPIRED);
    }
    for validity in [(NOW - YEAR, NOW), (NOW, NOW + YEAR)] {
        let leaf = self_signed("rsa2048", validity, Usage::server());
        let c = client_at(trusting(vec![leaf.clone()]), "localhost");
        assert_accepted(&format!("{validity:?}"), c, vec![leaf]);
    }
}

/// `ClientConnection::new` has no time (the engine never reads the clock), so
/// it checks a trusted leaf's name and usages but not its period, as its
/// documentation says.
#[test]
fn without_a_time_a_trusted_leaf_is_not_checked_for_its_period() {
    for validity in [(NOW - 2 * YEAR, NOW - 1), (NOW + 1, NOW + YEAR)] {
        let leaf = self_signed("rsa2048", validity, Usage::server());
        let c = client_without_time(trusting(vec![leaf.clone()]), "localhost");
        assert_accepted(&format!("{validity:?}"), c, vec![leaf]);
    }
}

/// A pin names the leaf's key: the chain, the name and the period are not
/// checked (the key usage and key size rules are, above and below).
#[test]
fn a_pin_skips_the_chain_the_name_and_the_validity_period() {
    let expired = self_signed("rsa2048", (NOW - 2 * YEAR, NOW - 1), Usage::server());
    let unknown_issuer = issued("rsa2048", Usage::server());
    for chain in [vec![expired], vec![unknown_issuer]] {
        let c = client_at(pinning("rsa2048"), "www.example.test");
        assert_accepted("pin", c, chain);
    }
}

// ---------------------------------------------------------------------------
// What a man in the middle might try
// ---------------------------------------------------------------------------

/// The pin must match the leaf, whose key encrypts the premaster secret: a
/// chain that carries the pinned certificate further down, under someone
/// else's leaf, is refused (else whoever holds that leaf's key reads the
/// session).
#[test]
fn a_pin_matches_the_leaf_key_only() {
    let pinned = data("rsa2048.cert.der");
    let intruder = data("other2048.cert.der");
    let c = client_at(pinning("rsa2048"), "localhost");
    assert_client_refuses_sent(
        c,
        vec![intruder.clone(), pinned.clone()],
        CertificateError::NotTrusted,
        AlertDescription::BAD_CERTIFICATE,
    );
    // The same two certificates, pinned leaf first, are accepted.
    let c = client_at(pinning("rsa2048"), "localhost");
    assert_accepted("pinned leaf first", c, vec![pinned, intruder]);
}

/// The identical-certificate shortcut is for the leaf only: a trusted
/// certificate elsewhere in the chain must not spare the leaf its validation.
#[test]
fn a_trusted_certificate_below_the_leaf_does_not_skip_validation() {
    let trusted = data("rsa2048.cert.der");
    // An intruder's leaf for localhost, from a CA the client does not trust.
    let intruder = issued("other2048", Usage::server());
    let chain = vec![intruder, trusted.clone()];
    let c = client_at(trusting(vec![trusted.clone()]), "localhost");
    assert_client_refuses_sent(
        c,
        chain.clone(),
        CertificateError::UnknownIssuer,
        AlertDescription::UNKNOWN_CA,
    );
    let c = client_without_time(trusting(vec![trusted]), "localhost");
    assert_client_refuses_sent(
        c,
        chain,
        CertificateError::NotTrusted,
        AlertDescription::BAD_CERTIFICATE,
    );
}

/// A leaf issued directly by a trust anchor (no intermediate) is checked for
/// the name like any other.
#[test]
fn the_name_is_checked_when_an_anchor_issues_the_leaf_directly() {
    let leaf = certificate(
        "rsa2048",
        "rsatls test leaf",
        ("rsa4096", "rsatls test root"),
        Kind::Leaf(localhost()),
        VALID,
    );
    let anchors = vec![pki().root.clone()];
    let c = client_at(trusting(anchors.clone()), "localhost");
    assert_accepted("localhost", c, vec![leaf.clone()]);
    for name in ["www.example.test", "127.0.0.1"] {
        let c = client_at(trusting(anchors.clone()), name);
        assert_client_refuses(
            c,
            vec![leaf.clone()],
            CertificateError::NotValidForName,
            AlertDescription::BAD_CERTIFICATE,
        );
    }
}

/// The 2048-bit minimum (RFC 5246 leaves the size to policy; see rsa_kx) holds
/// whatever made the key trusted: pinned, trusted as it is, or validated.
#[test]
fn the_key_size_minimum_applies_to_pinned_trusted_and_validated_keys() {
    let small = data("rsa1024.cert.der");
    let issued_small = issued("rsa1024", Usage::server());
    let cases = [
        (
            "pin",
            client_at(pinning("rsa1024"), "localhost"),
            vec![small.clone()],
        ),
        (
            "trusted leaf",
            client_at(trusting(vec![small.clone()]), "localhost"),
            vec![small.clone()],
        ),
        (
            "trusted leaf without a time",
            client_without_time(trusting(vec![small.clone()]), "localhost"),
            vec![small],
        ),
        (
            "chain to a trusted root",
            client_at(trusting(vec![pki().root.clone()]), "localhost"),
            vec![issued_small, pki().intermediate.clone()],
        ),
    ];
    for (what, c, chain) in cases {
        println!("{what}");
        assert_client_refuses_sent(
            c,
            chain,
            CertificateError::KeySize,
            AlertDescription::UNSUPPORTED_CERTIFICATE,
        );
    }
}
