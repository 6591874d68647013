#!/usr/bin/env bash
# deploy/test-certs.sh DIR (`make test-certs`): makes certificates for trying
# TLS and mutual TLS locally, with openssl, valid 30 days, ECDSA P-256:
#   DIR/ca.crt, ca.key          a throw-away CA
#   DIR/server.crt, server.key  the server's, for localhost and 127.0.0.1
#   DIR/client.crt, client.key  a client's, for mutual TLS
# For tests and local trials only: the keys are not encrypted.
# docs/deployment.md shows how to use them; e2e/certs_test.go runs this script.
set -euo pipefail
dir=${1:?usage: test-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key ca.key
openssl req -x509 -new -key ca.key -days 30 -subj '/CN=cloudcockpit-facade test CA' \
	-addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' -out ca.crt
key server.key
openssl req -new -key server.key -subj '/CN=localhost' -out server.csr
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -out server.crt \
	-extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n') 2>/dev/null
key client.key
openssl req -new -key client.key -subj '/CN=test-client' -out client.csr
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -out client.crt \
	-extfile <(printf 'extendedKeyUsage=clientAuth\n') 2>/dev/null
rm -f server.csr client.csr ca.srl
echo "test certificates in $dir: ca.crt, server.crt/server.key, client.crt/client.key"
