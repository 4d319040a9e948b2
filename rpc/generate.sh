#!/usr/bin/env bash
# Regenerates the Go code of Vigie's protobuf API (rpc/gen) from rpc/proto.
# The generated code is committed: users and CI never need to run this.
#
# Needs protoc (Debian: apt-get install -y protobuf-compiler; tested with
# libprotoc 3.21.12) and the two Go plugins at the pinned versions below,
# which this script installs with `go install` when missing or different.
# The Buf Schema Registry is not used.
set -euo pipefail

PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_CONNECT_GO_VERSION=v1.21.1

cd "$(dirname "$0")/.."   # module root

if ! command -v protoc >/dev/null; then
	echo "generate.sh: protoc not found (Debian: apt-get install -y protobuf-compiler)" >&2
	exit 1
fi

gobin="$(go env GOPATH)/bin"
plugin_version() { go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'; }
if [[ "$(plugin_version "$gobin/protoc-gen-go")" != "$PROTOC_GEN_GO_VERSION" ]]; then
	go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
fi
if [[ "$(plugin_version "$gobin/protoc-gen-connect-go")" != "$PROTOC_GEN_CONNECT_GO_VERSION" ]]; then
	go install "connectrpc.com/connect/cmd/protoc-gen-connect-go@$PROTOC_GEN_CONNECT_GO_VERSION"
fi

rm -rf rpc/gen
mkdir -p rpc/gen
protoc \
	--plugin=protoc-gen-go="$gobin/protoc-gen-go" \
	--plugin=protoc-gen-connect-go="$gobin/protoc-gen-connect-go" \
	-I rpc/proto \
	--go_out=. --go_opt=module=vigie \
	--connect-go_out=. --connect-go_opt=module=vigie \
	rpc/proto/vigie/v1/*.proto
gofmt -l rpc/gen | (! grep .) || { echo "generate.sh: generated code is not gofmt-clean" >&2; exit 1; }
echo "generate.sh: generated $(find rpc/gen -name '*.go' | wc -l) files under rpc/gen"
