# syntax=docker/dockerfile:1
#
# Roster's container image: built from this source tree, run as an unprivileged user, data in
# the /data volume (the SQLite file, the local mailbox, secret.key). See docs/deploy.md,
# "Deployment files".
#
#   docker build -t roster .
#   docker run -d --name roster -p 127.0.0.1:8080:8080 -v roster-data:/data --stop-timeout 90 \
#       -e ROSTER_BASE_URL=https://roster.example.com roster
#   docker exec roster roster mail list          # the CLI, with the same settings
#
# Every setting is a ROSTER_* variable (README, "Configuration"). Set ROSTER_BASE_URL: with
# ROSTER_LISTEN=0.0.0.0:8080 the default would be http://0.0.0.0:8080, which no link can use.

# --- build ----------------------------------------------------------------------------------
# The build needs a C compiler (SQLite is compiled in) and the OpenSSL headers (webauthn-rs
# links the system libssl). The Rust image has both; they are named so nothing depends on that.
FROM rust:bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The cache mounts keep downloaded crates and compiled dependencies between builds (BuildKit,
# the default builder since Docker 23); the binary is copied out of the cached target folder.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p roster \
    && install -m 0755 target/release/roster /usr/local/bin/roster

# --- runtime --------------------------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates: SMTP over TLS, webhook and back-channel logout deliveries, PostgreSQL with
# sslmode=require. libssl3: the binary links libssl.so.3/libcrypto.so.3 (through webauthn-rs);
# ca-certificates pulls it in anyway, it is named so that nothing depends on that.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 roster \
    && useradd --system --uid 10001 --gid roster --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin roster \
    && install -d -o roster -g roster -m 0700 /data
COPY --from=build /usr/local/bin/roster /usr/local/bin/roster

# The SQLite database, the local mailbox and secret.key live here (all of it is state: keep the
# volume). With PostgreSQL (ROSTER_DATABASE_URL) and SMTP only secret.key would be written, and
# several nodes set ROSTER_SECRET_KEY instead.
ENV ROSTER_DATA_DIR=/data \
    ROSTER_LISTEN=0.0.0.0:8080
VOLUME ["/data"]
# roster.toml, if you mount one here, is read from the working folder (or set ROSTER_CONFIG).
WORKDIR /data
# numeric, so that runtimes enforcing "run as non-root" can check it
USER 10001:10001
EXPOSE 8080

# No curl in the image: bash (in every Debian image) sends the request itself over /dev/tcp,
# to the port in ROSTER_LISTEN, and wants a 200 from /healthz (liveness). Orchestrators that
# decide where to send traffic ask /readyz (database, migrations, mail worker) themselves.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${ROSTER_LISTEN##*:} && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

# `roster serve` stops on SIGTERM: it stops accepting, finishes the requests in flight, then
# waits up to 30 s for the mail worker. Docker's default grace period is 10 s: give it more
# (docker run/stop --stop-timeout 90 / -t 90, Compose stop_grace_period: 90s, Kubernetes
# terminationGracePeriodSeconds: 90).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/roster"]
CMD ["serve"]
