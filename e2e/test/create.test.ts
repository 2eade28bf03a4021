import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createEmulator, type Emulator, freePort } from "@kamihi/testing";
import { scaffold } from "create-kamihi";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
/** Every package a project installs, packed as it would be published (workspace:^ resolved). */
const PACKED = [
  "core",
  "config",
  "db",
  "tg",
  "templates",
  "users",
  "admin",
  "cli",
  "testing",
  "create-kamihi",
  "kamihi",
];

function run(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env: { ...process.env, ...env }, timeout: 300_000, maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
    );
  });
}

/** `pnpm pack`s a workspace package into `into`; returns the tarball's path. */
async function pack(name: string, into: string): Promise<string> {
  const before = new Set(readdirSync(into));
  const result = await run(
    "pnpm",
    ["pack", "--pack-destination", into],
    join(REPO, "packages", name),
  );
  assert.equal(result.code, 0, `pnpm pack ${name}: ${result.stderr}`);
  const made = readdirSync(into).find((file) => !before.has(file) && file.endsWith(".tgz"));
  assert.ok(made, `pnpm pack ${name} made no tarball`);
  return join(into, made);
}

describe("a project scaffolded by create-kamihi, installed from packed packages", () => {
  const work = mkdtempSync(join(tmpdir(), "kamihi-e2e-"));
  const root = join(work, "my-bot");
  let emu: Emulator;
  const tarballs: Record<string, string> = {};
  let installOutput = "";

  before(async () => {
    const packs = join(work, "packs");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(packs);
    for (const name of PACKED) tarballs[name] = await pack(name, packs);
    const packageName = (name: string) =>
      name === "kamihi" || name === "create-kamihi" ? name : `@kamihi/${name}`;
    await scaffold({
      name: "my-bot",
      directory: work,
      storage: "embedded",
      adminId: 42,
      packageManager: "pnpm",
      install: false,
      git: false,
      kamihiVersion: `file:${tarballs.kamihi}`,
    });
    // No registry holds these versions: every Kamihi package comes from its tarball.
    const overrides = PACKED.map(
      (name) => `  "${packageName(name)}": "file:${tarballs[name]}"`,
    ).join("\n");
    appendFileSync(join(root, "pnpm-workspace.yaml"), `\noverrides:\n${overrides}\n`);
    const install = await run("pnpm", ["install"], root);
    assert.equal(install.code, 0, `pnpm install:\n${install.stdout}\n${install.stderr}`);
    installOutput = `${install.stdout}\n${install.stderr}`;
    emu = await createEmulator();
  });
  after(async () => {
    await emu?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("depends on kamihi alone", () => {
    const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    assert.deepEqual(Object.keys(manifest.dependencies), ["kamihi"]);
  });

  it(`installs on Node.js ${process.versions.node} without an engine warning`, () => {
    assert.doesNotMatch(installOutput, /unsupported engine/i, installOutput);
  });

  it("passes its own generated test", async () => {
    const result = await run("pnpm", ["test"], root);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /^(ℹ|#) pass 1$/m);
  });

  it("runs with `kamihi run`: /start answers", async () => {
    const bin = join(root, "node_modules", ".bin", "kamihi");
    const child: ChildProcess = spawn(bin, ["run"], {
      cwd: root,
      env: {
        ...process.env,
        KAMIHI_TOKEN: emu.token,
        KAMIHI_TG__API_ROOT: emu.apiRoot,
        KAMIHI_WEB__PORT: String(await freePort()),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const running = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`kamihi run did not start:\n${out}`)),
        60_000,
      );
      const collect = (chunk: Buffer) => {
        out += chunk.toString();
        if (/is running/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on("data", collect);
      child.stderr?.on("data", collect);
      child.once("exit", (code) => reject(new Error(`kamihi run exited with ${code}:\n${out}`)));
    });
    try {
      await running;
      const chat = emu.chat({ firstName: "Ada" });
      await chat.command("start");
      const reply = await chat.nextReply({ timeout: 10_000 });
      assert.match((reply as { text?: string }).text ?? "", /Hello Ada!/);
      assert.match(out, /admin: {4}http:\/\/127\.0\.0\.1:\d+ \(admins send \/admin/);
    } finally {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  });
});
