import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type DoctorCheck, type ProjectHost, runCli, watchProject } from "../src/index.js";

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempProject(): string {
  const dir = mkdtempSync(join(tmpdir(), "kamihi-cli-"));
  dirs.push(dir);
  return dir;
}

/** Runs the command line with outputs captured; `host` answers what the commands ask. */
async function cli(root: string, args: string[], host: Partial<ProjectHost> = {}) {
  let stdout = "";
  let stderr = "";
  let reported = 0;
  const code = await runCli(["-C", root, ...args], {
    version: "1.2.3",
    stdout: {
      write: (text) => {
        stdout += text;
      },
    },
    stderr: {
      write: (text) => {
        stderr += text;
      },
    },
    open: () => Promise.reject(new Error("not used")),
    project: {
      host: host as ProjectHost,
      shutdown: () => Promise.resolve("SIGTERM"),
      exitCode: (value) => {
        reported = value;
      },
    },
  });
  return { code: code !== 0 ? code : reported, stdout, stderr };
}

describe("kamihi action new", () => {
  it("writes the action and its template, ready to run", async () => {
    const root = tempProject();
    const result = await cli(root, ["action", "new", "greet", "--description", 'Say "hi"']);
    assert.equal(result.code, 0, result.stderr);
    const source = readFileSync(join(root, "actions/greet/greet.ts"), "utf8");
    assert.match(
      source,
      /export default bot\.action\(\n {2}async function greet\(\{ user, template \}\)/,
    );
    assert.match(source, /\{ description: "Say \\"hi\\"" \}/);
    assert.doesNotMatch(source, /public/);
    assert.match(readFileSync(join(root, "actions/greet/greet.md.eta"), "utf8"), /<%= it\.name %>/);
    const again = await cli(root, ["action", "new", "greet"]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /actions\/greet already exists/);
  });

  it("refuses a command another module already declares", async () => {
    const root = tempProject();
    mkdirSync(join(root, "actions/misc"), { recursive: true });
    writeFileSync(
      join(root, "actions/misc/all.ts"),
      'bot.action(async function other() {}, { commands: ["stats"] });\n',
    );
    const result = await cli(root, ["action", "new", "stats"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /actions\/misc\/all\.ts already mentions the command "stats"/);
  });

  it("refuses names Telegram would not take as commands", async () => {
    const root = tempProject();
    for (const name of ["Greet", "a-b", "x".repeat(33), "9lives"]) {
      const result = await cli(root, ["action", "new", name]);
      assert.equal(result.code, 2, name);
    }
  });
});

describe("kamihi doctor and test", () => {
  it("prints each check with its fix and exits 1 when one fails", async () => {
    const checks: DoctorCheck[] = [
      { name: "Node.js", status: "ok", detail: "20.20.0" },
      { name: "token", status: "fail", detail: "not set", fix: "put KAMIHI_TOKEN in .env" },
      { name: "store", status: "warn", detail: "not checked", fix: "later" },
    ];
    const result = await cli(tempProject(), ["doctor"], {
      async *doctor() {
        yield* checks;
      },
    });
    assert.equal(result.code, 1);
    assert.equal(
      result.stdout,
      "✓ Node.js: 20.20.0\n✗ token: not set\n    fix: put KAMIHI_TOKEN in .env\n! store: not checked\n    fix: later\n1 problem to fix.\n",
    );
  });

  it("finds the tests under test/ and beside actions, or says how to add one", async () => {
    const root = tempProject();
    const none = await cli(root, ["test"], {});
    assert.equal(none.code, 2);
    assert.match(none.stderr, /No tests found/);
    mkdirSync(join(root, "test"), { recursive: true });
    mkdirSync(join(root, "actions/a"), { recursive: true });
    writeFileSync(join(root, "test/b.test.ts"), "");
    writeFileSync(join(root, "actions/a/a.test.ts"), "");
    writeFileSync(join(root, "actions/a/a.ts"), "");
    let given: readonly string[] = [];
    const result = await cli(root, ["test"], {
      async test(_root, files) {
        given = files;
        return 3;
      },
    });
    assert.equal(result.code, 3, "the tests' exit code is the command's");
    assert.deepEqual(given, [join(root, "test/b.test.ts"), join(root, "actions/a/a.test.ts")]);
  });
});

describe("watchProject", () => {
  it("reports code and settings changes, not templates, tests or data", async () => {
    const root = tempProject();
    mkdirSync(join(root, "actions/a"), { recursive: true });
    mkdirSync(join(root, ".kamihi"), { recursive: true });
    const seen: string[] = [];
    let wake: () => void = () => {};
    const watcher = await watchProject(root, (path) => {
      seen.push(path.slice(root.length + 1));
      wake();
    });
    try {
      const next = () =>
        new Promise<void>((resolve) => {
          wake = resolve;
        });
      for (const ignored of ["actions/a/a.md.eta", "actions/a/a.test.ts", ".kamihi/data.json"]) {
        writeFileSync(join(root, ignored), "x");
      }
      let arrived = next();
      writeFileSync(join(root, "actions/a/a.ts"), "export {};");
      await arrived;
      arrived = next();
      writeFileSync(join(root, "kamihi.yaml"), "db: {}\n");
      await arrived;
      assert.deepEqual(seen, ["actions/a/a.ts", "kamihi.yaml"]);
    } finally {
      await watcher.close();
    }
  });
});

describe("kamihi playground and dev --playground", () => {
  /** A host that records what the commands ask of it, in order. */
  function recordingHost() {
    const calls: string[] = [];
    const host: Partial<ProjectHost> = {
      async playground(_root, options) {
        calls.push(`playground :${options.port}`);
        return {
          url: `http://127.0.0.1:${options.port}/`,
          stop: async () => {
            calls.push("playground stop");
          },
        };
      },
      async start(_root, options) {
        calls.push(`start watch=${options.watch} with ${options.playground?.url ?? "Telegram"}`);
        return {
          info: {
            bot: "demo_bot",
            updates: "polling",
            commands: ["start"],
            store: "embedded",
            extra: [`playground: ${options.playground?.url}`],
          },
          stop: async () => {
            calls.push("bot stop");
          },
        };
      },
    };
    return { calls, host };
  }

  it("starts the page, then the bot against it, and stops the bot before the page", async () => {
    const { calls, host } = recordingHost();
    const result = await cli(tempProject(), ["playground"], host);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(calls, [
      "playground :4243",
      "start watch=true with http://127.0.0.1:4243/",
      "bot stop",
      "playground stop",
    ]);
    assert.match(
      result.stdout,
      /Bot @demo_bot is running[\s\S]*playground: http:\/\/127\.0\.0\.1:4243\//,
    );
  });

  it("is dev --playground too, on the port given", async () => {
    const { calls, host } = recordingHost();
    const result = await cli(
      tempProject(),
      ["dev", "--playground", "--playground-port", "5000"],
      host,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(calls[0], "playground :5000");
    const plain = recordingHost();
    await cli(tempProject(), ["dev"], plain.host);
    assert.deepEqual(plain.calls, ["start watch=true with Telegram", "bot stop"]);
  });

  it("refuses a port that is not one, and says why the page could not start", async () => {
    for (const bad of ["abc", "70000", "-1", "1.5"]) {
      const result = await cli(tempProject(), ["playground", "--port", bad], {});
      assert.equal(result.code, 2, bad);
      assert.match(result.stderr, /expected a port number from 0 to 65535/);
    }
    const taken = await cli(tempProject(), ["playground"], {
      playground: () =>
        Promise.reject(
          new Error("The playground cannot listen on 127.0.0.1:4243: the port is taken."),
        ),
    });
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /the port is taken/);
  });
});
