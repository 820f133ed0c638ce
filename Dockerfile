# syntax=docker/dockerfile:1
# Plinth's container image (docs/deploy.md). Two stages: `build` compiles the server and the dashboard with the
# dev tools, then drops them (npm prune); `runtime` gets only the compiled code and the production dependencies,
# runs as an unprivileged user and keeps its data in the /data volume.
#
#   docker build -t plinth .
#   docker run -p 8090:8090 -v plinth_data:/data plinth
ARG NODE_VERSION=20.19.2

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 and @node-rs/argon2 ship prebuilt binaries; the toolchain is the fallback for other platforms.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
LABEL org.opencontainers.image.title="Plinth" \
      org.opencontainers.image.description="An open-source back end in one process, wire-compatible with PocketBase's Web API" \
      org.opencontainers.image.licenses="MIT"
# tini as PID 1: forwards SIGTERM to Plinth and reaps the child processes it starts (pg_dump, psql).
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --system --gid 10001 plinth \
  && useradd --system --uid 10001 --gid plinth --home-dir /app --shell /usr/sbin/nologin plinth \
  && mkdir -p /data /app/plinth_migrations /app/plinth_hooks /app/plinth_public \
  && chown plinth:plinth /data /app/plinth_migrations \
  && chmod 0750 /data
WORKDIR /app
ENV NODE_ENV=production \
    PLINTH_SHUTDOWN_TIMEOUT=8
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/admin ./dist/admin
USER plinth:plinth
VOLUME ["/data"]
EXPOSE 8090
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --retries=4 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8090/api/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--max-semi-space-size=2", "/app/bin/plinth.js"]
CMD ["serve", "--http=0.0.0.0:8090", "--dir=/data", "--migrationsDir=/app/plinth_migrations", "--hooksDir=/app/plinth_hooks", "--publicDir=/app/plinth_public"]
