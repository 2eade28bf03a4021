import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { isKamihiError } from "@kamihi/core";
import { createMemoryStore, createStore } from "../src/index.js";

const linux = process.platform === "linux";
const root = typeof process.getuid === "function" && process.getuid() === 0;

/** Asserts `connect()` fails with KAMIHI_DB_NOT_WRITABLE naming `file` and one of `reasons`. */
async function refused(file: string, reasons: RegExp, connect: () => Promise<void>) {
  const started = Date.now();
  await assert.rejects(connect(), (err: unknown) => {
    assert.ok(isKamihiError(err, "KAMIHI_DB_NOT_WRITABLE"), String(err));
    assert.ok(err.message.includes(file), `names the file: ${err.message}`);
    assert.match(err.message, reasons);
    assert.match(err.message, /Choose another file in db\.url .*or fix the folder's permissions/);
    assert.equal(err.details.file, file);
    return true;
  });
  assert.ok(Date.now() - started < 2_000, "fails at once");
}

describe("the embedded store checks at connect() that it can keep its file", () => {
  it("fails at once under /proc, where Node's recursive mkdir never returns", {
    skip: !linux && "needs Linux's /proc",
  }, async () => {
    const file = "/proc/nope/data.json";
    const store = createStore({ url: `memory://?file=${file}`, name: "unused" });
    await refused(file, /folder \/proc\/nope cannot be created \(ENOENT/, () => store.connect());
    // Nothing else hangs or fails later: the store just was never opened.
    await store.close();
  });

  it("fails when a parent of the file is a file, which root cannot bypass", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kamihi-access-"));
    writeFileSync(join(dir, "blocker"), "");
    const file = join(dir, "blocker", "data.json");
    await refused(file, /folder .*blocker cannot be created \(ENOTDIR/, () =>
      createMemoryStore({ file }).connect(),
    );
    const deeper = join(dir, "blocker", "nested", "data.json");
    await refused(deeper, /cannot be created \(ENOTDIR/, () =>
      createMemoryStore({ file: deeper }).connect(),
    );
  });

  it("fails when the file's path is a folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kamihi-access-"));
    const file = join(dir, "data.json");
    mkdirSync(file);
    await refused(file, /cannot be opened for writing \(EISDIR/, () =>
      createMemoryStore({ file }).connect(),
    );
  });

  it("fails in a folder where even root cannot create files (sysfs)", {
    skip: (!linux || !existsSync("/sys/kernel")) && "needs Linux's /sys",
  }, async () => {
    const file = "/sys/kamihi-data.json";
    await refused(file, /no file can be created in \/sys \((EACCES|EROFS|EPERM)/, () =>
      createMemoryStore({ file }).connect(),
    );
  });

  it("fails in a read-only folder", {
    skip: process.platform === "win32" && "no mode bits on Windows",
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "kamihi-access-"));
    const folder = join(dir, "locked");
    mkdirSync(folder);
    const file = join(folder, "data.json");
    if (!root) {
      chmodSync(folder, 0o500);
      try {
        await refused(file, /no file can be created in .*locked \(EACCES/, () =>
          createMemoryStore({ file }).connect(),
        );
      } finally {
        chmodSync(folder, 0o700);
      }
      return;
    }
    // Root ignores mode bits: the check runs as the unprivileged `nobody` instead.
    chmodSync(dir, 0o755);
    chmodSync(folder, 0o555);
    const fixture = fileURLToPath(new URL("./fixtures/connect-store.ts", import.meta.url));
    const run = spawnSync(process.execPath, ["--import", "tsx", fixture, file, "--as", "nobody"], {
      encoding: "utf8",
      cwd: fileURLToPath(new URL("..", import.meta.url)),
    });
    assert.equal(run.status, 0, run.stderr);
    const outcome = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}") as {
      ok: boolean;
      code?: string;
      message?: string;
    };
    assert.equal(outcome.ok, false, "nobody may not write there");
    assert.equal(outcome.code, "KAMIHI_DB_NOT_WRITABLE");
    assert.match(outcome.message ?? "", /no file can be created in .*locked \(EACCES/);
  });

  it("creates the missing folders, and leaves only the data file and its lock behind", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kamihi-access-"));
    const file = join(dir, "a", "b", "data.json");
    const store = createMemoryStore({ file });
    await store.connect();
    assert.deepEqual(readdirSync(join(dir, "a", "b")), ["data.json.lock"]);
    await store.collection("notes").insertOne({ n: 1 });
    await store.close();
    assert.deepEqual(readdirSync(join(dir, "a", "b")), ["data.json"]);
  });

  it("needs nothing on disk without a file", async () => {
    const store = createStore({ url: "memory://", name: "unused" });
    const again = createStore({ url: "memory://", name: "unused" });
    await store.connect();
    await again.connect();
    await store.close();
    await again.close();
  });
});
