//! Property 1: every wire type round-trips, decoding is canonical, and decoding
//! arbitrary bytes never panics.
//!
//! Fast by default (a few thousand cases per property, well under a second each
//! in `cargo test --release`). A long campaign:
//!
//! ```sh
//! PROPTEST_CASES=1000000 cargo test --release --test prop_wire
//! ```
//!
//! Counter-examples are persisted to `proptest-regressions/prop_wire.txt` and
//! re-run first on every run.

mod common;

use common::prop_support::prop_config;
use proptest::prelude::*;
use proptest::sample::Index;
use rsatls::codec::Reader;
use rsatls::msgs::alert::Alert;
use rsatls::msgs::enums::{
    AlertDescription, AlertLevel, CipherSuite, ClientCertificateType, Compression, ContentType,
    ExtensionType, HandshakeType, ProtocolVersion, SignatureScheme,
};
use rsatls::msgs::extensions::{
    Extension, Hello, ServerNameEntry, decode_extensions, encode_extensions,
};
use rsatls::msgs::handshake::{
    CertificateRequest, ClientHello, DigitallySigned, HandshakeMessage, ServerHello,
};
use rsatls::msgs::record::RecordHeader;

const REGRESSIONS: &str = "proptest-regressions/prop_wire.txt";

/// Extension types the decoder gives a variant of their own.
const KNOWN_EXTENSIONS: [u16; 5] = [0, 13, 16, 23, 0xff01];

/// Handshake types the decoder gives a variant of their own.
const KNOWN_HANDSHAKES: [u8; 9] = [0, 1, 2, 11, 13, 14, 15, 16, 20];

fn bytes(len: impl Into<prop::collection::SizeRange>) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), len)
}

fn extension() -> impl Strategy<Value = Extension> {
    let entry = (any::<u8>(), bytes(1..40))
        .prop_map(|(name_type, name)| ServerNameEntry { name_type, name });
    prop_oneof![
        // The ServerHello acknowledgement: an empty body.
        Just(Extension::ServerName(Vec::new())),
        prop::collection::vec(entry, 1..4).prop_map(Extension::ServerName),
        Just(Extension::ExtendedMasterSecret),
        bytes(0..=255).prop_map(Extension::RenegotiationInfo),
        prop::collection::vec(bytes(1..=255), 1..5).prop_map(Extension::Alpn),
        prop::collection::vec(any::<u16>().prop_map(SignatureScheme), 1..20)
            .prop_map(Extension::SignatureAlgorithms),
        (
            any::<u16>().prop_filter("a known type has its own variant", |t| {
                !KNOWN_EXTENSIONS.contains(t)
            }),
            bytes(0..64)
        )
            .prop_map(|(t, body)| Extension::Unknown(ExtensionType(t), body)),
    ]
}

/// An extensions block: absent, or a list without duplicate types.
fn extensions() -> impl Strategy<Value = Option<Vec<Extension>>> {
    prop::option::of(prop::collection::vec(extension(), 0..10).prop_map(|exts| {
        let mut out: Vec<Extension> = Vec::new();
        for e in exts {
            if !out.iter().any(|o| o.ext_type() == e.ext_type()) {
                out.push(e);
            }
        }
        out
    }))
}

fn client_hello() -> impl Strategy<Value = ClientHello> {
    (
        any::<u16>(),
        any::<[u8; 32]>(),
        bytes(0..=32),
        prop::collection::vec(any::<u16>().prop_map(CipherSuite), 1..20),
        prop::collection::vec(any::<u8>().prop_map(Compression), 1..6),
        extensions(),
    )
        .prop_map(
            |(v, random, session_id, cipher_suites, compression_methods, extensions)| ClientHello {
                client_version: ProtocolVersion(v),
                random,
                session_id,
                cipher_suites,
                compression_methods,
                // RFC 6066 §3: the empty server_name is a ServerHello's alone.
                extensions: extensions.map(|exts| {
                    exts.into_iter()
                        .filter(|e| *e != Extension::ServerName(Vec::new()))
                        .collect()
                }),
            },
        )
}

fn server_hello() -> impl Strategy<Value = ServerHello> {
    (
        any::<u16>(),
        any::<[u8; 32]>(),
        bytes(0..=32),
        any::<u16>(),
        any::<u8>(),
        extensions(),
    )
        .prop_map(
            |(v, random, session_id, suite, compression, extensions)| ServerHello {
                server_version: ProtocolVersion(v),
                random,
                session_id,
                cipher_suite: CipherSuite(suite),
                compression_method: Compression(compression),
                extensions,
            },
        )
}

fn certificate_request() -> impl Strategy<Value = CertificateRequest> {
    (
        prop::collection::vec(any::<u8>(), 1..10),
        prop::collection::vec(any::<u16>(), 1..20),
        prop::collection::vec(bytes(1..80), 0..4),
    )
        .prop_map(|(types, schemes, cas)| CertificateRequest {
            certificate_types: types.into_iter().map(ClientCertificateType).collect(),
            signature_schemes: schemes.into_iter().map(SignatureScheme).collect(),
            certificate_authorities: cas,
        })
}

fn handshake_message() -> impl Strategy<Value = HandshakeMessage> {
    prop_oneof![
        Just(HandshakeMessage::HelloRequest),
        client_hello().prop_map(HandshakeMessage::ClientHello),
        server_hello().prop_map(HandshakeMessage::ServerHello),
        prop::collection::vec(bytes(1..200), 0..4).prop_map(HandshakeMessage::Certificate),
        certificate_request().prop_map(HandshakeMessage::CertificateRequest),
        Just(HandshakeMessage::ServerHelloDone),
        bytes(0..600).prop_map(HandshakeMessage::ClientKeyExchange),
        (any::<u16>(), bytes(0..600)).prop_map(|(scheme, signature)| {
            HandshakeMessage::CertificateVerify(DigitallySigned {
                scheme: SignatureScheme(scheme),
                signature,
            })
        }),
        any::<[u8; 12]>().prop_map(HandshakeMessage::Finished),
        (
            any::<u8>().prop_filter("a known type has its own variant", |t| {
                !KNOWN_HANDSHAKES.contains(t)
            }),
            bytes(0..100)
        )
            .prop_map(|(t, body)| HandshakeMessage::Other(HandshakeType(t), body)),
    ]
}

fn record_header() -> impl Strategy<Value = RecordHeader> {
    (any::<u8>(), any::<u16>(), any::<u16>()).prop_map(|(t, v, len)| RecordHeader {
        typ: ContentType(t),
        version: ProtocolVersion(v),
        len,
    })
}

fn alert() -> impl Strategy<Value = Alert> {
    (any::<u8>(), any::<u8>()).prop_map(|(l, d)| Alert {
        level: AlertLevel(l),
        description: AlertDescription(d),
    })
}

/// Bytes from a small alphabet, so that length fields and empty lists come up
/// often.
fn small_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(vec![0u8, 1, 2, 3, 4, 0xff]), 0..max)
}

/// An extensions block of known and other types with raw, mostly malformed
/// bodies.
fn raw_extensions_block() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        (
            prop_oneof![
                prop::sample::select(KNOWN_EXTENSIONS.to_vec()),
                any::<u16>()
            ],
            small_bytes(12),
        ),
        0..4,
    )
    .prop_map(|exts| {
        let mut body = Vec::new();
        for (t, b) in exts {
            body.extend_from_slice(&t.to_be_bytes());
            body.extend_from_slice(&(b.len() as u16).to_be_bytes());
            body.extend_from_slice(&b);
        }
        let mut out = (body.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(&body);
        out
    })
}

/// An edit of an encoding.
#[derive(Clone, Debug)]
enum Mutation {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, u8),
    Remove(Index),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, v)| Mutation::Set(i, v)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, v)| Mutation::Insert(i, v)),
        any::<Index>().prop_map(Mutation::Remove),
        any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let n = bytes.len();
        match *m {
            Mutation::Insert(ref i, v) => bytes.insert(i.index(n + 1), v),
            _ if n == 0 => {}
            Mutation::Flip(ref i, b) => bytes[i.index(n)] ^= 1 << b,
            Mutation::Set(ref i, v) => bytes[i.index(n)] = v,
            Mutation::Remove(ref i) => {
                bytes.remove(i.index(n));
            }
            Mutation::Truncate(ref i) => bytes.truncate(i.index(n)),
        }
    }
    bytes
}

/// Decodes a whole extensions block of a `hello` (the decoder itself leaves
/// trailing bytes to its caller, who rejects them).
fn decode_extensions_block(bytes: &[u8], hello: Hello) -> Option<Option<Vec<Extension>>> {
    let mut r = Reader::new(bytes);
    let exts = decode_extensions(&mut r, hello).ok()?;
    r.is_empty().then_some(exts)
}

fn encode_extensions_block(exts: &Option<Vec<Extension>>) -> Vec<u8> {
    let mut out = Vec::new();
    encode_extensions(exts, &mut out);
    out
}

/// Whenever a decoder accepts bytes, encoding the result gives those bytes back.
fn assert_canonical(input: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(m) = HandshakeMessage::decode(input) {
        prop_assert_eq!(m.to_bytes(), input, "handshake message {:?}", m);
    }
    for hello in [Hello::Client, Hello::Server] {
        if let Some(exts) = decode_extensions_block(input, hello) {
            prop_assert_eq!(
                encode_extensions_block(&exts),
                input,
                "extensions {:?}",
                exts
            );
        }
    }
    if let Ok(a) = Alert::decode(input) {
        prop_assert_eq!(&a.encode()[..], input);
    }
    if let Some(h) = input.first_chunk::<5>() {
        let header = RecordHeader::decode(h).expect("five bytes always decode");
        prop_assert_eq!(&header.encode(), h);
    }
    Ok(())
}

proptest! {
    #![proptest_config(prop_config(4096, REGRESSIONS))]

    /// decode(encode(x)) == x for every handshake message, extension block,
    /// alert and record header, and the encoding is what the decoder reads back.
    #[test]
    fn wire_values_round_trip(
        msg in handshake_message(),
        exts in extensions(),
        a in alert(),
        header in record_header(),
    ) {
        let bytes = msg.to_bytes();
        prop_assert_eq!(HandshakeMessage::decode(&bytes), Ok(msg.clone()));
        prop_assert_eq!(
            HandshakeMessage::decode_body(msg.typ(), &bytes[4..]),
            Ok(msg)
        );
        let block = encode_extensions_block(&exts);
        prop_assert_eq!(decode_extensions_block(&block, Hello::Server), Some(exts.clone()));
        let client_exts = exts.filter(|e| !e.contains(&Extension::ServerName(Vec::new())));
        if let Some(exts) = client_exts {
            let block = encode_extensions_block(&Some(exts.clone()));
            prop_assert_eq!(decode_extensions_block(&block, Hello::Client), Some(Some(exts)));
        }
        prop_assert_eq!(Alert::decode(&a.encode()), Ok(a));
        prop_assert_eq!(RecordHeader::decode(&header.encode()), Ok(header));
    }

    /// Encodings of generated values, then edited: whenever a decoder still
    /// accepts the bytes, re-encoding reproduces them exactly (one encoding per
    /// value, so a transcript hash cannot be fooled by a re-encoding).
    #[test]
    fn decoding_is_canonical_on_edited_encodings(
        msg in handshake_message(),
        exts in extensions(),
        mutations in prop::collection::vec(mutation(), 0..4),
        hello in client_hello(),
        raw in raw_extensions_block(),
    ) {
        assert_canonical(&mutate(msg.to_bytes(), &mutations))?;
        assert_canonical(&mutate(encode_extensions_block(&exts), &mutations))?;
        // Raw extension bodies, alone and inside a ClientHello.
        assert_canonical(&raw)?;
        let mut body = HandshakeMessage::ClientHello(ClientHello { extensions: None, ..hello })
            .to_bytes()
            .split_off(4);
        body.extend_from_slice(&raw);
        let mut framed = vec![1];
        framed.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        framed.extend_from_slice(&body);
        assert_canonical(&framed)?;
    }

    /// Arbitrary bytes, as any handshake type's body, a whole message, an
    /// extensions block, an alert or a certificate: no decoder panics, and what
    /// they accept is canonical.
    #[test]
    fn decoding_arbitrary_bytes_never_panics(
        typ in any::<u8>(),
        input in prop_oneof![bytes(0..64), bytes(0..2000)],
    ) {
        let _ = HandshakeMessage::decode_body(HandshakeType(typ), &input);
        let mut framed = vec![typ];
        framed.extend_from_slice(&(input.len() as u32).to_be_bytes()[1..]);
        framed.extend_from_slice(&input);
        assert_canonical(&framed)?;
        assert_canonical(&input)?;
        let _ = rsatls::pki::rsa_key_from_certificate(&input);
    }

    /// The certificate parser the client runs on the server's Certificate never
    /// panics on an edited certificate, and an unedited one parses.
    #[test]
    fn certificate_parsing_never_panics(
        name in prop::sample::select(&["rsa2048", "rsa3072", "rsa4096", "other2048"][..]),
        mutations in prop::collection::vec(mutation(), 0..4),
    ) {
        let cert = rsatls::pki::load_certificates(&common::data(&format!("{name}.cert.pem")))
            .expect("test certificate loads")
            .remove(0);
        let edited = mutate(cert.clone(), &mutations);
        let parsed = rsatls::pki::rsa_key_from_certificate(&edited);
        if edited == cert {
            prop_assert!(parsed.is_ok());
        }
    }
}
