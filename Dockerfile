# syntax=docker/dockerfile:1
#
# Ember's image, laid out like prom/prometheus so that a compose file or Kubernetes
# manifest switches to Ember by changing only the image name:
#
#   /bin/ember                        the server (/bin/prometheus links to it)
#   /etc/prometheus/prometheus.yml    the default configuration (Ember scrapes itself)
#   /prometheus                       working directory and data volume, owned by nobody
#   EXPOSE 9090, USER nobody, and the same default arguments as Prometheus's image.
#
# The runtime is distroless (glibc, no package manager) plus a static busybox, so that
# health checks written for Prometheus's busybox image (`wget`, `sh`) keep working.
#
# Build:  docker build --build-arg EMBER_REVISION=$(git rev-parse HEAD) -t ember .

ARG RUST_VERSION=1

FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
ARG EMBER_REVISION=unknown
ARG EMBER_BRANCH=unknown
ARG EMBER_BUILD_USER=docker
ENV EMBER_REVISION=${EMBER_REVISION} \
    EMBER_BRANCH=${EMBER_BRANCH} \
    EMBER_BUILD_USER=${EMBER_BUILD_USER}
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin ember \
    && install -D -m 0755 target/release/ember /out/ember

FROM busybox:1.36-musl AS busybox

FROM gcr.io/distroless/cc-debian12
LABEL org.opencontainers.image.title="Ember" \
      org.opencontainers.image.description="A Prometheus-compatible time-series database" \
      org.opencontainers.image.licenses="Apache-2.0"

COPY --from=busybox /bin/busybox              /bin/busybox
COPY --from=build   /out/ember                /bin/ember
COPY                src/default-config.yml    /etc/prometheus/prometheus.yml

# busybox provides sh, wget and friends (the image has no shell before this); then the
# prometheus name, the data directory, and ownership as in Prometheus's image (nobody is
# uid and gid 65534).
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ln -s ember /bin/prometheus \
    && mkdir -p /prometheus \
    && chown -R 65534:65534 /etc/prometheus /prometheus \
    && chmod g+w /prometheus

WORKDIR /prometheus
USER       65534:65534
EXPOSE     9090
VOLUME     [ "/prometheus" ]
ENTRYPOINT [ "/bin/ember" ]
CMD        [ "--config.file=/etc/prometheus/prometheus.yml", \
             "--storage.tsdb.path=/prometheus" ]
