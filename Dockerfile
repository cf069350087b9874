# syntax=docker/dockerfile:1

# --- build: compile TypeScript and bundle the web console and GraphiQL (needs the dev dependencies) -------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build

# --- runtime: production dependencies and the compiled output only --------------------------------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
# dist/src (service), dist/migrations, dist/console and dist/graphiql (the bundled pages, served from /console and /graphiql).
COPY --from=build /app/dist ./dist
# Writable data directory for the embedded database when DATABASE_URL is not set.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 3000
# Not `npm start`: its prestart step rebuilds, which needs the dev dependencies this image leaves out.
CMD ["node", "dist/src/main.js"]
