#!/bin/sh
# Regenerates the RSA signature known answers in this directory, used by
# src/sig/tests.rs through include_bytes!. The tests do NOT run this script.
#
# Needs: openssl 3, python3 with the `cryptography` package (to read and write
# the keys' numbers).
#
# The signatures are computed independently of rsatls:
#   - PKCS#1 v1.5 by `openssl dgst -SHA -sign` (deterministic);
#   - RSA-PSS by hand in Python from RFC 8017 §9.1.1 (hashlib, MGF1 written out)
#     with a FIXED salt, then RSASP1 as pow(EM, d, n); each is then checked by
#     `openssl dgst -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest
#     -verify` so the script cannot silently produce a wrong vector.
#
# Keys: rsa2048 (tests/data/rsa2048.key.der; emBits = 2047: one bit masked),
# rsa2052 (../rsa2052.pkcs8.der; k = 257, five bits masked) and rsa2049 (made
# here; emBits = 2048, so emLen = k - 1 and EM gets a leading zero byte for
# RSASP1). Regenerating makes a new rsa2049 key: commit every output together.
#
# Outputs:
#   rsa2049.pkcs8.der           the 2049-bit key, PKCS#8 DER
#   msg.bin                     the signed message
#   salt32.bin salt48.bin salt64.bin   the fixed PSS salts (hLen bytes)
#   KEY.pkcs1_shaN.sig          PKCS#1 v1.5 signature of msg.bin
#   KEY.pss_shaN.sig            RSA-PSS signature of msg.bin with saltN/8.bin

set -eu

cd "$(dirname "$0")"

# OpenSSL 3.0's key generation rounds a 2049-bit request down to 2048 bits, so
# the key is assembled from a 1025-bit and a 1024-bit prime from `openssl prime`, retried
# until their product has exactly 2049 bits.
python3 - <<'PY'
import subprocess
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives import serialization

def prime(bits):
    out = subprocess.run(["openssl", "prime", "-generate", "-bits", str(bits)],
                         check=True, capture_output=True, text=True).stdout
    return int(out)

e = 65537
while True:
    p, q = prime(1025), prime(1024)
    n = p * q
    phi = (p - 1) * (q - 1)
    if p != q and n.bit_length() == 2049 and phi % e != 0:
        break
d = pow(e, -1, (p - 1) * (q - 1) // __import__("math").gcd(p - 1, q - 1))
key = rsa.RSAPrivateNumbers(
    p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), rsa.RSAPublicNumbers(e, n)
).private_key()
open("rsa2049.pkcs8.der", "wb").write(key.private_bytes(
    serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption()))
PY
cp ../../rsa2048.key.der rsa2048.tmp.der
cp ../rsa2052.pkcs8.der rsa2052.tmp.der
cp rsa2049.pkcs8.der rsa2049.tmp.der

python3 - <<'PY'
import hashlib
# A stand-in for a handshake transcript: a few hundred bytes, not block-aligned.
open("msg.bin", "wb").write(
    b"rsatls CertificateVerify known answer: ClientHello .. ClientKeyExchange\n" * 5
)
for n in (32, 48, 64):
    open(f"salt{n}.bin", "wb").write(hashlib.sha512(b"rsatls fixed PSS salt").digest()[:n])
PY

for key in rsa2048 rsa2049 rsa2052; do
    for sha in 256 384 512; do
        openssl dgst -sha$sha -sign $key.tmp.der -keyform DER \
            -out $key.pkcs1_sha$sha.sig msg.bin
    done
done

python3 - <<'PY'
import hashlib
from cryptography.hazmat.primitives.serialization import load_der_private_key

def mgf1(seed, length, h):
    out = b""
    counter = 0
    while len(out) < length:
        out += h(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:length]

def emsa_pss(m, em_bits, h, salt):
    h_len = h().digest_size
    em_len = (em_bits + 7) // 8
    assert em_len >= h_len + len(salt) + 2
    m_hash = h(m).digest()
    hh = h(b"\0" * 8 + m_hash + salt).digest()
    db = b"\0" * (em_len - len(salt) - h_len - 2) + b"\x01" + salt
    masked = bytes(a ^ b for a, b in zip(db, mgf1(hh, em_len - h_len - 1, h)))
    masked = bytes([masked[0] & (0xFF >> (8 * em_len - em_bits))]) + masked[1:]
    return masked + hh + b"\xbc"

msg = open("msg.bin", "rb").read()
for key in ("rsa2048", "rsa2049", "rsa2052"):
    priv = load_der_private_key(open(f"{key}.tmp.der", "rb").read(), None)
    nums = priv.private_numbers()
    n, d = nums.public_numbers.n, nums.d
    mod_bits = n.bit_length()
    k = (mod_bits + 7) // 8
    for bits, h in ((256, hashlib.sha256), (384, hashlib.sha384), (512, hashlib.sha512)):
        salt = open(f"salt{bits // 8}.bin", "rb").read()
        em = emsa_pss(msg, mod_bits - 1, h, salt)
        s = pow(int.from_bytes(em, "big"), d, n)
        open(f"{key}.pss_sha{bits}.sig", "wb").write(s.to_bytes(k, "big"))
PY

for key in rsa2048 rsa2049 rsa2052; do
    for sha in 256 384 512; do
        openssl dgst -sha$sha -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
            -prverify $key.tmp.der -keyform DER -signature $key.pss_sha$sha.sig msg.bin >/dev/null
    done
done
rm rsa2048.tmp.der rsa2049.tmp.der rsa2052.tmp.der
echo "all PSS vectors verify under openssl"
