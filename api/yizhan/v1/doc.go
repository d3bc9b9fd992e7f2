// Package yizhanv1 is Yizhan's public API, generated from the .proto files
// beside it by api/gen.sh: the messages, the gRPC clients and servers of
// RegistryService, AuthService, CaseService and ClusterService, and the
// grpc-gateway handlers that serve the same services as REST (the OpenAPI
// document is in api/openapi). Every node serves them on its HTTP port
// (REST, and gRPC over h2c) and on its peer port (gRPC over mutual TLS,
// for requests forwarded by other nodes).
package yizhanv1
