import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createEmulator, type Emulator, freePort, messageText } from "@kamihi/testing";
import { Running, runKamihi, TMP } from "./cli-process.js";

/** A small project: a public /start and a settings file; removed after the file's tests. */
function project(extra: Record<string, string> = {}): string {
  mkdirSync(TMP, { recursive: true });
  const root = mkdtempSync(join(TMP, "project-"));
  const files: Record<string, string> = {
    "kamihi.yaml": "db:\n  url: memory://\nlog:\n  level: warn\n",
    "actions/start/start.ts": `import { bot } from "kamihi";

export default bot.action(async function start({ user }) {
  return \`Hi \${user.firstName}!\`;
}, { description: "Say hi", public: true });
`,
    ...extra,
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}
after(() => rmSync(TMP, { recursive: true, force: true }));

const kamihi = runKamihi;

describe("kamihi run and dev", () => {
  let emu: Emulator;
  let env: Record<string, string>;
  before(async () => {
    emu = await createEmulator();
    // The admin stays off unless a test turns it on (on a free port).
    env = {
      KAMIHI_TOKEN: emu.token,
      KAMIHI_TG__API_ROOT: emu.apiRoot,
      KAMIHI_WEB__ENABLED: "false",
    };
  });
  after(() => emu.stop());

  it("run starts the bot and its admin, says what it started, and stops cleanly on SIGTERM", async () => {
    const root = project();
    const port = await freePort();
    const run = new Running(root, ["run"], {
      ...env,
      KAMIHI_WEB__ENABLED: "true",
      KAMIHI_WEB__PORT: String(port),
    });
    await run.until(/is running/);
    assert.match(run.out, /Bot @\w+ is running \(polling\)\./);
    assert.match(run.out, /commands: \/start/);
    assert.match(run.out, /store: {4}embedded \(in memory only/);
    assert.match(
      run.out,
      new RegExp(`admin: {4}http://127\\.0\\.0\\.1:${port} \\(admins send /admin`),
    );
    const login = await fetch(`http://127.0.0.1:${port}/`, { redirect: "manual" });
    assert.equal(login.status, 303, "the admin answers, behind its login");
    const chat = emu.chat({ firstName: "Ada" });
    await chat.command("start");
    await chat.expectReply("Hi Ada!");
    assert.equal(await run.stop(), 0);
    assert.match(run.out, /SIGTERM: stopping/);
    assert.match(run.out, /Stopped\./);
  });

  it("dev picks up a new action from `kamihi action new` without a manual restart", async () => {
    const root = project();
    const dev = new Running(root, ["dev"], env);
    await dev.until(/Watching for changes/);
    const made = await kamihi(root, [
      "action",
      "new",
      "greet",
      "--public",
      "--description",
      "Greet",
    ]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(
      made.stdout,
      /Created actions\/greet\/greet\.ts and actions\/greet\/greet\.md\.eta\./,
    );
    await dev.until(/greet\.ts changed: restarting/);
    await dev.until(/is running/, 2);
    const chat = emu.chat({ firstName: "Bo" });
    await chat.command("greet");
    await chat.expectReply(
      "Hello Bo! This is /greet: edit actions/greet/greet.md.eta to change what I say.",
    );
    // Templates reload live, without a restart (the engine sees the change a moment later).
    writeFileSync(join(root, "actions/greet/greet.md.eta"), "Howdy <%= it.name %>!\n");
    let text = "";
    for (let attempt = 0; attempt < 50 && text !== "Howdy Bo!"; attempt++) {
      await chat.command("greet");
      text = messageText(await chat.nextReply());
    }
    assert.equal(text, "Howdy Bo!");
    assert.equal((dev.out.match(/restarting/g) ?? []).length, 1, "no restart for a template");
    // A broken action is reported; fixing it restarts the bot.
    writeFileSync(join(root, "actions/greet/greet.ts"), "export default oops(;\n");
    await dev.until(/error: Could not load the module actions\/greet\/greet\.ts/);
    writeFileSync(
      join(root, "actions/greet/greet.ts"),
      'import { bot } from "kamihi";\nexport default bot.action(async function greet() { return "Fixed."; }, { public: true });\n',
    );
    await dev.until(/is running/, 3);
    await chat.command("greet");
    await chat.expectReply("Fixed.");
    assert.equal(await dev.stop(), 0);
  });
});

describe("kamihi init", () => {
  it("scaffolds the same project as create-kamihi, without prompts when not on a terminal", async () => {
    mkdirSync(TMP, { recursive: true });
    const parent = mkdtempSync(join(TMP, "init-"));
    const args = ["--yes", "--no-install", "--no-git", "--admin", "7", "--pm", "npm"];
    const made = await kamihi(parent, ["init", "other-bot", ...args]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /Created other-bot in /);
    assert.match(readFileSync(join(parent, "other-bot/kamihi.yaml"), "utf8"), /admins: \[7\]/);
    assert.match(readFileSync(join(parent, "other-bot/package.json"), "utf8"), /"kamihi dev"/);
    const bad = await kamihi(parent, ["init", "Bad Name", "--yes"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Bad Name/);
  });
});

describe("kamihi admin", () => {
  it("runs the web admin alone on the project's store, behind its login", async () => {
    const port = await freePort();
    const admin = new Running(project(), ["admin"], { KAMIHI_WEB__PORT: String(port) });
    await admin.until(/The web admin listens on/);
    assert.match(admin.out, new RegExp(`listens on http://127\\.0\\.0\\.1:${port}\\.`));
    const page = await fetch(`http://127.0.0.1:${port}/users`, { redirect: "manual" });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get("location"), "/login");
    const login = await fetch(`http://127.0.0.1:${port}/login`);
    assert.match(await login.text(), /Send <code>\/admin<\/code> to the bot/);
    assert.equal(await admin.stop(), 0);
  });
});

describe("the admin's port is taken", () => {
  it("the bot still runs, and the error names the port and how to change it", async () => {
    const emu = await createEmulator();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const root = project();
      const run = new Running(root, ["run"], {
        KAMIHI_TOKEN: emu.token,
        KAMIHI_TG__API_ROOT: emu.apiRoot,
        KAMIHI_WEB__ENABLED: "true",
        KAMIHI_WEB__PORT: String(port),
      });
      await run.until(/is running/);
      // The error is a log line (written asynchronously): wait for it.
      await run.until(/could not listen on/);
      assert.match(
        run.out,
        new RegExp(
          `could not listen on 127\\.0\\.0\\.1:${port}: the port is taken\\. Set web\\.port \\(KAMIHI_WEB__PORT\\)`,
        ),
      );
      assert.match(run.out, /admin: {4}not started/);
      const chat = emu.chat({ firstName: "Cy" });
      await chat.command("start");
      await chat.expectReply("Hi Cy!");
      assert.equal(await run.stop(), 0);
    } finally {
      blocker.close();
      await emu.stop();
    }
  });
});

describe("kamihi action new", () => {
  it("refuses invalid and existing names, with the reason", async () => {
    const root = project();
    for (const [name, reason] of [
      ["Greet", /invalid for argument 'name'/],
      ["1abc", /must not start with a digit/],
      ["start", /actions\/start already exists/],
    ] as const) {
      const result = await kamihi(root, ["action", "new", name]);
      assert.notEqual(result.code, 0, name);
      assert.match(result.stderr, reason);
    }
    const ok = await kamihi(root, ["action", "new", "report"]);
    assert.equal(ok.code, 0);
    assert.match(
      ok.stdout,
      /Admins may run \/report; let others with: kamihi permission add report/,
    );
    assert.match(
      readFileSync(join(root, "actions/report/report.ts"), "utf8"),
      /async function report\(/,
    );
  });
});

describe("kamihi config and doctor", () => {
  let emu: Emulator;
  before(async () => {
    emu = await createEmulator();
  });
  after(() => emu.stop());

  it("config prints every setting with its source, the token hidden", async () => {
    const root = project();
    const result = await kamihi(root, ["config"], { KAMIHI_TOKEN: emu.token });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^db\.url +=.*"memory:\/\/" {2}\(.*kamihi\.yaml:2\)$/m);
    assert.match(result.stdout, /^token +=.*\(KAMIHI_TOKEN\)$/m);
    assert.doesNotMatch(result.stdout, new RegExp(emu.token.split(":")[1] ?? "x"));
  });

  it("doctor passes a healthy project against the Bot API", async () => {
    const root = project();
    const result = await kamihi(root, ["doctor"], {
      KAMIHI_TOKEN: emu.token,
      KAMIHI_TG__API_ROOT: emu.apiRoot,
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /✓ Node\.js: /);
    assert.match(result.stdout, /✓ token: set \(from KAMIHI_TOKEN\)/);
    assert.match(result.stdout, /✓ store: embedded/);
    assert.match(result.stdout, /✓ Bot API: .* knows the bot as @/);
    assert.match(result.stdout, /✓ actions: 1: start/);
    assert.match(result.stdout, /Everything looks right\./);
  });

  it("doctor reports a wrong token format and an unreachable store, with fixes", async () => {
    const root = project({ "kamihi.yaml": "db:\n  url: mongodb://127.0.0.1:9/kamihi\n" });
    const badToken = await kamihi(root, ["doctor"], { KAMIHI_TOKEN: "12345:short" });
    assert.equal(badToken.code, 1);
    assert.match(badToken.stdout, /✗ token: wrong format \(from KAMIHI_TOKEN\)/);
    assert.match(badToken.stdout, /fix: copy the token again from @BotFather/);
    assert.doesNotMatch(badToken.stdout, /12345:short/);

    const noStore = await kamihi(root, ["doctor"], {
      KAMIHI_TOKEN: emu.token,
      KAMIHI_TG__API_ROOT: emu.apiRoot,
    });
    assert.equal(noStore.code, 1);
    assert.match(noStore.stdout, /✗ store: /);
    assert.match(
      noStore.stdout,
      /fix: start MongoDB at mongodb:\/\/127\.0\.0\.1:9\/kamihi, fix db\.url, or use the embedded store/,
    );
    assert.match(noStore.stdout, /✓ Bot API/);
    assert.match(noStore.stdout, /1 problem to fix\./);

    const noApi = await kamihi(project(), ["doctor"], {
      KAMIHI_TOKEN: emu.token,
      KAMIHI_TG__API_ROOT: "http://127.0.0.1:9",
    });
    assert.equal(noApi.code, 1);
    assert.match(noApi.stdout, /✗ Bot API: cannot reach http:\/\/127\.0\.0\.1:9/);
    assert.doesNotMatch(noApi.stdout + noApi.stderr, new RegExp(emu.token.split(":")[1] ?? "x"));
  });
});

describe("kamihi playground", () => {
  it("keeps its data in its own embedded store when the project names none", async () => {
    const root = project({ "kamihi.yaml": "log:\n  level: warn\n" });
    const run = new Running(root, ["playground", "--port", String(await freePort())], {
      KAMIHI_WEB__ENABLED: "false",
    });
    try {
      await run.until(/playground: (http:\S+)/);
      assert.match(run.out, /store: {4}embedded \(kept in \.kamihi\/playground\.json\)/);
      const url = /playground: (http:\S+)/.exec(run.out)?.[1] ?? "";
      // The playground streams what happens: the bot's answer is awaited, not polled for.
      const events = new AbortController();
      const stream = await fetch(new URL("/api/events", url), { signal: events.signal });
      const answered = untilEvent(stream, (data) => data.includes('"Hi Ada!"'));
      const sent = await fetch(new URL("/api/send", url), {
        method: "POST",
        headers: { "content-type": "application/json", "x-kamihi-playground": "1" },
        body: JSON.stringify({ user: 10001, chat: 10001, text: "/start" }),
      });
      assert.equal(sent.status, 200);
      await answered;
      events.abort();
      const view = (await (
        await fetch(new URL("/api/chat?user=10001&chat=10001", url))
      ).json()) as { messages: Array<{ text?: string }> };
      const texts = view.messages.map((m) => m.text ?? "");
      assert.deepEqual(texts, ["/start", "Hi Ada!"]);
    } finally {
      assert.equal(await run.stop(), 0, run.out);
    }
    const data = readFileSync(join(root, ".kamihi/playground.json"), "utf8");
    for (const id of ["10001", "10002"]) assert.match(data, new RegExp(id), `user ${id} is kept`);
  });

  it("names a port that is taken, and how to pick another", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const result = await kamihi(project(), ["playground", "--port", String(port)]);
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.match(
        result.stderr,
        new RegExp(`127\\.0\\.0\\.1:${port}: the port is taken.*kamihi playground --port <n>`),
      );
    } finally {
      blocker.close();
    }
  });
});

/** Resolves with the first server-sent event whose data `matches`. */
async function untilEvent(response: Response, matches: (data: string) => boolean): Promise<string> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the event stream ended before the event; got: ${buffer}`);
    buffer += decoder.decode(value, { stream: true });
    for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trim())
        .join("\n");
      if (data !== "" && matches(data)) {
        await reader.cancel().catch(() => {});
        return data;
      }
    }
  }
}
