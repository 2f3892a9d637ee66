# The argus binary: one image for the API and every worker role (the command picks the role).
#   docker build -t argus .
#   docker run argus serve --profile distributed --api-only
#   docker run argus worker healer
#   docker run argus healthcheck --url http://127.0.0.1:8080/ready   (the compose health check; no curl here)
# Built with the distributed profile (`--features distributed`); the embedded profile (`serve`) works too.
FROM rust:1.88-bookworm AS build
# librdkafka (the Kafka bus, cargo feature `distributed`) is built from source: cmake, and curl's headers
# (librdkafka includes curl/curl.h even with curl switched off).
RUN apt-get update && apt-get install -y --no-install-recommends cmake libcurl4-openssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p argus-brain --features distributed --bin argus

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /var/lib/argus argus && mkdir -p /var/lib/argus \
    && chown argus /var/lib/argus
COPY --from=build /src/target/release/argus /usr/local/bin/argus
USER argus
ENV ARGUS_DATA_DIR=/var/lib/argus ARGUS_LISTEN=0.0.0.0:8080
# 8080: the API (`argus serve`); 8081: a worker's probes (`argus worker <role>`: /health, /ready, /metrics).
EXPOSE 8080 8081
ENTRYPOINT ["argus"]
CMD ["serve"]
