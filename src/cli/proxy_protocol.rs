//! The PROXY protocol header `proxy --proxy-protocol v1|v2` writes to the
//! upstream before any data (haproxy's "The PROXY protocol", versions 1 and 2),
//! so that the upstream learns the client's address and, in version 2, what the
//! TLS handshake settled.

use std::net::{IpAddr, SocketAddr};

/// The v2 signature (§2.2): `\r\n\r\n\0\r\nQUIT\n`.
const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// §2.2: version 2 in the high nibble, command PROXY (1) in the low one.
const V2_VERSION_PROXY: u8 = 0x21;
/// §2.2: address family (INET 1, INET6 2) high, transport STREAM (1) low.
const V2_TCP4: u8 = 0x11;
const V2_TCP6: u8 = 0x21;

/// §2.2.1-§2.2.6: the TLV types and the PP2_TYPE_SSL sub-types written here.
const PP2_TYPE_ALPN: u8 = 0x01;
const PP2_TYPE_AUTHORITY: u8 = 0x02;
const PP2_TYPE_SSL: u8 = 0x20;
const PP2_SUBTYPE_SSL_VERSION: u8 = 0x21;
const PP2_SUBTYPE_SSL_CN: u8 = 0x22;
const PP2_SUBTYPE_SSL_CIPHER: u8 = 0x23;
/// §2.2.5: `client` flags of PP2_TYPE_SSL.
const PP2_CLIENT_SSL: u8 = 0x01;
const PP2_CLIENT_CERT_CONN: u8 = 0x02;
const PP2_CLIENT_CERT_SESS: u8 = 0x04;

/// What the TLS handshake settled, as version 2 carries it.
#[derive(Debug, Default)]
pub(crate) struct TlsFacts {
    /// The SNI host name the client sent (PP2_TYPE_AUTHORITY).
    pub(crate) server_name: Option<String>,
    /// The application protocol agreed (PP2_TYPE_ALPN).
    pub(crate) alpn: Option<Vec<u8>>,
    /// The cipher's OpenSSL name (PP2_SUBTYPE_SSL_CIPHER), as haproxy sends it.
    pub(crate) cipher: &'static str,
    /// The client sent a certificate and the engine verified it.
    pub(crate) client_verified: bool,
    /// The verified client certificate's subject commonName (PP2_SUBTYPE_SSL_CN).
    pub(crate) client_cn: Option<String>,
}

/// Both addresses in one family: IPv4-mapped IPv6 addresses (a dual-stack
/// listener's view of IPv4 clients) become IPv4, and a remaining mix of
/// families is written as IPv6 (IPv4-mapped), as the spec asks of a proxy
/// that cannot keep one family (§2.1, "TCP6").
fn same_family(src: SocketAddr, dst: SocketAddr) -> (SocketAddr, SocketAddr) {
    let canonical = |a: SocketAddr| SocketAddr::new(a.ip().to_canonical(), a.port());
    let (src, dst) = (canonical(src), canonical(dst));
    let to_v6 = |a: SocketAddr| match a.ip() {
        IpAddr::V4(v4) => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), a.port()),
        IpAddr::V6(_) => a,
    };
    match src.is_ipv4() == dst.is_ipv4() {
        true => (src, dst),
        false => (to_v6(src), to_v6(dst)),
    }
}

/// The version 1 header (§2.1): `PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n`,
/// `src` being the client and `dst` the address it connected to.
pub(crate) fn v1(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    let (src, dst) = same_family(src, dst);
    let family = match src.is_ipv4() {
        true => "TCP4",
        false => "TCP6",
    };
    // At most 104 bytes for TCP6 (§2.1: the line fits in 107 bytes).
    format!(
        "PROXY {family} {} {} {} {}\r\n",
        src.ip(),
        dst.ip(),
        src.port(),
        dst.port()
    )
    .into_bytes()
}

/// The version 2 header (§2.2): signature, PROXY command, TCP over IPv4 or
/// IPv6, the addresses and ports, then the TLVs: PP2_TYPE_ALPN and
/// PP2_TYPE_AUTHORITY (SNI) when there are any, and PP2_TYPE_SSL with the
/// `client` flags, `verify` (0 only for a client certificate that was verified)
/// and the VERSION, CIPHER and, for a verified client certificate, CN sub-TLVs.
pub(crate) fn v2(src: SocketAddr, dst: SocketAddr, tls: &TlsFacts) -> Vec<u8> {
    let (src, dst) = same_family(src, dst);
    let mut body = Vec::with_capacity(128);
    let family = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            body.extend_from_slice(&s.octets());
            body.extend_from_slice(&d.octets());
            V2_TCP4
        }
        (s, d) => {
            body.extend_from_slice(&v6_octets(s));
            body.extend_from_slice(&v6_octets(d));
            V2_TCP6
        }
    };
    body.extend_from_slice(&src.port().to_be_bytes());
    body.extend_from_slice(&dst.port().to_be_bytes());
    if let Some(alpn) = &tls.alpn {
        tlv(&mut body, PP2_TYPE_ALPN, alpn);
    }
    if let Some(name) = &tls.server_name {
        tlv(&mut body, PP2_TYPE_AUTHORITY, name.as_bytes());
    }
    // §2.2.5: struct pp2_tlv_ssl { u8 client; u32 verify; sub-TLVs }.
    let mut ssl = Vec::with_capacity(64);
    let client = match tls.client_verified {
        true => PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS,
        false => PP2_CLIENT_SSL,
    };
    ssl.push(client);
    // "zero if the client presented a certificate and it was successfully
    // verified, and non-zero otherwise".
    let verify: u32 = match tls.client_verified {
        true => 0,
        false => 1,
    };
    ssl.extend_from_slice(&verify.to_be_bytes());
    tlv(&mut ssl, PP2_SUBTYPE_SSL_VERSION, b"TLSv1.2");
    tlv(&mut ssl, PP2_SUBTYPE_SSL_CIPHER, tls.cipher.as_bytes());
    if let (true, Some(cn)) = (tls.client_verified, &tls.client_cn) {
        tlv(&mut ssl, PP2_SUBTYPE_SSL_CN, cn.as_bytes());
    }
    tlv(&mut body, PP2_TYPE_SSL, &ssl);
    let mut header = Vec::with_capacity(16 + body.len());
    header.extend_from_slice(&V2_SIGNATURE);
    header.push(V2_VERSION_PROXY);
    header.push(family);
    // Every TLV value is capped by `tlv`, so the body stays far below 64 KiB.
    let len = u16::try_from(body.len()).unwrap_or(u16::MAX);
    header.extend_from_slice(&len.to_be_bytes());
    header.extend_from_slice(&body);
    header
}

fn v6_octets(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// The longest TLV value written: SNI names (255 bytes), ALPN protocols (255)
/// and commonNames (64 in RFC 5280's upper bound) are far shorter; anything
/// longer is cut here so that the header's 16-bit length cannot overflow.
const MAX_TLV_VALUE: usize = 1024;

/// Appends one TLV (§2.2: type, 16-bit big-endian length, value).
fn tlv(out: &mut Vec<u8>, typ: u8, value: &[u8]) {
    let value = &value[..value.len().min(MAX_TLV_VALUE)];
    out.push(typ);
    // MAX_TLV_VALUE fits in 16 bits.
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
}

/// The OpenSSL name of a suite, which is what PP2_SUBTYPE_SSL_CIPHER carries
/// (haproxy fills it from OpenSSL); the IANA name for a suite not listed.
pub(crate) fn openssl_cipher_name(iana: &'static str) -> &'static str {
    match iana {
        "TLS_RSA_WITH_AES_128_GCM_SHA256" => "AES128-GCM-SHA256",
        "TLS_RSA_WITH_AES_256_GCM_SHA384" => "AES256-GCM-SHA384",
        other => other,
    }
}

/// The subject commonName of a DER certificate, if it has one.
pub(crate) fn common_name(cert_der: &[u8]) -> Option<String> {
    use x509_cert::der::Decode;
    let cert = x509_cert::Certificate::from_der(cert_der).ok()?;
    let cn = cert.tbs_certificate().subject().common_name().ok()??;
    Some(cn.value().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v1_ipv4_is_the_specs_example_line() {
        // §2.1's example, byte for byte.
        assert_eq!(
            v1(addr("192.168.0.1:56324"), addr("192.168.0.11:443")),
            b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"
        );
    }

    #[test]
    fn v1_ipv6_and_mixed_families() {
        assert_eq!(
            v1(addr("[2001:db8::1]:1234"), addr("[::1]:443")),
            b"PROXY TCP6 2001:db8::1 ::1 1234 443\r\n"
        );
        // A dual-stack listener sees IPv4 clients as IPv4-mapped addresses.
        assert_eq!(
            v1(addr("[::ffff:10.0.0.1]:5"), addr("[::ffff:10.0.0.2]:6")),
            b"PROXY TCP4 10.0.0.1 10.0.0.2 5 6\r\n"
        );
        assert_eq!(
            v1(addr("10.0.0.1:5"), addr("[::1]:6")),
            b"PROXY TCP6 ::ffff:10.0.0.1 ::1 5 6\r\n"
        );
        // §2.1: the longest line is 107 bytes.
        let longest = v1(
            addr("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
            addr("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
        );
        assert!(longest.len() <= 107, "{}", longest.len());
    }

    #[test]
    fn v2_ipv4_without_client_certificate() {
        let facts = TlsFacts {
            cipher: "AES128-GCM-SHA256",
            ..TlsFacts::default()
        };
        let got = v2(addr("127.0.0.1:40000"), addr("127.0.0.2:443"), &facts);
        let mut want = vec![
            0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54,
            0x0a, // signature
            0x21, // version 2, PROXY
            0x11, // TCP over IPv4
            0x00, 50, // 12 address bytes + 3 + 35 of the SSL TLV
            127, 0, 0, 1, 127, 0, 0, 2, // addresses
            0x9c, 0x40, 0x01, 0xbb, // ports 40000, 443
            0x20, 0x00, 35,   // PP2_TYPE_SSL: 1 + 4 + (3 + 7) + (3 + 17) bytes
            0x01, // PP2_CLIENT_SSL only
            0, 0, 0, 1, // verify: no verified certificate
            0x21, 0x00, 7, // PP2_SUBTYPE_SSL_VERSION
        ];
        want.extend_from_slice(b"TLSv1.2");
        want.extend_from_slice(&[0x23, 0x00, 17]); // PP2_SUBTYPE_SSL_CIPHER
        want.extend_from_slice(b"AES128-GCM-SHA256");
        assert_eq!(got, want);
    }

    #[test]
    fn v2_ipv6_with_sni_alpn_and_a_verified_client() {
        let facts = TlsFacts {
            server_name: Some("a.example".into()),
            alpn: Some(b"h2".to_vec()),
            cipher: "AES256-GCM-SHA384",
            client_verified: true,
            client_cn: Some("client 1".into()),
        };
        let got = v2(addr("[2001:db8::1]:1"), addr("[2001:db8::2]:2"), &facts);
        assert_eq!(&got[..12], &V2_SIGNATURE);
        assert_eq!(got[12..14], [0x21, 0x21]);
        let body = &got[16..];
        assert_eq!(
            usize::from(u16::from_be_bytes([got[14], got[15]])),
            body.len()
        );
        let mut want = Vec::new();
        want.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        want.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        want.extend_from_slice(&[0, 1, 0, 2]);
        want.extend_from_slice(&[0x01, 0, 2, b'h', b'2']);
        want.extend_from_slice(&[0x02, 0, 9]);
        want.extend_from_slice(b"a.example");
        // 1 + 4 + (3 + 7) + (3 + 17) + (3 + 8) = 46 bytes; all three client flags.
        want.extend_from_slice(&[0x20, 0, 46, 0x07, 0, 0, 0, 0]);
        want.extend_from_slice(&[0x21, 0, 7]);
        want.extend_from_slice(b"TLSv1.2");
        want.extend_from_slice(&[0x23, 0, 17]);
        want.extend_from_slice(b"AES256-GCM-SHA384");
        want.extend_from_slice(&[0x22, 0, 8]);
        want.extend_from_slice(b"client 1");
        assert_eq!(body, want);
    }

    #[test]
    fn v2_leaves_out_the_cn_of_an_unverified_client() {
        let facts = TlsFacts {
            cipher: "AES128-GCM-SHA256",
            client_cn: Some("not verified".into()),
            ..TlsFacts::default()
        };
        let got = v2(addr("127.0.0.1:1"), addr("127.0.0.1:2"), &facts);
        assert!(!got.windows(12).any(|w| w == b"not verified"));
    }

    #[test]
    fn tlv_values_are_capped() {
        let mut out = Vec::new();
        tlv(&mut out, PP2_TYPE_AUTHORITY, &[b'a'; 70_000]);
        assert_eq!(out.len(), 3 + MAX_TLV_VALUE);
        assert_eq!(out[1..3], (MAX_TLV_VALUE as u16).to_be_bytes());
    }

    #[test]
    fn cipher_names_are_openssls() {
        assert_eq!(
            openssl_cipher_name("TLS_RSA_WITH_AES_128_GCM_SHA256"),
            "AES128-GCM-SHA256"
        );
        assert_eq!(
            openssl_cipher_name("TLS_RSA_WITH_AES_256_GCM_SHA384"),
            "AES256-GCM-SHA384"
        );
    }
}
