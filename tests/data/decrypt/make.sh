#!/bin/sh
# Rewrites engines.pcap: the capture tests/decrypt_cli.rs makes from two
# sessions between the rsatls engines (fixed seeds) and one plaintext
# connection. Run from anywhere in the repository.
#
#   session 1  10.0.0.1:51000 → 10.0.0.2:4433  key ../rsa2048.key.pem,
#              TLS_RSA_WITH_AES_128_GCM_SHA256, EMS: an HTTP request, its
#              response, then 40000 bytes of binary from the server
#   session 2  10.0.0.1:51001 → 10.0.0.2:4434  key ../other2048.key.pem,
#              TLS_RSA_WITH_AES_256_GCM_SHA384, EMS: one line each way
#   session 3  10.0.0.1:51002 → 10.0.0.2:80    plaintext HTTP (not TLS)
#
#   rsatls decrypt tests/data/decrypt/engines.pcap \
#       --key tests/data/rsa2048.key.pem --key tests/data/other2048.key.pem
set -eu
cd "$(dirname "$0")/../../.."
RSATLS_WRITE_CAPTURE=1 cargo test --release --test decrypt_cli \
    the_committed_capture_is_the_one_made_here
