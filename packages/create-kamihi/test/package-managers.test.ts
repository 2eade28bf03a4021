import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { detectPackageManager } from "../src/index.js";

describe("detectPackageManager", () => {
  for (const [agent, expected] of [
    ["pnpm/10.12.1 npm/? node/v24.22.3 linux x64", "pnpm"],
    ["yarn/4.9.2 npm/? node/v24.22.3 darwin arm64", "yarn"],
    ["bun/1.2.18 npm/? node/v22.6.0 linux x64", "bun"],
    ["npm/10.8.2 node/v24.22.3 win32 x64 workspaces/false", "npm"],
    ["cnpm/9.4.0 npminstall/7.12.0 node/v24.22.3", "npm"],
    ["", "npm"],
  ] as const) {
    it(`reads ${JSON.stringify(agent)} as ${expected}`, () => {
      assert.equal(detectPackageManager(agent), expected);
    });
  }

  it("falls back to npm without a user agent", () => {
    const saved = process.env.npm_config_user_agent;
    delete process.env.npm_config_user_agent;
    try {
      assert.equal(detectPackageManager(), "npm");
    } finally {
      if (saved !== undefined) process.env.npm_config_user_agent = saved;
    }
  });
});
