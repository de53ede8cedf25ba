//! The offline PKCS#1 v1.5 check of a decrypted ClientKeyExchange block.
//!
//! Unlike the server engine's check (`rsa_kx`), this one branches on the block
//! and says what is wrong with it: a passive decoder answers no one, so there is
//! no oracle to avoid (Bleichenbacher's attack needs a server's answers). This
//! module is private to `passive` and never reachable from `conn` or `rsa_kx`:
//! `tests/passive.rs` scans their sources to hold that.

use zeroize::Zeroizing;

use super::PremasterError;
use crate::key_schedule::SECRET_LEN;
use crate::msgs::enums::ProtocolVersion;

/// Fewest nonzero padding bytes (RFC 8017 §7.2.2 step 3: `PS` is at least 8).
const MIN_PADDING: usize = 8;

/// Checks `block` (`EM`, the modulus length) as an RSAES-PKCS1-v1_5 encoding of
/// a TLS premaster secret and returns the premaster, or why it is not one.
///
/// RFC 5246 §7.4.7.1: the premaster is 48 bytes starting with the version the
/// client offered in its ClientHello.
pub(super) fn premaster_from_block(
    block: &[u8],
    client_version: ProtocolVersion,
) -> Result<Zeroizing<[u8; SECRET_LEN]>, PremasterError> {
    // EM = 0x00 || 0x02 || PS || 0x00 || M
    let Some(([0, 2], rest)) = block.split_first_chunk::<2>().map(|(h, r)| (*h, r)) else {
        return Err(PremasterError::BadHeader);
    };
    let Some(separator) = rest.iter().position(|&b| b == 0) else {
        return Err(PremasterError::NoSeparator);
    };
    if separator < MIN_PADDING {
        return Err(PremasterError::ShortPadding);
    }
    let message = rest.get(separator + 1..).unwrap_or_default();
    let Ok(message) = <&[u8; SECRET_LEN]>::try_from(message) else {
        return Err(PremasterError::WrongPremasterLength);
    };
    if message[..2] != client_version.0.to_be_bytes() {
        return Err(PremasterError::WrongVersion);
    }
    Ok(Zeroizing::new(*message))
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: ProtocolVersion = ProtocolVersion::TLSV1_2;

    fn block(padding: usize, message: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 2];
        b.extend(std::iter::repeat_n(0x5a, padding));
        b.push(0);
        b.extend_from_slice(message);
        b
    }

    fn premaster() -> [u8; 48] {
        let mut p = [7u8; 48];
        p[..2].copy_from_slice(&[3, 3]);
        p
    }

    #[test]
    fn well_formed_blocks_give_the_premaster() {
        for padding in [8, 9, 205] {
            let got = premaster_from_block(&block(padding, &premaster()), V).unwrap();
            assert_eq!(*got, premaster());
        }
    }

    #[test]
    fn each_defect_has_its_reason() {
        let good = block(205, &premaster());
        let mut b = good.clone();
        b[1] = 1;
        assert_eq!(premaster_from_block(&b, V), Err(PremasterError::BadHeader));
        let mut b = good.clone();
        b[0] = 1;
        assert_eq!(premaster_from_block(&b, V), Err(PremasterError::BadHeader));
        assert_eq!(
            premaster_from_block(&[0], V),
            Err(PremasterError::BadHeader)
        );
        assert_eq!(
            premaster_from_block(&block(7, &premaster()), V),
            Err(PremasterError::ShortPadding)
        );
        let mut b = good.clone();
        b[2 + 205] = 0x11;
        for byte in b[2 + 205..].iter_mut() {
            if *byte == 0 {
                *byte = 1;
            }
        }
        assert_eq!(
            premaster_from_block(&b, V),
            Err(PremasterError::NoSeparator)
        );
        assert_eq!(
            premaster_from_block(&block(10, &[3; 47]), V),
            Err(PremasterError::WrongPremasterLength)
        );
        assert_eq!(
            premaster_from_block(&block(10, &[3; 49]), V),
            Err(PremasterError::WrongPremasterLength)
        );
        let mut p = premaster();
        p[1] = 1;
        assert_eq!(
            premaster_from_block(&block(205, &p), V),
            Err(PremasterError::WrongVersion)
        );
    }
}
