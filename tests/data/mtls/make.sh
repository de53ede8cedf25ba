#!/bin/sh
# Regenerates the mutual-TLS test PKI in this directory (tests/mtls_interop.rs).
#
# Usage:   sh tests/data/mtls/make.sh   (from anywhere; writes next to this script)
# Needs:   the `openssl` command-line tool, version 3 or later.
#
# The tests do NOT run this script; they use the committed outputs. Key
# generation is random, so a run makes a new PKI: commit all outputs together.
#
# Outputs (keys are 2048-bit RSA, PKCS#8 PEM; certificates PEM,
# sha256WithRSAEncryption; validity 7305 days, 20 years, unless said otherwise):
#   ca.key.pem, ca.cert.pem          "rsatls test CA": self-signed,
#                                    basicConstraints critical CA:TRUE,
#                                    keyUsage critical keyCertSign,cRLSign
#   server.key.pem, server.cert.pem  CN=localhost, issued by the CA; SAN
#                                    DNS:localhost, IP:127.0.0.1; keyUsage
#                                    digitalSignature,keyEncipherment; EKU serverAuth
#   client.key.pem, client.cert.pem  CN=rsatls test client, O=rsatls, issued by
#                                    the CA; keyUsage critical digitalSignature;
#                                    EKU clientAuth
#   client.key.enc.pem               the client key, encrypted PKCS#8 (PBES2,
#                                    AES-256-CBC), passphrase "rsatls-test"
#   expired.cert.pem                 CN=rsatls expired client, the client's key,
#                                    issued by the CA, valid 2000-01-01 to
#                                    2001-01-01 only (otherwise like client)
#   other-ca.key.pem, other-ca.cert.pem  "rsatls other CA", unrelated to the CA
#   other-client.key.pem, other-client.cert.pem  CN=rsatls other client, like
#                                    client but issued by the other CA
#
# Intermediate files (CSRs, the `openssl ca` database) go to a temporary
# directory that is removed at the end.

set -eu

cd "$(dirname "$0")"

DAYS=7305
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

key() {
    openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
        -pkeyopt rsa_keygen_pubexp:65537 -out "$1.key.pem"
}

# ca NAME CN: a self-signed CA certificate for NAME.key.pem.
ca() {
    openssl req -new -x509 -sha256 -days "$DAYS" -subj "/O=rsatls/CN=$2" \
        -key "$1.key.pem" -out "$1.cert.pem" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash"
}

# leaf OUT KEY CA SUBJECT EXTENSIONS: OUT.cert.pem for KEY, issued by CA.
leaf() {
    printf '%s\n' "$5" > "$tmp/$1.ext"
    echo "authorityKeyIdentifier=keyid" >> "$tmp/$1.ext"
    openssl req -new -sha256 -subj "$4" -key "$2" -out "$tmp/$1.csr"
    openssl x509 -req -sha256 -days "$DAYS" -in "$tmp/$1.csr" \
        -CA "$3.cert.pem" -CAkey "$3.key.pem" -set_serial "0x$(openssl rand -hex 8)" \
        -extfile "$tmp/$1.ext" -out "$1.cert.pem" 2>/dev/null
}

CLIENT_EXT="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"

key ca
ca ca "rsatls test CA"
key other-ca
ca other-ca "rsatls other CA"

key server
leaf server server.key.pem ca "/CN=localhost" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"

key client
leaf client client.key.pem ca "/O=rsatls/CN=rsatls test client" "$CLIENT_EXT"
openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:rsatls-test \
    -in client.key.pem -out client.key.enc.pem

key other-client
leaf other-client other-client.key.pem other-ca "/O=rsatls/CN=rsatls other client" "$CLIENT_EXT"

# The expired certificate: `openssl x509` cannot set dates in the past, so a
# throwaway `openssl ca` does.
touch "$tmp/index.txt"
cat > "$tmp/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
database = $tmp/index.txt
new_certs_dir = $tmp
serial = $tmp/serial
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
organizationName = optional
[ext]
$CLIENT_EXT
authorityKeyIdentifier=keyid
CNF
openssl rand -hex 8 > "$tmp/serial"
openssl req -new -sha256 -subj "/O=rsatls/CN=rsatls expired client" \
    -key client.key.pem -out "$tmp/expired.csr"
openssl ca -batch -notext -config "$tmp/ca.cnf" -extensions ext \
    -cert ca.cert.pem -keyfile ca.key.pem \
    -startdate 20000101000000Z -enddate 20010101000000Z \
    -in "$tmp/expired.csr" -out expired.cert.pem 2>/dev/null

for c in server client expired; do
    openssl verify -CAfile ca.cert.pem -purpose any -no_check_time "$c.cert.pem"
done
openssl verify -CAfile other-ca.cert.pem other-client.cert.pem
