import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import {
  errorCodes,
  formatValidationMessage,
  isKamihiError,
  KamihiError,
  KamihiValidationError,
} from "../src/index.js";

describe("KamihiError", () => {
  it("carries a stable code, the message, details and the cause", () => {
    const cause = new Error("connect ECONNREFUSED 127.0.0.1:27017");
    const err = new KamihiError("KAMIHI_DB_UNREACHABLE", "MongoDB did not answer. Start it.", {
      cause,
      details: { url: "mongodb://localhost:27017" },
    });
    assert.ok(err instanceof Error);
    assert.equal(err.name, "KamihiError");
    assert.equal(err.code, "KAMIHI_DB_UNREACHABLE");
    assert.equal(err.message, "MongoDB did not answer. Start it.");
    assert.equal(err.cause, cause);
    assert.deepEqual(err.details, { url: "mongodb://localhost:27017" });
    assert.equal(err.docs, "docs/errors.md#kamihi_db_unreachable");
    assert.deepEqual(JSON.parse(JSON.stringify(err)), {
      name: "KamihiError",
      code: "KAMIHI_DB_UNREACHABLE",
      message: "MongoDB did not answer. Start it.",
      details: { url: "mongodb://localhost:27017" },
    });
  });

  it("has no cause property when none was given", () => {
    const err = new KamihiError("KAMIHI_INTERNAL_BUG", "bug");
    assert.equal(Object.hasOwn(err, "cause"), false);
    assert.deepEqual(err.details, {});
  });

  it("is recognised by isKamihiError, with and without a code", () => {
    const err = new KamihiError("KAMIHI_CONFIG_INVALID", "bad");
    assert.equal(isKamihiError(err), true);
    assert.equal(isKamihiError(err, "KAMIHI_CONFIG_INVALID"), true);
    assert.equal(isKamihiError(err, "KAMIHI_DB_UNREACHABLE"), false);
    assert.equal(isKamihiError(new Error("plain")), false);
    assert.equal(isKamihiError({ name: "KamihiError", code: "KAMIHI_INTERNAL_BUG" }), false);
    assert.equal(isKamihiError(null), false);
  });

  it("recognises an error from another copy of the package by its shape", () => {
    const foreign = Object.assign(new Error("from elsewhere"), {
      name: "KamihiError",
      code: "KAMIHI_INTERNAL_BUG",
    });
    assert.equal(isKamihiError(foreign, "KAMIHI_INTERNAL_BUG"), true);
  });
});

describe("KamihiValidationError", () => {
  it("keeps every issue and lists them all in the message, one per line", () => {
    const err = new KamihiValidationError("KAMIHI_CONFIG_INVALID", "Invalid settings:", [
      {
        path: "web.port",
        message: "expected an integer from 1 to 65535",
        received: '"abc"',
        source: "KAMIHI_WEB__PORT",
      },
      {
        path: "web.prot",
        message: "unknown setting",
        source: "kamihi.yaml:3",
        hint: 'did you mean "web.port"?',
      },
      { path: "", message: "YAML syntax error: bad indentation", source: "kamihi.yaml:7:3" },
      { path: "", message: "nothing to read" },
    ]);
    assert.equal(err.name, "KamihiValidationError");
    assert.equal(err.issues.length, 4);
    assert.equal(isKamihiError(err, "KAMIHI_CONFIG_INVALID"), true);
    assert.equal(
      err.message,
      [
        "Invalid settings:",
        '  - web.port: expected an integer from 1 to 65535, got "abc" (from KAMIHI_WEB__PORT)',
        '  - web.prot: unknown setting (from kamihi.yaml:3); did you mean "web.port"?',
        "  - kamihi.yaml:7:3: YAML syntax error: bad indentation",
        "  - nothing to read",
      ].join("\n"),
    );
  });

  it("formats a summary alone when there are no issues", () => {
    assert.equal(formatValidationMessage("Nothing wrong", []), "Nothing wrong");
  });
});

describe("error reference", () => {
  it("documents every error code in docs/errors.md", () => {
    const doc = readFileSync(new URL("../../../docs/errors.md", import.meta.url), "utf8");
    const missing = Object.keys(errorCodes).filter((code) => !doc.includes(`## ${code}\n`));
    assert.deepEqual(missing, [], `add a "## CODE" section to docs/errors.md for each`);
  });

  it("has no code that nothing raises (a stale entry would mislead whoever branches on it)", () => {
    const packages = new URL("../../", import.meta.url);
    const sources = readdirSync(packages, { recursive: true, encoding: "utf8" })
      .filter((path) => /^[^/]+\/src\/.*\.ts$/.test(path) && !path.endsWith("core/src/errors.ts"))
      .map((path) => readFileSync(new URL(path, packages), "utf8"))
      .join("\n");
    const unused = Object.keys(errorCodes).filter((code) => !sources.includes(`"${code}"`));
    assert.deepEqual(unused, [], "raise each code somewhere, or take it out of the table");
  });

  it("uses the KAMIHI_<AREA>_<WHAT> shape for every code", () => {
    for (const code of Object.keys(errorCodes)) {
      assert.match(code, /^KAMIHI_[A-Z]+_[A-Z_]+$/);
    }
  });
});
