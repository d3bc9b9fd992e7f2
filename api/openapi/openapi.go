// Package openapi embeds the OpenAPI document generated from the protobuf
// definitions, so every node can serve it.
package openapi

import _ "embed"

// Spec is the OpenAPI (Swagger 2.0) document of the REST API.
//
//go:embed yizhan.swagger.json
var Spec []byte
