import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KamihiError, KamihiValidationError } from "@kamihi/core";
import { flashOf, formErrorsOf } from "../src/kit/form-errors.js";

// How an error of the user service shows on a form: on the field it is about, or above the form.

describe("formErrorsOf", () => {
  it("puts an error whose code is mapped on that field", () => {
    const error = new KamihiError("KAMIHI_ROLE_INVALID_NAME", 'The role name "a b" is not valid.');
    assert.deepEqual(
      formErrorsOf(error, { KAMIHI_ROLE_NOT_FOUND: "roles", KAMIHI_ROLE_INVALID_NAME: "roles" }),
      { errors: { roles: 'The role name "a b" is not valid.' } },
    );
  });

  it("puts validation issues on their fields, and the form's own above it", () => {
    const error = new KamihiValidationError("KAMIHI_USER_INVALID", "The user is not valid:", [
      { path: "firstName", message: "Enter a first name." },
      { path: "data.plan", message: "Choose one of: free, pro." },
      { path: "data.plan", message: "a second problem of the field" },
      { path: "data", message: "The custom data is not valid." },
      { path: "", message: "Something about the whole user." },
    ]);
    assert.deepEqual(formErrorsOf(error), {
      errors: { firstName: "Enter a first name.", "data.plan": "Choose one of: free, pro." },
      formError: "The custom data is not valid. Something about the whole user.",
    });
  });

  it("puts any other Kamihi error above the form, and gives nothing for other errors", () => {
    const error = new KamihiError("KAMIHI_USER_NOT_FOUND", "No user has that Telegram id.");
    assert.deepEqual(formErrorsOf(error, { KAMIHI_ROLE_EXISTS: "name" }), {
      errors: {},
      formError: "No user has that Telegram id.",
    });
    assert.equal(formErrorsOf(new TypeError("a bug")), undefined);
  });
});

describe("flashOf", () => {
  it("shows a Kamihi error's message, and lets every other error fail", () => {
    const error = new KamihiError("KAMIHI_ROLE_NOT_FOUND", 'No role named "staff".');
    assert.deepEqual(flashOf(error), { kind: "error", text: 'No role named "staff".' });
    const bug = new TypeError("a bug");
    assert.throws(
      () => flashOf(bug),
      (thrown) => thrown === bug,
    );
  });
});
