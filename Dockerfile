# mfa-controller as a container: built in one stage, run as the unprivileged `node` user in another.
# Not built on the machine this project is developed on (it has no Docker); see docs/production.md.
#
#   docker build -t mfa-controller .
#   docker run -p 8080:8080 -v mfa-data:/var/lib/mfa-controller --env-file mfa.env mfa-controller

FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 and argon2 fall back to compiling from source when no prebuilt binary fits.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# `npm ci` runs the `prepare` script, which compiles src/ to dist/.
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    MFA_MODE=production \
    MFA_HOST=0.0.0.0 \
    MFA_PORT=8080 \
    MFA_DATA_DIR=/var/lib/mfa-controller
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# /openapi.json is served from the project's copy of the spec.
COPY spec ./spec
RUN mkdir -p /var/lib/mfa-controller && chown node:node /var/lib/mfa-controller
USER node
VOLUME ["/var/lib/mfa-controller"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/mfa-controller.js"]
CMD ["serve"]
