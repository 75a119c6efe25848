# locksmith's container image: a static binary on an empty base image, running
# as an unprivileged user, with one volume for the SQLite database and the
# spool. Build from a git clone (the commit is stamped into the binary and
# `locksmith version` reports it):
#
#   docker build -t locksmith .          (or: podman build / buildah bud --format docker)
#
# RUN --mount (the compiler cache) needs BuildKit (Docker's default builder
# since 23.0), podman or buildah.
#
# Run, and everything else an operator needs: docs/operations.md.

ARG GO_VERSION=1.26.8

FROM docker.io/library/golang:${GO_VERSION}-bookworm AS build
# auto: stamp the commit when the context holds a .git directory. A git
# worktree or a checkout whose .git is not in the context: --build-arg BUILDVCS=false.
ARG BUILDVCS=auto
WORKDIR /src
# Modules first, so that a change to the code does not download them again.
COPY go.mod go.sum ./
RUN go mod download && go mod verify
COPY . .
# CGO off: a static binary (the SQLite driver is pure Go). -trimpath: no
# builder paths inside it. The compiler cache survives between builds.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -buildvcs=${BUILDVCS} -trimpath -ldflags='-s -w' -o /out/locksmith . \
 && /out/locksmith help >/dev/null
# The runtime image has no shell, so its few files are prepared here: a user
# and group for 65532 (the conventional "nonroot" ID), /tmp, and the state
# directory, which alone belongs to that user.
RUN mkdir -p /out/root/etc /out/root/var/lib /out/root/tmp /out/state \
 && chmod 1777 /out/root/tmp && chmod 0700 /out/state \
 && echo 'locksmith:x:65532:65532:locksmith:/var/lib/locksmith:/sbin/nologin' >/out/root/etc/passwd \
 && echo 'locksmith:x:65532:' >/out/root/etc/group

FROM scratch
# CA certificates for Slack, Entra and Partner Center over TLS.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/root/ /
COPY --from=build --chown=65532:65532 /out/state /var/lib/locksmith
COPY --from=build /out/locksmith /usr/local/bin/locksmith
USER 65532:65532
WORKDIR /var/lib/locksmith
# Secrets (SLACK_*, PARTNER_*, LOCKSMITH_SECRET_KEY) come at run time
# (--env-file); never bake them into an image. Mount locksmith.yaml read-only
# at LOCKSMITH_CONFIG.
ENV LOCKSMITH_DATABASE_URL=/var/lib/locksmith/locksmith.db \
    LOCKSMITH_SPOOL_DIR=/var/lib/locksmith/spool \
    LOCKSMITH_CONFIG=/etc/locksmith/locksmith.yaml \
    LOCKSMITH_LISTEN=0.0.0.0:9090
VOLUME ["/var/lib/locksmith"]
# /healthz, /readyz, /metrics. Publish it to the host's loopback or a private
# network only: /metrics is not authenticated.
EXPOSE 9090
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/locksmith", "healthcheck"]
# SIGTERM: work not yet at Partner Center is stopped within 20 s, a reset already
# sent is finished (shown and recorded) within 90 s more (docs/shutdown.md);
# give `docker stop` -t 120.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/locksmith"]
CMD ["run"]
