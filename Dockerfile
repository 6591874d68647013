# syntax=docker/dockerfile:1
# Multi-stage build of cloudcockpit-facade: a static binary on distroless,
# running as a non-root user, with a grpc.health.v1 health check.
# `make docker-check` runs the same build steps without Docker (CI does).

FROM golang:1.26-bookworm AS build
WORKDIR /src
# The Makefile's GO_TAGS (grpcnotrace: no golang.org/x/net/trace in the binary).
ENV GOFLAGS=-tags=grpcnotrace
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=unknown
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=auto -ldflags="-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" -o /out/cloudcockpit-facade ./cmd/server \
 && CGO_ENABLED=0 GOBIN=/out go install -trimpath -ldflags="-s -w" github.com/grpc-ecosystem/grpc-health-probe@v0.4.63

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/cloudcockpit-facade /cloudcockpit-facade
COPY --from=build /out/grpc-health-probe /grpc_health_probe
USER 65532:65532
EXPOSE 9090 8080
ENV GRPC_ADDR=:9090 HTTP_ADDR=:8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/grpc_health_probe", "-addr=127.0.0.1:9090", "-connect-timeout=2s", "-rpc-timeout=2s"]
ENTRYPOINT ["/cloudcockpit-facade"]
