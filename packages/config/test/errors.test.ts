import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadError, OTHER_TOKEN, project, TOKEN } from "./helpers.js";

const PORT_MESSAGE = "web.port: expected an integer from 1 to 65535";

describe("a bad value from each source names the key, the value and the source", () => {
  it("environment", async () => {
    const err = await loadError({ cwd: project(), env: { KAMIHI_WEB__PORT: "abc" } });
    assert.equal(err.code, "KAMIHI_CONFIG_INVALID");
    assert.match(err.message, /^Kamihi's settings are invalid \(1 problem\)/);
    assert.ok(
      err.message.includes(`${PORT_MESSAGE}, got "abc" (from KAMIHI_WEB__PORT)`),
      err.message,
    );
    assert.deepEqual(err.issues, [
      {
        path: "web.port",
        message: "expected an integer from 1 to 65535",
        received: '"abc"',
        source: "KAMIHI_WEB__PORT",
      },
    ]);
  });

  it(".env", async () => {
    const err = await loadError({ cwd: project({ ".env": "KAMIHI_WEB__PORT=abc\n" }), env: {} });
    assert.ok(
      err.message.includes(`${PORT_MESSAGE}, got "abc" (from KAMIHI_WEB__PORT in .env)`),
      err.message,
    );
  });

  it("config file, with the line", async () => {
    const err = await loadError({
      cwd: project({ "kamihi.yaml": "db:\n  name: bot\nweb:\n  port: abc\n" }),
      env: {},
    });
    assert.ok(err.message.includes(`${PORT_MESSAGE}, got "abc" (from kamihi.yaml:4)`), err.message);
  });

  it("overrides", async () => {
    const err = await loadError({
      cwd: project(),
      env: {},
      overrides: { web: { port: 70000 } },
    });
    assert.ok(
      err.message.includes(`${PORT_MESSAGE}, got 70000 (from overrides in code)`),
      err.message,
    );
  });
});

describe("every problem at once", () => {
  it("lists problems from several sources in one error", async () => {
    const err = await loadError({
      cwd: project({ "kamihi.yaml": "tg:\n  mode: hook\nusers:\n  registration: maybe\n" }),
      env: { KAMIHI_TIMEZONE: "Mars/Olympus", KAMIHI_DB__URL: "postgres://x" },
    });
    assert.equal(err.issues.length, 4);
    const lines = err.message.split("\n").slice(1);
    assert.deepEqual(lines, [
      '  - timezone: expected an IANA time zone such as UTC or Europe/Madrid, got "Mars/Olympus" (from KAMIHI_TIMEZONE)',
      '  - db.url: expected a mongodb://, mongodb+srv:// or memory:// URL, got "postgres://x" (from KAMIHI_DB__URL)',
      '  - tg.mode: expected one of "polling", "webhook", got "hook" (from kamihi.yaml:2)',
      '  - users.registration: expected one of "closed", "open", "approval", got "maybe" (from kamihi.yaml:4)',
    ]);
  });

  it("flags unknown keys with a did-you-mean, wherever they are", async () => {
    const err = await loadError({
      cwd: project({ "kamihi.yaml": "web:\n  prot: 80\nport: 81\nfoo: 1\n" }),
      env: {},
      overrides: { responses: { errorMesage: "x" } } as never,
    });
    assert.deepEqual(err.message.split("\n").slice(1), [
      '  - web.prot: is not a Kamihi setting (from kamihi.yaml:2); did you mean "web.port"?',
      '  - port: is not a Kamihi setting (from kamihi.yaml:3); did you mean "tg.webhook.port" or "web.port"?',
      "  - foo: is not a Kamihi setting (from kamihi.yaml:4)",
      '  - responses.errorMesage: is not a Kamihi setting (from overrides in code); did you mean "responses.errorMessage"?',
    ]);
  });

  it("requires a webhook URL in webhook mode, naming where the mode was set", async () => {
    const err = await loadError({ cwd: project(), env: { KAMIHI_TG__MODE: "webhook" } });
    assert.match(
      err.message,
      /tg\.webhook\.url: is required when tg\.mode is "webhook" \(set by KAMIHI_TG__MODE\)/,
    );
  });
});

describe("file problems", () => {
  it("reports YAML syntax errors with file:line:column", async () => {
    const err = await loadError({
      cwd: project({ "kamihi.yaml": "web:\n  port: 1\n   host: x\n" }),
      env: {},
    });
    assert.equal(err.issues.length, 1);
    assert.match(
      err.message,
      /\n {2}- kamihi\.yaml:2:9: YAML syntax error: Nested mappings are not allowed/,
    );
  });

  it("reports JSON syntax errors with file:line:column, never quoting the file", async () => {
    const err = await loadError({
      cwd: project({ "kamihi.json": `{\n  "token": "${TOKEN}",\n  "web": { "port": 1, }\n}` }),
      env: {},
    });
    assert.match(err.message, /\n {2}- kamihi\.json:3:\d+: JSON syntax error: invalid JSON/);
    assert.ok(!err.message.includes(TOKEN));
  });

  it("never quotes a file that holds something other than settings", async () => {
    const err = await loadError({
      cwd: project({ ".kamihirc": `KAMIHI_TOKEN=${TOKEN}\n` }),
      env: {},
    });
    assert.match(
      err.message,
      /- \.kamihirc: expected the settings as an object \(key: value pairs\), got a text of 58 characters/,
    );
    assert.ok(!err.message.includes(TOKEN));
  });

  it("names the line of an unknown empty group, and reports bad list items", async () => {
    const err = await loadError({
      cwd: project({ "kamihi.yaml": "db:\n  name: x\nwebb: {}\n" }),
      env: { KAMIHI_USERS__DEFAULT_ROLES: '["", "ok"]' },
    });
    assert.match(
      err.message,
      /- webb: is not a Kamihi setting \(from kamihi\.yaml:3\); did you mean "web"\?/,
    );
    assert.match(
      err.message,
      /- users\.defaultRoles\.0: expected a role name, got "" \(from KAMIHI_USERS__DEFAULT_ROLES\)/,
    );
  });

  it("reports a missing KAMIHI_CONFIG_FILE clearly", async () => {
    const err = await loadError({ cwd: project(), env: { KAMIHI_CONFIG_FILE: "nope.yaml" } });
    assert.match(
      err.message,
      /- KAMIHI_CONFIG_FILE: names the config file nope\.yaml, which does not exist \(looked for .*nope\.yaml\); fix the path or unset it/,
    );
  });

  it("rejects a file that is not a set of key: value pairs", async () => {
    const err = await loadError({ cwd: project({ "kamihi.yaml": "- a\n- b\n" }), env: {} });
    assert.match(
      err.message,
      /- kamihi\.yaml: expected the settings as an object \(key: value pairs\), got a list/,
    );
  });

  it("reports a value of the wrong shape for a group", async () => {
    const err = await loadError({ cwd: project({ "kamihi.yaml": "web: 5\n" }), env: {} });
    assert.match(
      err.message,
      /- web: expected a group of settings \(an object\), got 5 \(from kamihi\.yaml:1\)/,
    );
  });
});

describe("secrets in errors", () => {
  it("never shows the token, even when it is the bad value", async () => {
    const bad = `${TOKEN}x`;
    const err = await loadError({ cwd: project(), env: { KAMIHI_TOKEN: bad } });
    assert.ok(!err.message.includes(bad));
    assert.ok(!err.message.includes(TOKEN));
    assert.ok(!JSON.stringify(err).includes(TOKEN));
    assert.ok(!JSON.stringify(err.issues).includes(TOKEN));
    assert.match(
      err.message,
      /token: expected a bot token from @BotFather: digits, a colon, then 35 letters, digits, - or _, got a hidden value of 46 characters \(from KAMIHI_TOKEN\)/,
    );
  });

  it("never shows a valid token while reporting other problems", async () => {
    const err = await loadError({
      cwd: project({ "kamihi.yaml": `token: ${OTHER_TOKEN}\nweb:\n  port: 0\n` }),
      env: {},
    });
    assert.ok(!err.message.includes(OTHER_TOKEN));
    assert.match(
      err.message,
      /web\.port: expected an integer from 1 to 65535, got 0 \(from kamihi\.yaml:3\)/,
    );
  });

  it("hides credentials inside a bad database URL", async () => {
    const err = await loadError({
      cwd: project(),
      env: { KAMIHI_DB__URL: "mysql://ada:hunter2@db/x" },
    });
    assert.ok(!err.message.includes("hunter2"));
    assert.match(err.message, /got "mysql:\/\/ada:\*\*\*@db\/x"/);
  });

  it("hides a too-short session secret", async () => {
    const err = await loadError({
      cwd: project(),
      env: { KAMIHI_WEB__SESSION_SECRET: "short-secret" },
    });
    assert.ok(!err.message.includes("short-secret"));
    assert.match(
      err.message,
      /web\.sessionSecret: expected a random secret of at least 32 characters, got a hidden value of 12 characters/,
    );
  });
});
