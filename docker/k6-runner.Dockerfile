# The load generator image of k6-operator runs (`sch k6-operator render`, src/k6/operator.ts): k6 v2 built
# with xk6 at the versions pinned in scripts/versions.env, the same way scripts/setup.d/30-go-tools.sh builds
# the harness's own k6 (see that file for why there is a stand-in module for go.k6.io/k6).
#
# Not built by the harness or its tests (no Docker engine here). Build it from the repository root:
#   docker build -f docker/k6-runner.Dockerfile -t <registry>/sch-k6-runner:v2.2.0 .
# and give the tag to `sch k6-operator render --image`. K6_EXTENSIONS of versions.env: MODULE@VERSION entries, or
# MODULE=DIR for a directory of this repository under k6ext/ (copied into the build: the harness's sch output).

FROM golang:1.25-bookworm AS build
ENV GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false"
WORKDIR /build
COPY scripts/versions.env ./versions.env
COPY k6ext ./k6ext

# xk6 from a one-line wrapper module: `go install …@VERSION` would also read xk6's version list.
RUN set -eu; . ./versions.env; \
    mkdir xk6-build; \
    printf 'module sch/xk6-build\n\ngo 1.25\n\nrequire go.k6.io/xk6 %s\n' "$XK6_VERSION" > xk6-build/go.mod; \
    (cd xk6-build && go build -mod=mod -o /usr/local/bin/xk6 go.k6.io/xk6/cmd/xk6)

# xk6 builds a main importing go.k6.io/k6/cmd; k6 v2 is go.k6.io/k6/v2. The stand-in forwards to it.
# K6_VERSION in xk6's environment would be read as a flag (env -u): the pinned version is in the shim's go.mod.
RUN set -eu; . ./versions.env; \
    mkdir -p k6-v2-shim/cmd; \
    printf 'module go.k6.io/k6\n\ngo 1.25.0\n\nrequire go.k6.io/k6/v2 %s\n' "$K6_VERSION" > k6-v2-shim/go.mod; \
    printf 'package cmd\n\nimport k6cmd "go.k6.io/k6/v2/cmd"\n\n// Execute runs k6 v2, as the main xk6 generates expects.\nfunc Execute() { k6cmd.Execute() }\n' > k6-v2-shim/cmd/cmd.go; \
    with=""; for ext in ${K6_EXTENSIONS:-}; do with="$with --with $ext"; done; \
    env -u K6_VERSION xk6 build "" --k6-repo /build/k6-v2-shim --output /build/k6 \
      --build-flags=-trimpath "--build-flags=-ldflags=-s -w" $with; \
    got="$(go version -m /build/k6 | awk '$1 == "dep" && $2 == "go.k6.io/k6/v2" { print $3 }')"; \
    [ "$got" = "$K6_VERSION" ] || { echo "built k6 holds go.k6.io/k6/v2 '$got', pinned $K6_VERSION" >&2; exit 1; }

# A shell stays: the operator's initializer runs `sh -c "k6 archive … && k6 inspect …"`.
# /samples: the runners mount the samples volume there; the initializer, without it, writes its console file there.
FROM alpine:3.22
RUN apk add --no-cache ca-certificates \
    && addgroup -g 12345 k6 && adduser -D -u 12345 -G k6 k6 \
    && mkdir /samples && chown 12345:12345 /samples
COPY --from=build /build/k6 /usr/bin/k6
USER 12345
WORKDIR /home/k6
ENTRYPOINT ["k6"]
