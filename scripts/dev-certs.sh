#!/usr/bin/env bash
# Makes a private CA, one certificate per name (the master and each node id), and three tokens,
# for a test or development cluster: docs/security.md walks through it. Needs openssl.
#
#   scripts/dev-certs.sh DIR master head middle tail
#
# DIR/ca.crt ca.key           the cluster CA (keep ca.key off the servers)
# DIR/NAME.crt NAME.key       a certificate naming NAME (DNS:NAME) and 127.0.0.1, for TLS servers
#                             and clients alike; a node's certificate must name its node id
# DIR/client.token node.token admin.token   random tokens (32 bytes, hex)
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 DIR NAME..." >&2
  exit 2
fi
dir=$1
shift
mkdir -p "$dir"
cd "$dir"
umask 077
days=${CATENA_CERT_DAYS:-825}
if [ ! -f ca.key ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt \
    -days "$days" -subj "/CN=catena cluster CA" 2>/dev/null
fi
for name in "$@"; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$name.key" -out "$name.csr" \
    -subj "/CN=$name" 2>/dev/null
  printf 'subjectAltName=DNS:%s,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' "$name" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$name.crt" \
    -days "$days" -extfile "$name.ext" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
done
for token in client node admin; do
  [ -f "$token.token" ] || openssl rand -hex 32 > "$token.token"
done
chmod 644 ./*.crt
