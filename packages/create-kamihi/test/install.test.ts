import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, writeFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { describe, it } from "node:test";
import { isKamihiError, runCreate, type ScaffoldOptions, scaffold } from "../src/index.js";
import {
  captureIO,
  isolatedGitEnv,
  listFiles,
  read,
  recordingProgress,
  tempDir,
  withEnv,
} from "./helpers.js";

const base = {
  storage: "embedded",
  install: true,
  git: false,
} as const satisfies Omit<ScaffoldOptions, "name" | "packageManager">;

/** A folder holding one fake package manager: a shell script with the given body. */
async function fakeBin(name: string, body: string): Promise<string> {
  const bin = await tempDir("create-kamihi-bin-");
  await writeFile(join(bin, name), `#!/bin/sh\n${body}\n`);
  await chmod(join(bin, name), 0o755);
  return bin;
}

describe("install", { skip: process.platform === "win32" && "uses POSIX shell scripts" }, () => {
  it("runs `<pm> install` in the new project and reports it", async () => {
    const bin = await fakeBin("pnpm", 'echo "$@" > installed-with.txt');
    const progress = recordingProgress();
    const parent = await tempDir();
    const result = await withEnv({ PATH: bin }, () =>
      scaffold({ ...base, name: "ok-bot", packageManager: "pnpm", directory: parent }, progress),
    );
    assert.equal(await read(result.directory, "installed-with.txt"), "install\n");
    assert.deepEqual(progress.messages.slice(-2), [
      "start: Installing dependencies with pnpm",
      "stop: Installed dependencies",
    ]);
  });

  it("says the package manager is missing, how to run the install by hand, and keeps the files", async () => {
    const emptyPath = await tempDir("create-kamihi-path-");
    const parent = await tempDir();
    const progress = recordingProgress();
    await withEnv({ PATH: emptyPath }, () =>
      assert.rejects(
        scaffold(
          { ...base, name: "missing-pm", packageManager: "pnpm", directory: parent },
          progress,
        ),
        (error: Error) => {
          assert.ok(isKamihiError(error, "KAMIHI_CREATE_INSTALL_FAILED"));
          assert.match(
            error.message,
            /^`pnpm install` failed: pnpm is not installed or not on PATH/,
          );
          assert.match(error.message, /corepack enable/);
          assert.match(error.message, /--pm/);
          assert.ok(
            error.message.includes(
              `run \`cd ${join(parent, "missing-pm")} && pnpm install\` by hand`,
            ),
            error.message,
          );
          return true;
        },
      ),
    );
    assert.ok(existsSync(join(parent, "missing-pm", "package.json")), "the files are kept");
    assert.equal(progress.messages.at(-1), "fail: Installing dependencies with pnpm failed");
  });

  it("shows the end of a failed install's output and its exit code", async () => {
    const bin = await fakeBin(
      "npm",
      'echo "npm error code E404" >&2\necho "npm error 404 Not Found - GET kamihi (in $(pwd))" >&2\nexit 3',
    );
    const parent = await tempDir();
    await withEnv({ PATH: bin }, () =>
      assert.rejects(
        scaffold({ ...base, name: "failing", packageManager: "npm", directory: parent }),
        (error: Error) => {
          assert.ok(isKamihiError(error, "KAMIHI_CREATE_INSTALL_FAILED"));
          assert.deepEqual(error.details, {
            directory: join(parent, "failing"),
            command: "npm install",
          });
          assert.match(error.message, /^`npm install` exited with code 3\./);
          assert.ok(error.message.includes(`cd ${join(parent, "failing")} && npm install`));
          // The output proves it ran inside the new project.
          assert.ok(
            error.message.includes(`404 Not Found - GET kamihi (in ${join(parent, "failing")})`),
          );
          return true;
        },
      ),
    );
    assert.ok(existsSync(join(parent, "failing", "kamihi.yaml")));
  });

  it("exits 1 from the command line, printing the command to run by hand", async () => {
    const bin = await fakeBin("yarn", "exit 1");
    const cwd = await tempDir();
    const { io, stderr } = captureIO(cwd);
    const code = await withEnv({ PATH: bin }, () =>
      runCreate(["cli-bot", "--pm", "yarn", "--no-git"], io),
    );
    assert.equal(code, 1);
    assert.match(stderr(), /^error: `yarn install` exited with code 1\./);
    assert.ok(stderr().includes(`cd ${join(cwd, "cli-bot")} && yarn install`));
    assert.ok((await listFiles(join(cwd, "cli-bot"))).includes("package.json"));
  });

  it("installs before the first commit, so the lockfile is committed", async () => {
    const bin = await fakeBin("pnpm", `echo "lockfileVersion: '9.0'" > pnpm-lock.yaml`);
    const home = await tempDir("create-kamihi-home-");
    await writeFile(join(home, ".gitconfig"), "[user]\n\tname = Ada\n\temail = ada@example.com\n");
    const parent = await tempDir();
    const result = await withEnv(
      { ...isolatedGitEnv(home), PATH: `${bin}${delimiter}${process.env.PATH ?? ""}` },
      () =>
        scaffold({ ...base, name: "locked", packageManager: "pnpm", git: true, directory: parent }),
    );
    const committed = execFileSync("git", ["ls-files"], {
      cwd: result.directory,
      encoding: "utf8",
    });
    assert.match(committed, /^pnpm-lock\.yaml$/m);
  });
});
