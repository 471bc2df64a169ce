# recoscope service image (also runs the stack's setup job and the load generator).
#
#   docker compose build reco          (NODE_VERSION comes from .env)
#   docker build --build-arg NODE_VERSION=20.20.2 -t recoscope:local .
#
# Two stages: the build stage has the dev dependencies (TypeScript) and compiles src/ to
# dist/; the runtime stage installs production dependencies only and copies dist/ and elk/
# (index templates and Kibana saved objects, read by the setup job) and the load scenarios.

ARG NODE_VERSION=20.20.2

# ---- build ----------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# Dependencies first: this layer is reused until package*.json change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# tsconfig also includes test/**, which is not in the build context (.dockerignore): only
# src/ is compiled, to dist/src/.
RUN npm run build

# ---- runtime --------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY elk ./elk
# The load generator's scenarios (the compose `load` profile runs the image's load CLI).
COPY loadtest/scenarios.json ./loadtest/scenarios.json
# The log directory is a named volume shared with Filebeat: a fresh volume takes this
# directory's owner, so the service (uid 1000, "node") can write to it. artifacts/ is where
# trained models may be kept; loadtest/results/ gets the load generator's JSON summaries.
RUN mkdir -p /var/log/recoscope /app/artifacts /app/loadtest/results \
 && chown node:node /var/log/recoscope /app/artifacts /app/loadtest/results
USER node

ENV HOST=0.0.0.0 \
    PORT=8080 \
    LOG_DIR=/var/log/recoscope
EXPOSE 8080

# No curl in the slim image: Node's own fetch probes /health.
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

CMD ["node", "dist/src/main.js"]
