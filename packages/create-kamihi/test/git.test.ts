import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type ScaffoldOptions, scaffold } from "../src/index.js";
import { isolatedGitEnv, recordingProgress, TOKEN, tempDir, withEnv } from "./helpers.js";

const base = {
  storage: "embedded",
  packageManager: "npm",
  install: false,
  git: true,
} as const satisfies Omit<ScaffoldOptions, "name">;

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

describe("git", () => {
  it("makes the project a repository with a first commit that leaves .env out", async () => {
    const home = await tempDir("create-kamihi-home-");
    await writeFile(join(home, ".gitconfig"), "[user]\n\tname = Ada\n\temail = ada@example.com\n");
    const parent = await tempDir();
    const progress = recordingProgress();
    const result = await withEnv(isolatedGitEnv(home), () =>
      scaffold({ ...base, name: "git-bot", directory: parent, token: TOKEN }, progress),
    );
    assert.ok(existsSync(join(result.directory, ".git")));
    assert.equal(
      git(result.directory, "log", "--format=%an %s").trim(),
      "Ada Initial commit from create-kamihi",
    );
    const committed = git(result.directory, "ls-files").trim().split("\n").sort();
    assert.deepEqual(
      committed,
      result.files.filter((file) => file !== ".env"),
      "every file but .env is committed",
    );
    assert.equal(git(result.directory, "status", "--porcelain").trim(), "", "nothing left over");
    assert.ok(progress.messages.includes("step: Initialized a git repository with a first commit"));
  });

  it("still creates the repository, without a commit, when git has no user configured", async () => {
    const home = await tempDir("create-kamihi-home-");
    const parent = await tempDir();
    const progress = recordingProgress();
    const result = await withEnv(isolatedGitEnv(home), async () => {
      const created = await scaffold({ ...base, name: "anon-bot", directory: parent }, progress);
      assert.throws(() => git(created.directory, "rev-parse", "--verify", "HEAD"), "no commit");
      return created;
    });
    assert.ok(existsSync(join(result.directory, ".git")));
    const note = progress.messages.find((message) => message.includes("skipped the first commit"));
    assert.ok(note, `no note about the skipped commit in ${JSON.stringify(progress.messages)}`);
    assert.match(note, /user\.name/);
    assert.match(note, /git config --global user\.email/);
  });

  it("does not nest a repository inside another one", async () => {
    const home = await tempDir("create-kamihi-home-");
    const outer = await tempDir();
    const progress = recordingProgress();
    await withEnv(isolatedGitEnv(home), async () => {
      git(outer, "init", "--quiet");
      await mkdir(join(outer, "bots"));
      const result = await scaffold(
        { ...base, name: "inner", directory: join(outer, "bots") },
        progress,
      );
      assert.ok(!existsSync(join(result.directory, ".git")));
    });
    assert.ok(progress.messages.some((message) => /already inside a git repository/.test(message)));
  });

  it("carries on when git is not installed", async () => {
    const emptyPath = await tempDir("create-kamihi-path-");
    const progress = recordingProgress();
    const result = await withEnv({ PATH: emptyPath }, () =>
      scaffold({ ...base, name: "no-git", directory: emptyPath }, progress),
    );
    assert.ok(!existsSync(join(result.directory, ".git")));
    assert.ok(
      progress.messages.some((message) => /Skipped git: it is not installed/.test(message)),
    );
  });
});
