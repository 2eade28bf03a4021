import type { ProjectFile } from "./project.js";

/** `.gitignore`: dependencies, secrets, the embedded store's data, builds and logs. */
export function gitignoreFile(): ProjectFile {
  const content = [
    "node_modules/",
    "# Secrets: the bot token and database URL.",
    ".env",
    "# The embedded store's data.",
    ".kamihi/",
    "dist/",
    "logs/",
    "*.log",
    "",
  ].join("\n");
  return { path: ".gitignore", content };
}

/** `.dockerignore`: keeps secrets, local data and installed modules out of the image. */
export function dockerignoreFile(): ProjectFile {
  const content = [
    "node_modules/",
    ".env",
    ".kamihi/",
    ".git/",
    "dist/",
    "logs/",
    "*.log",
    "",
  ].join("\n");
  return { path: ".dockerignore", content };
}
