import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatEffectiveSettings, loadSettings } from "../src/index.js";
import { project, TOKEN } from "./helpers.js";

const SECRET = "a-very-long-session-secret-0123456789abcdef";

async function loaded() {
  return loadSettings({
    cwd: project({
      "kamihi.yaml": `web:\n  port: 8080\n  sessionSecret: ${SECRET}\n`,
      ".env": "KAMIHI_TG__WEBHOOK__SECRET_TOKEN=hook-secret\n",
    }),
    env: {
      KAMIHI_TOKEN: TOKEN,
      KAMIHI_DB__URL: "mongodb://ada:hunter2@db.example:27017/?authSource=admin",
    },
    overrides: { db: { name: "prod" } },
  });
}

describe("provenance", () => {
  it("lists every setting with its effective value and where it came from", async () => {
    const { effective } = await loaded();
    const byPath = new Map(effective().map((e) => [e.path, e]));
    assert.equal(byPath.get("web.port")?.value, 8080);
    assert.equal(byPath.get("web.port")?.from, "kamihi.yaml:2");
    assert.equal(byPath.get("db.name")?.from, "overrides in code");
    assert.equal(byPath.get("db.url")?.from, "KAMIHI_DB__URL");
    assert.equal(
      byPath.get("tg.webhook.secretToken")?.from,
      "KAMIHI_TG__WEBHOOK__SECRET_TOKEN in .env",
    );
    assert.equal(byPath.get("web.host")?.from, "default");
    assert.equal(byPath.get("web.publicUrl")?.value, undefined);
    // Every leaf of the schema is listed, in schema order.
    assert.equal(effective()[0]?.path, "token");
    assert.equal(effective().length, 50);
    assert.equal(byPath.get("users.cacheSeconds")?.value, 2);
  });

  it("redacts the token, secrets and URL credentials everywhere it prints", async () => {
    const result = await loaded();
    const outputs = [
      JSON.stringify(result.effective()),
      JSON.stringify(result.redacted()),
      formatEffectiveSettings(result.effective()),
    ];
    for (const out of outputs) {
      for (const secret of [TOKEN, SECRET, "hook-secret", "hunter2"]) {
        assert.ok(!out.includes(secret), `${secret} leaked`);
      }
    }
    const redacted = result.redacted() as {
      token: unknown;
      web: { sessionSecret: unknown };
      db: { url: unknown };
    };
    assert.equal(redacted.token, "[redacted]");
    assert.equal(redacted.web.sessionSecret, "[redacted]");
    assert.equal(redacted.db.url, "mongodb://ada:***@db.example:27017/?authSource=admin");
    // The settings object itself keeps the real values for the bot to use.
    assert.equal(result.settings.token, TOKEN);
  });

  it("prints one aligned line per setting", async () => {
    const text = formatEffectiveSettings((await loaded()).effective());
    const lines = text.split("\n");
    assert.ok(
      lines.some((l) => /^token +?= "\[redacted\]" {2}\(KAMIHI_TOKEN\)$/.test(l)),
      text,
    );
    assert.ok(
      lines.some((l) => /^web\.port +?= 8080 {2}\(kamihi\.yaml:2\)$/.test(l)),
      text,
    );
    assert.ok(
      lines.some((l) => /^web\.publicUrl +?= \(not set\) {2}\(default\)$/.test(l)),
      text,
    );
  });
});
