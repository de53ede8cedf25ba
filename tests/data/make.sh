#!/bin/sh
# Regenerates the test keys and certificates in this directory.
#
# Usage:   sh tests/data/make.sh        (from anywhere; writes next to this script)
# Needs:   the `openssl` command-line tool, version 3 or later (for -addext and
#          genpkey -quiet). Nothing else: base64 is done by `openssl base64`.
#
# The tests do NOT run this script: they read the committed outputs with
# include_bytes!. The steps are fixed, but key generation is random, so every run
# produces new keys and certificates; after regenerating, commit all outputs
# together (pins.txt must match the certificates).
#
# Outputs, for each NAME in rsa2048 rsa3072 rsa4096 other2048 rsa1024 ec256:
#   NAME.key.pem     private key, PKCS#8 PEM ("PRIVATE KEY")
#   NAME.key.der     the same key, PKCS#8 DER
#   NAME.pkcs1.pem   the same key, PKCS#1 PEM ("RSA PRIVATE KEY"; RSA keys only)
#   NAME.cert.pem    self-signed certificate, PEM
#   NAME.cert.der    the same certificate, DER
# and
#   rsa2048.key.enc.pem  the rsa2048 key as encrypted PKCS#8 ("ENCRYPTED PRIVATE
#   rsa2048.key.enc.der  KEY", PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC, password
#                        "rsatls-test"), PEM and DER, for the encrypted-key tests
#   rsa2048.key.scrypt.pem  the same with scrypt (N=2^14, r=8, p=1) as the KDF
#   pins.txt         one line per certificate: "NAME sha256//BASE64", the SHA-256
#                    of the certificate's DER SubjectPublicKeyInfo, base64 with
#                    padding, i.e. exactly the value curl's --pinnedpubkey takes.
#   NAME.pin         the same pin alone ("sha256//BASE64"), one file per certificate
#
# Every certificate: subject and issuer CN=localhost; SAN DNS:localhost,
# IP:127.0.0.1, IP:::1; basicConstraints critical CA:FALSE; keyUsage critical
# digitalSignature,keyEncipherment (digitalSignature only for the EC key, which
# cannot encipher); validity 36525 days (100 years) so the tests never expire;
# signature sha256WithRSAEncryption (ecdsa-with-SHA256 for ec256).
#
# `other2048` is a second, unrelated 2048-bit key (wrong-key tests), `rsa1024`
# is deliberately too small (key-size tests), `ec256` is P-256 (not-RSA tests).

set -eu

cd "$(dirname "$0")"

DAYS=36525
SUBJ=/CN=localhost
SAN=subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
BC=basicConstraints=critical,CA:FALSE

# make_cert NAME KEY_USAGE: self-signs NAME.key.pem into NAME.cert.{pem,der}.
make_cert() {
    openssl req -new -x509 -sha256 -days "$DAYS" -subj "$SUBJ" \
        -key "$1.key.pem" -out "$1.cert.pem" \
        -addext "$SAN" -addext "$BC" -addext "keyUsage=critical,$2"
    openssl x509 -in "$1.cert.pem" -outform der -out "$1.cert.der"
}

# make_rsa NAME BITS
make_rsa() {
    openssl genpkey -quiet -algorithm RSA -pkeyopt "rsa_keygen_bits:$2" \
        -pkeyopt rsa_keygen_pubexp:65537 -out "$1.key.pem"
    openssl pkcs8 -topk8 -nocrypt -in "$1.key.pem" -outform der -out "$1.key.der"
    openssl pkey -in "$1.key.pem" -traditional -out "$1.pkcs1.pem"
    make_cert "$1" digitalSignature,keyEncipherment
}

make_rsa rsa2048 2048
make_rsa rsa3072 3072
make_rsa rsa4096 4096
make_rsa other2048 2048
make_rsa rsa1024 1024

openssl pkcs8 -topk8 -in rsa2048.key.pem -v2 aes-256-cbc \
    -passout pass:rsatls-test -out rsa2048.key.enc.pem
openssl pkcs8 -topk8 -in rsa2048.key.pem -v2 aes-256-cbc \
    -passout pass:rsatls-test -outform der -out rsa2048.key.enc.der
openssl pkcs8 -topk8 -in rsa2048.key.pem -scrypt \
    -passout pass:rsatls-test -out rsa2048.key.scrypt.pem

openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -pkeyopt ec_param_enc:named_curve -out ec256.key.pem
openssl pkcs8 -topk8 -nocrypt -in ec256.key.pem -outform der -out ec256.key.der
make_cert ec256 digitalSignature

: > pins.txt
for name in rsa2048 rsa3072 rsa4096 other2048 rsa1024 ec256; do
    pin=$(openssl x509 -in "$name.cert.pem" -pubkey -noout \
        | openssl pkey -pubin -outform der \
        | openssl dgst -sha256 -binary \
        | openssl base64 -A)
    printf '%s sha256//%s\n' "$name" "$pin" >> pins.txt
    printf 'sha256//%s\n' "$pin" > "$name.pin"
done

# Sanity checks: each certificate verifies against itself and matches its key.
for name in rsa2048 rsa3072 rsa4096 other2048 rsa1024 ec256; do
    openssl verify -CAfile "$name.cert.pem" "$name.cert.pem" > /dev/null
    a=$(openssl x509 -in "$name.cert.pem" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256)
    b=$(openssl pkey -in "$name.key.pem" -pubout -outform der | openssl dgst -sha256)
    [ "$a" = "$b" ] || { echo "$name: certificate does not match key" >&2; exit 1; }
    # `openssl pkey -outform der` would write the traditional format (PKCS#1,
    # SEC1), hence `pkcs8 -topk8` above; check that key.der is the PEM's body.
    openssl base64 -d -in "$name.key.pem" | cmp -s - "$name.key.der" \
        || { echo "$name: key.der is not the PKCS#8 of key.pem" >&2; exit 1; }
done

echo "regenerated test data in $(pwd)"
