#!/usr/bin/env bash
# Regenerates the Go code and the OpenAPI document from the .proto files.
# Needs protoc (Debian: protobuf-compiler); the plugins are the versions
# pinned by the tool directives in go.mod, built into a temporary folder.
set -euo pipefail
cd "$(dirname "$0")"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin" google.golang.org/protobuf/cmd/protoc-gen-go \
  google.golang.org/grpc/cmd/protoc-gen-go-grpc \
  github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway \
  github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2
export PATH="$bin:$PATH"
gw=$(go list -m -f '{{.Dir}}' github.com/grpc-ecosystem/grpc-gateway 2>/dev/null || true)
if [ -z "$gw" ]; then
  go mod download github.com/grpc-ecosystem/grpc-gateway@v1.16.0
  gw=$(go env GOMODCACHE)/github.com/grpc-ecosystem/grpc-gateway@v1.16.0
fi
inc="-I . -I $gw/third_party/googleapis"
# The gateway's files would each say the package "is a reverse proxy";
# yizhan/v1/doc.go says what it is.
protoc $inc \
  --go_out=paths=source_relative:. \
  --go-grpc_out=paths=source_relative:. \
  --grpc-gateway_out=paths=source_relative:. --grpc-gateway_opt=omit_package_doc=true \
  --openapiv2_out=. --openapiv2_opt=allow_merge=true,merge_file_name=yizhan,output_format=json,omit_enum_default_value=true \
  yizhan/v1/*.proto
protoc $inc \
  --go_out=paths=source_relative:. \
  --go-grpc_out=paths=source_relative:. \
  yizhan/peer/v1/*.proto
mv yizhan.swagger.json openapi/yizhan.swagger.json
