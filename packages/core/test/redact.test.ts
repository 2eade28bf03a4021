import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redactTokens, redactUrlCredentials } from "../src/index.js";

describe("redactUrlCredentials", () => {
  it("hides the password but keeps the user, host and options", () => {
    assert.equal(
      redactUrlCredentials("mongodb://ada:s3cret@db.example:27017/?authSource=admin"),
      "mongodb://ada:***@db.example:27017/?authSource=admin",
    );
    assert.equal(
      redactUrlCredentials("mongodb+srv://ada:p%40ss@cluster0.example/kamihi"),
      "mongodb+srv://ada:***@cluster0.example/kamihi",
    );
  });

  it("hides a user-only credential and secret query parameters", () => {
    assert.equal(redactUrlCredentials("https://tok3n@api.example/x"), "https://***@api.example/x");
    assert.equal(
      redactUrlCredentials("memory://?file=data.json&password=hunter2&x=1"),
      "memory://?file=data.json&password=***&x=1",
    );
  });

  it("hides passwords holding unencoded /, ? or @, and secret-sounding parameters", () => {
    assert.equal(
      redactUrlCredentials("mongodb://ada:pa/ss@db:27017"),
      "mongodb://ada:***@db:27017",
    );
    assert.equal(redactUrlCredentials("mongodb://ada:p?a@ss@db/x"), "mongodb://ada:***@db/x");
    assert.equal(
      redactUrlCredentials(
        "mongodb://db/?tlsCertificateKeyFilePassword=x&authMechanismProperties=AWS_SESSION_TOKEN:y&w=1",
      ),
      "mongodb://db/?tlsCertificateKeyFilePassword=***&authMechanismProperties=***&w=1",
    );
  });

  it("leaves URLs without credentials alone", () => {
    assert.equal(redactUrlCredentials("mongodb://localhost:27017"), "mongodb://localhost:27017");
    assert.equal(redactUrlCredentials("memory://"), "memory://");
  });

  it("hides anything unparseable that could hold credentials", () => {
    assert.equal(redactUrlCredentials("ada:secret@host"), "***");
    assert.equal(redactUrlCredentials("plain text"), "plain text");
  });
});

describe("redactTokens", () => {
  it("hides anything shaped like a bot token", () => {
    assert.equal(
      redactTokens("got KAMIHI_TOKEN=123456789:AAHfakeTokenForTestsOnly_0123456789 here"),
      "got KAMIHI_TOKEN=[redacted token] here",
    );
    assert.equal(redactTokens("port 4242: fine"), "port 4242: fine");
  });
});
