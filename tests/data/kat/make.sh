#!/bin/sh
# Regenerates the RSA known-answer fixtures in this directory (used by
# src/crypto/tests.rs through include_bytes!). The tests do NOT run this script.
#
# Needs: openssl 3 and python3. Key generation is random: after regenerating,
# commit every output together (the ciphertexts belong to this key only).
#
# The key is 2052 bits on purpose: k = 257 bytes, which is neither a multiple of
# the 8-byte limb size nor of the 2048-bit storage a 2048-bit key gets, so the
# tests exercise left-padding and precision handling.
#
# Outputs:
#   rsa2052.pkcs8.der   private key, PKCS#8 DER
#   rsa2052.pkcs1.der   the same key, PKCS#1 DER
#   pt1.bin / ct1.bin   a PKCS#1 v1.5 type-2 block (00 02 PS 00 M) and
#                       ct1 = pt1^e mod n, computed by `openssl pkeyutl -encrypt
#                       -pkeyopt rsa_padding_mode:none`
#   pt2.bin / ct2.bin   a k-byte message with 3 leading zero bytes, likewise

set -eu

cd "$(dirname "$0")"

# OpenSSL 3.0 writes PKCS#1 for RSA from `genpkey`/`pkey -outform DER`, so
# PKCS#8 DER comes from `pkcs8 -topk8` and PKCS#1 DER from `rsa -traditional`.
openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2052 \
    -pkeyopt rsa_keygen_pubexp:65537 -out rsa2052.tmp.pem
openssl pkcs8 -topk8 -nocrypt -in rsa2052.tmp.pem -outform DER -out rsa2052.pkcs8.der
openssl rsa -in rsa2052.tmp.pem -traditional -outform DER -out rsa2052.pkcs1.der

python3 - <<'PY'
import os
k = 257
# 00 02 | 206 nonzero random bytes | 00 | 48-byte "premaster"
ps = bytes(b % 255 + 1 for b in os.urandom(k - 3 - 48))
open("pt1.bin", "wb").write(b"\x00\x02" + ps + b"\x00" + os.urandom(48))
open("pt2.bin", "wb").write(b"\x00\x00\x00" + os.urandom(k - 3))
PY

for i in 1 2; do
    openssl pkeyutl -encrypt -inkey rsa2052.pkcs8.der -keyform DER \
        -pkeyopt rsa_padding_mode:none -in "pt$i.bin" -out "ct$i.bin"
done
rm rsa2052.tmp.pem
