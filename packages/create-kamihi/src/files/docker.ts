import type { PackageManager } from "../package-managers.js";
import type { ProjectFile, ProjectSpec } from "./project.js";

interface DockerInstall {
  /** Run as root, before switching to the unprivileged user. */
  setup?: string;
  lockfile: string;
  /** Installs production dependencies; uses the lockfile when there is one. */
  install: string;
  note?: string;
}

const installs: Record<PackageManager, DockerInstall> = {
  npm: {
    lockfile: "package-lock.json",
    install:
      "if [ -f package-lock.json ]; then npm ci --omit=dev; else npm install --omit=dev; fi \\\n    && npm cache clean --force",
  },
  pnpm: {
    setup: "corepack enable",
    lockfile: "pnpm-lock.yaml",
    install:
      "if [ -f pnpm-lock.yaml ]; then pnpm install --prod --frozen-lockfile; else pnpm install --prod; fi",
  },
  yarn: {
    setup: "corepack enable",
    lockfile: "yarn.lock",
    install:
      "if [ -f yarn.lock ]; then yarn install --production --frozen-lockfile; else yarn install --production; fi",
    note: "# Yarn 2+ (a packageManager field and .yarnrc.yml): use `yarn workspaces focus --all --production`.",
  },
  bun: {
    setup: "npm install --global bun",
    lockfile: "bun.lock",
    install:
      "if [ -f bun.lock ] || [ -f bun.lockb ]; then bun install --production --frozen-lockfile; else bun install --production; fi",
  },
};

/** `Dockerfile`: production dependencies only, installed with the project's package manager. */
export function dockerfile(spec: ProjectSpec): ProjectFile {
  const pm = installs[spec.packageManager];
  // pnpm reads which build scripts it may run (esbuild's) from pnpm-workspace.yaml.
  const lockfiles =
    spec.packageManager === "bun"
      ? "bun.lock* bun.lockb*"
      : spec.packageManager === "pnpm"
        ? `${pm.lockfile}* pnpm-workspace.yaml`
        : `${pm.lockfile}*`;
  const lines = [
    "# The bot's image: production dependencies only, run as the unprivileged node user.",
    "# With MongoDB beside it: docker compose up -d --build",
    "FROM node:24-slim",
    "ENV NODE_ENV=production COREPACK_ENABLE_DOWNLOAD_PROMPT=0",
    "WORKDIR /app",
    ...(pm.setup === undefined ? [] : [`RUN ${pm.setup}`]),
    "RUN chown node:node /app",
    "USER node",
    "",
    "# Dependencies first, so editing an action does not reinstall them.",
    `COPY --chown=node:node package.json ${lockfiles} ./`,
    ...(pm.note === undefined ? [] : [pm.note]),
    `RUN ${pm.install}`,
    "",
    "# .dockerignore keeps .env, node_modules and local data out of the image: the token comes",
    "# from the environment (env_file in docker-compose.yml).",
    "COPY --chown=node:node . .",
    'CMD ["npx", "kamihi", "run"]',
    "",
  ];
  return { path: "Dockerfile", content: lines.join("\n") };
}

/** `docker-compose.yml`: the bot and a MongoDB server with its data on a volume. */
export function dockerComposeFile(spec: ProjectSpec): ProjectFile {
  const embeddedNote =
    spec.mongodbUrl === undefined
      ? [
          "# This project starts with the embedded store: db.url in kamihi.yaml wins over",
          "# KAMIHI_DB__URL below, so delete the db: section of kamihi.yaml to use this MongoDB.",
        ]
      : [];
  const lines = [
    "# The bot and its database: docker compose up -d --build",
    "# The token comes from .env (KAMIHI_TOKEN=…; copy .env.example to start).",
    ...embeddedNote,
    "services:",
    "  bot:",
    "    build: .",
    "    env_file: .env",
    "    environment:",
    "      KAMIHI_DB__URL: mongodb://mongo:27017",
    "    depends_on:",
    "      - mongo",
    "    restart: unless-stopped",
    "",
    "  mongo:",
    "    image: mongo:7",
    "    volumes:",
    "      - mongo-data:/data/db",
    "    restart: unless-stopped",
    "",
    "volumes:",
    "  mongo-data:",
    "",
  ];
  return { path: "docker-compose.yml", content: lines.join("\n") };
}
