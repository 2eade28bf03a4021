import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../src/cli.ts", import.meta.url));
const cwd = fileURLToPath(new URL("..", import.meta.url));

describe("kamihi-emulator", () => {
  it("serves the Bot API for any client and stops on SIGTERM", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", cli, "--token", "42:abc"], { cwd });
    let out = "";
    child.stdout.setEncoding("utf8");
    const root = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (chunk: string) => {
        out += chunk;
        const match = /listening at (http:\/\/\S+)/.exec(out);
        if (match?.[1]) resolve(match[1]);
      });
      child.once("exit", () => reject(new Error(`exited early: ${out}`)));
    });
    const me = (await (await fetch(`${root}/bot42:abc/getMe`)).json()) as {
      ok: boolean;
      result: { id: number };
    };
    assert.equal(me.ok, true);
    assert.equal(me.result.id, 42);
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    assert.equal(code, 0);
  });

  it("rejects bad flags with a one-line cause and usage", () => {
    const result = spawnSync(process.execPath, ["--import", "tsx", cli, "--port", "http"], {
      cwd,
      encoding: "utf8",
    });
    assert.equal(result.status, 2);
    assert.match(
      result.stderr,
      /^kamihi-emulator: --port must be an integer from 0 to 65535, got "http"\nUsage:/,
    );
    const unknown = spawnSync(process.execPath, ["--import", "tsx", cli, "--colour"], {
      cwd,
      encoding: "utf8",
    });
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /Unknown option '--colour'/);
  });
});
