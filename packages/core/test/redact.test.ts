import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redactUrlCredentials } from "../src/index.js";

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
    assert.equal(
      redactUrlCredentials("https://tok3n@api.example/x"),
      "https://tok3n:***@api.example/x",
    );
    assert.equal(
      redactUrlCredentials("memory://?file=data.json&password=hunter2&x=1"),
      "memory://?file=data.json&password=***&x=1",
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
