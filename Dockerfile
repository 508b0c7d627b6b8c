FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY workers workers
COPY test/bench test/bench
COPY test/support test/support
COPY templates templates
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/templates templates
COPY package.json ./
# The data volume and the keys mount point belong to the user tocsin runs as: a named volume takes
# its first owner from the image's directory, and without one it would be root's and unwritable.
RUN mkdir -p /var/lib/tocsin /etc/tocsin/keys && chown node:node /var/lib/tocsin /etc/tocsin/keys
ENV TOCSIN_DATA_DIR=/var/lib/tocsin TOCSIN_KEYS_DIR=/etc/tocsin/keys
USER node
EXPOSE 8080
CMD ["node", "dist/src/cli.js", "start"]
