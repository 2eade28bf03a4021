import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("../check-dependency-rule.mjs", import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const workspaceRoot = fileURLToPath(new URL("../..", import.meta.url));

function check(root: string) {
  const result = spawnSync(process.execPath, [script, root], { encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("dependency rule", () => {
  it("passes a workspace where only kamihi composes packages and tests use devDependencies", () => {
    const result = check(fixture("good"));
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /2 @kamihi\/\* packages depend only on @kamihi\/core/);
  });

  it("fails when a package lists another @kamihi package, naming both", () => {
    const result = check(fixture("bad-manifest"));
    assert.equal(result.status, 1);
    assert.match(result.stderr, /@kamihi\/users lists @kamihi\/db in dependencies/);
  });

  it("fails when source imports another @kamihi package, naming the file and line", () => {
    const result = check(fixture("bad-import"));
    assert.equal(result.status, 1);
    assert.match(
      result.stderr,
      /@kamihi\/admin imports @kamihi\/users \(packages\/admin\/src\/index\.ts:3\)/,
    );
    assert.doesNotMatch(result.stderr, /imports @kamihi\/core/);
  });

  it("fails when @kamihi/core itself depends on a @kamihi package", () => {
    const result = check(fixture("bad-core"));
    assert.equal(result.status, 1);
    assert.match(result.stderr, /@kamihi\/core lists @kamihi\/db in peerDependencies/);
  });

  it("holds for this repository", () => {
    const result = check(workspaceRoot);
    assert.equal(result.status, 0, result.stderr);
  });

  it("fails with a clear message when pointed at a folder without packages/", () => {
    const result = check(fixture("good/packages"));
    assert.equal(result.status, 2);
    assert.match(result.stderr, /no packages\/ folder/);
  });
});

describe("import cycles", () => {
  it("fails on a loop of imports, printing it as a chain of files of the package's src", () => {
    const result = check(fixture("cycles"));
    assert.equal(result.status, 1);
    assert.match(result.stderr, /import cycles: these files import each other in a loop/);
    assert.match(
      result.stderr,
      /- @kamihi\/users \(packages\/users\/src\): roles\.ts → service\.ts → roles\.ts\n/,
    );
    assert.equal(result.stdout, "");
  });

  it("counts `import type`, marking that link of the chain", () => {
    const result = check(fixture("cycles"));
    assert.match(
      result.stderr,
      /- @kamihi\/users \(packages\/users\/src\): store\.ts → types\.ts →\(type\) store\.ts\n/,
    );
  });

  it("checks every package, follows folder indexes and names the whole tangle", () => {
    const result = check(fixture("cycles"));
    assert.match(
      result.stderr,
      /- kamihi \(packages\/kamihi\/src\): a\.ts → nested\/index\.ts → b\.ts → a\.ts \(one loop of a tangle of: a\.ts, b\.ts, c\.ts, nested\/index\.ts\)\n/,
    );
    assert.match(result.stderr, /- kamihi \(packages\/kamihi\/src\): self\.ts → self\.ts\n/);
    assert.equal(result.stderr.match(/^ {2}- /gm)?.length, 4, result.stderr);
  });

  it("passes a tree whose dynamic imports, comments and generated source only look like loops", () => {
    const result = check(fixture("no-cycles"));
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /import cycles: none in the src of 2 packages/);
  });
});
