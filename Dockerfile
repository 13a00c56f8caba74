# syntax=docker/dockerfile:1
# FhirGate image: compiled with the dev toolchain, run on a slim Node 22 LTS image as the unprivileged
# `node` user with production dependencies only. Used by docker-compose.yml (README, "Run with MongoDB").

# 1. Compile TypeScript to dist/.
FROM node:22-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# 2. Production dependencies only (no tsc, vitest, tsx in the final image). better-sqlite3 (the
#    embedded store) is a native addon: the toolchain builds it where no prebuilt binary fits.
FROM node:22-bookworm-slim AS deps
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 3. Runtime.
FROM node:22-bookworm-slim
# MALLOC_ARENA_MAX: see README "Storage" (Memory): glibc otherwise grows an arena per libuv thread.
ENV NODE_ENV=production \
    PORT=8080 \
    DATA_DIR=/app/data \
    MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY profiles ./profiles
COPY terminology ./terminology
COPY portal ./portal
# DATA_DIR holds the embedded store (when MONGODB_URI is unset), the embedded authorization
# server's keys and the encryption key ring: the only place the process writes to.
RUN mkdir -p /app/data && chown node:node /app/data
# The trimmed R4 definitions, cached in node_modules/.cache/fhirgate: the unprivileged user cannot
# write there, so the image carries the cache instead of every start deriving it (README "Start-up").
RUN node -e "import('./dist/fhir/definitions.js').then((m) => m.r4Definitions())"
USER node
VOLUME ["/app/data"]
EXPOSE 8080
# Healthy = ready: the store answers (GET /readyz is 503 while MongoDB is unreachable).
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
