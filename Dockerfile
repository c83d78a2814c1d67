# syntax=docker/dockerfile:1
# Build: go-sqlite3 needs cgo, so the binary is built with gcc in the Go image
# and run on the matching Debian release.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/dostyq .

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin dostyq \
 && mkdir -p /data && chown dostyq:dostyq /data
COPY --from=build /out/dostyq /usr/local/bin/dostyq
USER dostyq
WORKDIR /data
ENV DATABASE_PATH=/data/dostyq.db \
    LISTEN_ADDR=:8080 \
    METRICS_ADDR=:9090
VOLUME ["/data"]
EXPOSE 8080 9090
# /healthz on METRICS_ADDR; `dostyq healthcheck` needs no curl in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["dostyq", "healthcheck"]
ENTRYPOINT ["dostyq"]
CMD ["serve"]
