import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Settings } from "@kamihi/core";
import { loadSettings } from "../src/index.js";
import { project, TOKEN } from "./helpers.js";

describe("defaults", () => {
  it("gives every setting its documented default", async () => {
    const { settings, effective } = await loadSettings({ cwd: project(), env: {} });
    assert.equal(settings.token, undefined);
    assert.equal(settings.timezone, "UTC");
    assert.deepEqual(settings.db, { url: "mongodb://localhost:27017", name: "kamihi" });
    assert.equal(settings.tg.apiRoot, "https://api.telegram.org");
    assert.equal(settings.tg.mode, "polling");
    assert.equal(settings.web.host, "127.0.0.1");
    assert.equal(settings.web.port, 4242);
    assert.equal(settings.users.registration, "closed");
    assert.deepEqual(settings.users.defaultRoles, []);
    assert.equal(settings.pages.expirationDays, 7);
    assert.equal(settings.jobs.enabled, false);
    assert.deepEqual(settings.limits, {
      perChatPerSecond: 1,
      perGroupPerMinute: 20,
      globalPerSecond: 30,
    });
    assert.equal(settings.log.file.maxFiles, 5);
    assert.deepEqual(settings.web.trustProxy, []);
    assert.deepEqual(settings.updates, {
      maxInFlight: 100,
      rememberHours: 24,
      leaseSeconds: 30,
      drainSeconds: 8,
    });
    assert.equal(settings.actions.timeoutSeconds, 60);
    assert.ok(effective().every((e) => e.source.kind === "default"));
  });

  it("reads web.trustProxy from the environment as a list, and names a bad entry", async () => {
    const ok = await loadSettings({
      cwd: project(),
      env: { KAMIHI_WEB__TRUST_PROXY: "loopback, 10.0.0.0/8,::1" },
    });
    assert.deepEqual(ok.settings.web.trustProxy, ["loopback", "10.0.0.0/8", "::1"]);
    await assert.rejects(
      loadSettings({ cwd: project(), env: { KAMIHI_WEB__TRUST_PROXY: "10.0.0.0/33" } }),
      /web\.trustProxy\.0: expected a list of proxy addresses/,
    );
  });

  it("types core's Settings from the schema (declaration merging)", async () => {
    const { settings } = await loadSettings({ cwd: project(), env: {} });
    const core: Settings = settings;
    const port: number = core.web.port;
    const mode: "polling" | "webhook" = core.tg.mode;
    assert.equal(port, 4242);
    assert.equal(mode, "polling");
  });

  it("returns frozen settings", async () => {
    const { settings } = await loadSettings({ cwd: project(), env: {} });
    assert.ok(Object.isFrozen(settings));
    assert.ok(Object.isFrozen(settings.web));
    assert.throws(() => {
      (settings.web as { port: number }).port = 1;
    }, TypeError);
  });
});

describe("environment", () => {
  it("maps KAMIHI_ names with __ nesting and SCREAMING_SNAKE to camelCase", async () => {
    const { settings, sourceOf } = await loadSettings({
      cwd: project(),
      env: {
        KAMIHI_TOKEN: TOKEN,
        KAMIHI_DB__URL: "memory://",
        KAMIHI_RESPONSES__DEFAULT_MESSAGE: "Hm?",
        KAMIHI_TG__WEBHOOK__SECRET_TOKEN: "s3cr3t",
        KAMIHI_LIMITS__PER_GROUP_PER_MINUTE: "10",
        PATH: "/usr/bin",
      },
    });
    assert.equal(settings.token, TOKEN);
    assert.equal(settings.db.url, "memory://");
    assert.equal(settings.responses.defaultMessage, "Hm?");
    assert.equal(settings.tg.webhook.secretToken, "s3cr3t");
    assert.equal(settings.limits.perGroupPerMinute, 10);
    assert.deepEqual(sourceOf("db.url"), { kind: "env", variable: "KAMIHI_DB__URL" });
  });

  it("coerces numbers, booleans and lists as the schema expects", async () => {
    const { settings } = await loadSettings({
      cwd: project(),
      env: {
        KAMIHI_WEB__PORT: "8080",
        KAMIHI_WEB__ENABLED: "false",
        KAMIHI_JOBS__ENABLED: "yes",
        KAMIHI_LOG__FILE__ENABLED: "1",
        KAMIHI_USERS__DEFAULT_ROLES: "member, reader,",
        KAMIHI_QUESTIONS__TIMEOUT_SECONDS: " 30 ",
      },
    });
    assert.equal(settings.web.port, 8080);
    assert.equal(settings.web.enabled, false);
    assert.equal(settings.jobs.enabled, true);
    assert.equal(settings.log.file.enabled, true);
    assert.deepEqual(settings.users.defaultRoles, ["member", "reader"]);
    assert.equal(settings.questions.timeoutSeconds, 30);
  });

  it("treats empty variables as unset", async () => {
    const { settings, sourceOf } = await loadSettings({
      cwd: project({ ".env": "KAMIHI_TOKEN=\nKAMIHI_WEB__PORT=\n" }),
      env: { KAMIHI_DB__URL: "" },
    });
    assert.equal(settings.token, undefined);
    assert.equal(settings.web.port, 4242);
    assert.equal(settings.db.url, "mongodb://localhost:27017");
    assert.equal(sourceOf("db.url").kind, "default");
  });

  it("reads a JSON list for list settings", async () => {
    const { settings } = await loadSettings({
      cwd: project(),
      env: { KAMIHI_USERS__DEFAULT_ROLES: '["a,b", "c"]' },
    });
    assert.deepEqual(settings.users.defaultRoles, ["a,b", "c"]);
  });

  it("reads the first admins as Telegram ids, from a comma list or a file", async () => {
    const fromEnv = await loadSettings({
      cwd: project(),
      env: { KAMIHI_USERS__ADMINS: "123456789, 42" },
    });
    assert.deepEqual(fromEnv.settings.users.admins, [123456789, 42]);
    const fromFile = await loadSettings({
      cwd: project({ "kamihi.yaml": "users:\n  admins: [7]\n  cacheSeconds: 0.5\n" }),
    });
    assert.deepEqual(fromFile.settings.users.admins, [7]);
    assert.equal(fromFile.settings.users.cacheSeconds, 0.5);
    await assert.rejects(
      loadSettings({ cwd: project(), env: { KAMIHI_USERS__ADMINS: "12,@ada,0" } }),
      (err: Error) =>
        /- users\.admins\.1: expected a Telegram user id \(a positive integer\), got "@ada" \(from KAMIHI_USERS__ADMINS\)/.test(
          err.message,
        ) && /- users\.admins\.2: expected a Telegram user id/.test(err.message),
    );
  });

  it("warns about unknown KAMIHI_ variables with a suggestion, and ignores tooling ones", async () => {
    const { warnings } = await loadSettings({
      cwd: project(),
      env: {
        KAMIHI_WEB__PROT: "1",
        KAMIHI_WEB: "x",
        KAMIHI_TEST_MONGODB_URL: "mongodb://x",
        KAMIHI_REQUIRE_MONGODB: "1",
      },
    });
    assert.deepEqual(warnings, [
      "KAMIHI_WEB names a group of settings and was ignored; set one of its keys, e.g. KAMIHI_WEB__ENABLED",
      "KAMIHI_WEB__PROT is not a Kamihi setting and was ignored; did you mean KAMIHI_WEB__PORT?",
    ]);
  });
});

describe(".env", () => {
  it("is read from the project root without overriding the real environment", async () => {
    const cwd = project({
      ".env":
        "KAMIHI_WEB__PORT=5000\nKAMIHI_DB__NAME=fromdotenv\n# comment\nKAMIHI_TIMEZONE='Europe/Madrid'\n",
    });
    const { settings, sourceOf } = await loadSettings({ cwd, env: { KAMIHI_WEB__PORT: "6000" } });
    assert.equal(settings.web.port, 6000);
    assert.equal(settings.db.name, "fromdotenv");
    assert.equal(settings.timezone, "Europe/Madrid");
    assert.deepEqual(sourceOf("web.port"), { kind: "env", variable: "KAMIHI_WEB__PORT" });
    assert.deepEqual(sourceOf("db.name"), {
      kind: "env",
      variable: "KAMIHI_DB__NAME",
      dotenvFile: ".env",
    });
  });

  it("is not hidden by an empty real variable", async () => {
    const cwd = project({ ".env": "KAMIHI_WEB__PORT=5000\n" });
    const { settings } = await loadSettings({ cwd, env: { KAMIHI_WEB__PORT: "" } });
    assert.equal(settings.web.port, 5000);
  });

  it("can be turned off", async () => {
    const cwd = project({ ".env": "KAMIHI_WEB__PORT=5000\n" });
    const { settings } = await loadSettings({ cwd, env: {}, dotenv: false });
    assert.equal(settings.web.port, 4242);
  });
});

describe("config files", () => {
  const cases: Array<[string, string]> = [
    ["kamihi.yaml", "web:\n  port: 7001\n"],
    ["kamihi.yml", "web:\n  port: 7001\n"],
    ["kamihi.json", '{ "web": { "port": 7001 } }'],
    [".kamihirc", "web:\n  port: 7001\n"],
    [".kamihirc.json", '{ "web": { "port": 7001 } }'],
    [".kamihirc.yaml", "web:\n  port: 7001\n"],
    [".kamihirc.yml", "web:\n  port: 7001\n"],
    ["kamihi.config.js", "export default { web: { port: 7001 } };\n"],
    ["kamihi.config.mjs", "export default { web: { port: 7001 } };\n"],
    [
      "kamihi.config.ts",
      'import type { SettingsInput } from "@kamihi/config";\nconst port: number = 7000 + 1;\nconst config: SettingsInput = { web: { port } };\nexport default config;\n',
    ],
    ["package.json", '{ "name": "bot", "type": "module", "kamihi": { "web": { "port": 7001 } } }'],
  ];
  for (const [name, content] of cases) {
    it(`finds and reads ${name}`, async () => {
      const files: Record<string, string> = { [name]: content };
      if (name.endsWith(".js")) files["package.json"] = '{ "type": "module" }';
      const { settings, file, sourceOf } = await loadSettings({ cwd: project(files), env: {} });
      assert.equal(settings.web.port, 7001);
      const label = name === "package.json" ? "package.json#kamihi" : name;
      assert.equal(file, label);
      const source = sourceOf("web.port");
      assert.equal(source.kind, "file");
      assert.equal(source.kind === "file" && source.file, label);
    });
  }

  it("records the line of every YAML value", async () => {
    const cwd = project({ "kamihi.yaml": "# my bot\ndb:\n  name: bot\nweb:\n\n  port: 7001\n" });
    const { sourceOf } = await loadSettings({ cwd, env: {} });
    assert.deepEqual(sourceOf("web.port"), { kind: "file", file: "kamihi.yaml", line: 6 });
    assert.deepEqual(sourceOf("db.name"), { kind: "file", file: "kamihi.yaml", line: 3 });
  });

  it("accepts an empty file and empty groups", async () => {
    const cwd = project({ "kamihi.yaml": "web:\ndb:\n" });
    const { settings, file } = await loadSettings({ cwd, env: {} });
    assert.equal(file, "kamihi.yaml");
    assert.equal(settings.web.port, 4242);
    const empty = await loadSettings({ cwd: project({ "kamihi.yaml": "" }), env: {} });
    assert.equal(empty.settings.web.port, 4242);
  });

  it("loads the file KAMIHI_CONFIG_FILE names instead of searching", async () => {
    const cwd = project({
      "kamihi.yaml": "web:\n  port: 1111\n",
      "config/prod.yaml": "web:\n  port: 2222\n",
    });
    const { settings, file } = await loadSettings({
      cwd,
      env: { KAMIHI_CONFIG_FILE: "config/prod.yaml" },
    });
    assert.equal(settings.web.port, 2222);
    assert.equal(file, "config/prod.yaml");
  });

  it("loads a TypeScript file named explicitly, typed with defineConfig", async () => {
    const cwd = project({
      "settings/bot.config.ts":
        'import { defineConfig } from "@kamihi/config";\ninterface Extra { port: number }\nconst extra: Extra = { port: 9090 };\nexport default defineConfig({ web: { port: extra.port }, users: { registration: "open" } });\n',
      "node_modules/@kamihi/config": "",
    });
    // The config imports @kamihi/config: make it resolvable from the temp project.
    const { symlinkSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    rmSync(join(cwd, "node_modules/@kamihi/config"));
    symlinkSync(new URL("..", import.meta.url).pathname, join(cwd, "node_modules/@kamihi/config"));
    const { settings } = await loadSettings({ cwd, env: {}, configFile: "settings/bot.config.ts" });
    assert.equal(settings.web.port, 9090);
    assert.equal(settings.users.registration, "open");
  });
});

describe("overrides", () => {
  it("win over everything and are reported as code", async () => {
    const { settings, sourceOf } = await loadSettings({
      cwd: project(),
      env: {},
      overrides: { db: { url: "memory://" } },
    });
    assert.equal(settings.db.url, "memory://");
    assert.deepEqual(sourceOf("db.url"), { kind: "override" });
    assert.equal(sourceOf("db.name").kind, "default");
  });
});

describe("priority", () => {
  it("overrides → file → environment → defaults, each winning over the layers below", async () => {
    const files = { "kamihi.yaml": "web:\n  port: 3002\n", ".env": "KAMIHI_WEB__PORT=3003\n" };
    const all = await loadSettings({
      cwd: project(files),
      env: { KAMIHI_WEB__PORT: "3001" },
      overrides: { web: { port: 3000 } },
    });
    assert.equal(all.settings.web.port, 3000);
    assert.equal(all.sourceOf("web.port").kind, "override");

    const noOverride = await loadSettings({
      cwd: project(files),
      env: { KAMIHI_WEB__PORT: "3001" },
    });
    assert.equal(noOverride.settings.web.port, 3002);
    assert.equal(noOverride.sourceOf("web.port").kind, "file");

    const envOnly = await loadSettings({
      cwd: project({ ".env": files[".env"] }),
      env: { KAMIHI_WEB__PORT: "3001" },
    });
    assert.equal(envOnly.settings.web.port, 3001);

    const dotenvOnly = await loadSettings({ cwd: project({ ".env": files[".env"] }), env: {} });
    assert.equal(dotenvOnly.settings.web.port, 3003);

    const none = await loadSettings({ cwd: project(), env: {} });
    assert.equal(none.settings.web.port, 4242);
    assert.equal(none.sourceOf("web.port").kind, "default");
  });

  it("merges groups key by key across layers", async () => {
    const { settings, sourceOf } = await loadSettings({
      cwd: project({ "kamihi.yaml": "web:\n  host: 0.0.0.0\n" }),
      env: { KAMIHI_WEB__PORT: "9000" },
      overrides: { web: { enabled: false } },
    });
    assert.deepEqual(
      { host: settings.web.host, port: settings.web.port, enabled: settings.web.enabled },
      { host: "0.0.0.0", port: 9000, enabled: false },
    );
    assert.equal(sourceOf("web.host").kind, "file");
    assert.equal(sourceOf("web.port").kind, "env");
    assert.equal(sourceOf("web.enabled").kind, "override");
  });
});
