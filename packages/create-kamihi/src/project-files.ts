import { dockerComposeFile, dockerfile } from "./files/docker.js";
import { dockerignoreFile, gitignoreFile } from "./files/ignore.js";
import { packageJsonFile, pnpmSettingsFile } from "./files/package-json.js";
import type { ProjectFile, ProjectSpec } from "./files/project.js";
import { readmeFile } from "./files/readme.js";
import { dotenvExampleFile, dotenvFile, kamihiYamlFile } from "./files/settings.js";
import {
  signatureFile,
  startActionFiles,
  startTestFile,
  tsconfigFile,
  userModelFile,
} from "./files/source.js";

/** Every file of a new project, sorted by path. `.env` only when there is a secret to keep. */
export function projectFiles(spec: ProjectSpec): ProjectFile[] {
  const files = [
    packageJsonFile(spec),
    pnpmSettingsFile(spec),
    kamihiYamlFile(spec),
    dotenvFile(spec),
    dotenvExampleFile(spec),
    gitignoreFile(),
    dockerignoreFile(),
    ...startActionFiles(),
    signatureFile(),
    userModelFile(),
    tsconfigFile(),
    startTestFile(),
    readmeFile(spec),
    dockerfile(spec),
    dockerComposeFile(spec),
  ].filter((file): file is ProjectFile => file !== undefined);
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
