# The yizhan image: the node binary and the StatefulSet entrypoint
# (yizhan-pod, used by the Helm chart in charts/yizhan), static, on
# distroless, running as the nonroot user (65532).
#
#   docker build --build-arg VERSION=v0.1.0 --build-arg COMMIT=$(git rev-parse HEAD) \
#     -t ghcr.io/yizhan-gov/yizhan:0.1.0 .
#
# (make image does it.) The build context leaves .git out, so Go stamps no
# version control information: VERSION and COMMIT, passed with -ldflags
# -X, are what `yizhan version` and a node's start line say (commit
# unknown without them).

FROM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath

# Modules first, so that a change of source alone reuses this layer.
COPY go.mod go.sum ./
# badger and hashicorp/raft, patched (third_party/*/PATCHES.md), replace the proxy's.
COPY third_party ./third_party
RUN go mod download

COPY . .
ARG VERSION=dev
ARG COMMIT=
RUN go build -ldflags="-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/yizhan ./cmd/yizhan
# yizhan-pod lives in the charts module and needs only the standard library.
RUN cd charts && go build -ldflags="-s -w" -o /out/yizhan-pod ./cmd/yizhan-pod

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/yizhan /out/yizhan-pod /usr/local/bin/
USER 65532:65532
# http (REST, web UI, /metrics, /healthz, /readyz), peer gRPC, raft
EXPOSE 8080 7070 7000
ENTRYPOINT ["/usr/local/bin/yizhan"]
CMD ["node"]
