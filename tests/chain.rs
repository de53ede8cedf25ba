//! Certificate validation with `ServerAuth::TrustedCertificates` (chains to a
//! trust anchor, through rustls-webpki and the crypto provider) and the
//! server's choice of certificate by SNI.
//!
//! The PKI is tests/chain/pki.rs's. Each test asserts the exact error and alert
//! bytes, as tests/conformance.rs does. The rules on the leaf (key usage, a
//! trusted leaf's name and period, what pins skip) are in tests/chain_rules.rs.

mod common;
#[path = "chain/pki.rs"]
mod pki;

use std::sync::Arc;

use common::*;
use pki::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsatls::msgs::enums::AlertDescription;
use rsatls::{CertificateError, ClientConfig, ClientConnection, Error, ServerAuth, ServerConfig};

#[test]
fn a_chain_to_a_trusted_root_is_accepted() {
    for name in ["localhost", "LocalHost", "127.0.0.1"] {
        let mut c = client_at(trusting(vec![pki().root.clone()]), name);
        let mut s = server_with_chain(chain());
        let t = handshake(&mut c, &mut s).unwrap();
        assert!(c.is_established() && s.is_established(), "{name}");
        let [Ev::Complete(info)] = t.client_events.as_slice() else {
            panic!("{:?}", t.client_events)
        };
        assert_eq!(info.peer_certificates, chain());
    }
}

#[test]
fn an_intermediate_may_also_be_the_trust_anchor() {
    let mut c = client_at(trusting(vec![pki().intermediate.clone()]), "localhost");
    let mut s = server_with_chain(vec![pki().leaf.clone()]);
    handshake(&mut c, &mut s).unwrap();
    assert!(c.is_established());
}

/// A self-signed server named in `--cafile`: a leaf byte-identical to a trusted
/// certificate is accepted with or without a time, without a chain, when it is
/// valid for the name. (This test used to connect to `not-the-name.test` at a
/// time: the name of such a leaf was not checked then. It is now, as curl and
/// OpenSSL check it; tests/chain_rules.rs has the refusals.)
#[test]
fn a_leaf_identical_to_a_trusted_certificate_is_still_accepted() {
    let self_signed = data("rsa2048.cert.der");
    for (with_time, name) in [
        (false, "localhost"),
        (true, "localhost"),
        (true, "127.0.0.1"),
    ] {
        let config = trusting(vec![pki().root.clone(), self_signed.clone()]);
        let rng = ChaCha20Rng::seed_from_u64(1);
        let mut c = match with_time {
            true => ClientConnection::new_at(config, Some(name), now(), rng),
            false => ClientConnection::new(config, Some(name), rng),
        }
        .unwrap();
        let mut s = server(server_config("rsa2048"), 2);
        handshake(&mut c, &mut s).unwrap();
        assert!(c.is_established(), "with_time {with_time} {name}");
    }
}

#[test]
fn a_leaf_for_another_name_is_a_bad_certificate() {
    for name in ["www.example.test", "127.0.0.2", "::1"] {
        let c = client_at(trusting(vec![pki().root.clone()]), name);
        assert_client_refuses(
            c,
            chain(),
            CertificateError::NotValidForName,
            AlertDescription::BAD_CERTIFICATE,
        );
    }
}

#[test]
fn a_chain_without_a_server_name_to_check_is_a_bad_certificate() {
    let c = ClientConnection::new_at(
        trusting(vec![pki().root.clone()]),
        None,
        now(),
        ChaCha20Rng::seed_from_u64(1),
    )
    .unwrap();
    assert_client_refuses(
        c,
        chain(),
        CertificateError::NotValidForName,
        AlertDescription::BAD_CERTIFICATE,
    );
}

#[test]
fn an_unknown_ca_is_unknown_ca() {
    // Trusting an unrelated certificate, and a chain missing its intermediate.
    let cases = [
        (vec![data("rsa2048.cert.der")], chain()),
        (vec![pki().root.clone()], vec![pki().leaf.clone()]),
    ];
    for (anchors, chain) in cases {
        let c = client_at(trusting(anchors), "localhost");
        assert_client_refuses(
            c,
            chain,
            CertificateError::UnknownIssuer,
            AlertDescription::UNKNOWN_CA,
        );
    }
}

#[test]
fn an_expired_or_not_yet_valid_leaf_is_certificate_expired() {
    let cases = [
        ((NOW - 2 * YEAR, NOW - 1), CertificateError::Expired),
        ((NOW + 1, NOW + YEAR), CertificateError::NotYetValid),
    ];
    for (validity, err) in cases {
        let stale = leaf("rsa2048", vec![dns("localhost")], validity);
        let c = client_at(trusting(vec![pki().root.clone()]), "localhost");
        assert_client_refuses(
            c,
            vec![stale, pki().intermediate.clone()],
            err,
            AlertDescription::CERTIFICATE_EXPIRED,
        );
    }
}

#[test]
fn a_tampered_signature_is_a_bad_certificate() {
    let mut tampered = pki().leaf.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let c = client_at(trusting(vec![pki().root.clone()]), "localhost");
    assert_client_refuses(
        c,
        vec![tampered, pki().intermediate.clone()],
        CertificateError::BadSignature,
        AlertDescription::BAD_CERTIFICATE,
    );
}

/// Pins are unchanged by chain validation: a valid chain whose leaf key is not
/// pinned is a bad_certificate.
#[test]
fn a_pin_mismatch_is_a_bad_certificate_whatever_the_chain() {
    let config = Arc::new(ClientConfig::new(
        provider(),
        ServerAuth::Pins(vec![pin("other2048")]),
    ));
    assert_client_refuses(
        client_at(config, "localhost"),
        chain(),
        CertificateError::NotTrusted,
        AlertDescription::BAD_CERTIFICATE,
    );
    let config = Arc::new(ClientConfig::new(
        provider(),
        ServerAuth::Pins(vec![pin("rsa2048")]),
    ));
    let mut c = client_at(config, "localhost");
    let mut s = server_with_chain(chain());
    handshake(&mut c, &mut s).unwrap();
    assert!(c.is_established());
}

/// The engine never reads the clock: a connection made without a time (`new`)
/// cannot validate a chain, so it trusts only a byte-identical leaf, as before
/// chain validation existed.
#[test]
fn without_a_time_from_the_caller_only_an_identical_leaf_is_trusted() {
    let c = ClientConnection::new(
        trusting(vec![pki().root.clone()]),
        Some("localhost"),
        ChaCha20Rng::seed_from_u64(1),
    )
    .unwrap();
    assert_client_refuses(
        c,
        chain(),
        CertificateError::NotTrusted,
        AlertDescription::BAD_CERTIFICATE,
    );
}

// ---------------------------------------------------------------------------
// SNI: the server's choice of certificate
// ---------------------------------------------------------------------------

/// A server whose default chain is the committed self-signed rsa2048 (for
/// `localhost`), with a second chain for other2048 valid for
/// `www.example.test` and `*.wild.test`.
fn sni_server_config() -> ServerConfig {
    let other = leaf(
        "other2048",
        vec![dns("www.example.test"), dns("*.wild.test")],
        VALID,
    );
    server_config("rsa2048")
        .with_certificate(
            vec![other, pki().intermediate.clone()],
            &key_file("other2048"),
        )
        .unwrap()
}

#[test]
fn the_server_chooses_its_certificate_by_sni() {
    let config = Arc::new(sni_server_config());
    let default = data("rsa2048.cert.der");
    let cases = [
        (Some("www.example.test"), false),
        (Some("WWW.Example.TEST"), false),
        (Some("a.wild.test"), false),
        (Some("localhost"), true),
        (Some("unknown.test"), true),
        (Some("b.a.wild.test"), true),
        (Some("127.0.0.1"), true),
        (None, true),
    ];
    for (name, gets_default) in cases {
        let mut c = ClientConnection::new(
            Arc::new(ClientConfig::new(
                provider(),
                ServerAuth::DangerousAcceptAnyKeyForTestingOnly,
            )),
            name,
            ChaCha20Rng::seed_from_u64(1),
        )
        .unwrap();
        let mut s = rsatls::ServerConnection::new(config.clone(), ChaCha20Rng::seed_from_u64(2));
        // Completing proves the server decrypted with the key of the leaf it sent.
        let t = handshake(&mut c, &mut s).unwrap();
        assert!(c.is_established() && s.is_established(), "{name:?}");
        let [Ev::Complete(info)] = t.client_events.as_slice() else {
            panic!("{:?}", t.client_events)
        };
        assert_eq!(
            info.peer_certificates[0] == default,
            gets_default,
            "{name:?}"
        );
    }
}

/// A chain chosen by SNI validates like any other.
#[test]
fn a_chain_chosen_by_sni_validates_to_the_root() {
    let mut c = client_at(trusting(vec![pki().root.clone()]), "www.example.test");
    let mut s = server(sni_server_config(), 2);
    handshake(&mut c, &mut s).unwrap();
    assert!(c.is_established());
}

#[test]
fn an_added_certificate_must_match_its_key() {
    let other = leaf("other2048", vec![dns("www.example.test")], VALID);
    assert!(matches!(
        server_config("rsa2048").with_certificate(vec![other], &key_file("rsa2048")),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        server_config("rsa2048").with_certificate(Vec::new(), &key_file("rsa2048")),
        Err(Error::Config(_))
    ));
}
