#!/bin/sh
# Certificates for the unit tests of src/verify.rs, each breaking one rule that
# webpki checks (made with OpenSSL 3; re-running gives new keys and dates, and
# the tests use only what is stated here). Run from this directory.
set -eu
key=../rsa2048.key.pem
days=36500

# A version 1 certificate (no extensions) for the rsa2048 key.
openssl req -new -key "$key" -subj /CN=localhost -out v1.csr
openssl x509 -req -in v1.csr -signkey "$key" -days $days -outform DER -out v1.cert.der
rm v1.csr

# Two CAs, with a 2047-bit and a 2048-bit key, each issuing a leaf for the
# rsa2048 key valid for localhost: the key-size floor applies to issuers too.
for bits in 2047 2048; do
  openssl genrsa -out ca$bits.key.pem $bits
  openssl req -x509 -key ca$bits.key.pem -subj "/CN=rsatls test CA $bits" -days $days \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
    -outform DER -out ca$bits.cert.der
  openssl req -new -key "$key" -subj /CN=localhost -out leaf.csr
  printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=keyEncipherment\n' > leaf.ext
  openssl x509 -req -in leaf.csr -CA ca$bits.cert.der -CAkey ca$bits.key.pem -set_serial 7 \
    -days $days -extfile leaf.ext -outform DER -out leaf-by-ca$bits.cert.der
  rm leaf.csr leaf.ext ca$bits.key.pem
done
