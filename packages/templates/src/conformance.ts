/**
 * The template-engine conformance suite: what every {@link TemplateEngine} must do, as
 * `node:test` tests. Kamihi runs it against its Eta engine; a third-party engine (Handlebars,
 * Nunjucks…) runs it the same way, telling the suite how its language writes things:
 *
 * ```ts
 * import { runTemplateEngineConformance } from "@kamihi/templates/conformance";
 * runTemplateEngineConformance({
 *   name: "handlebars",
 *   create: (root) => createHandlebarsEngine({ root }),
 *   syntax: {
 *     extension: "hbs",
 *     escaped: (key) => `{{${key}}}`,
 *     raw: (key) => `{{{${key}}}}`,
 *     partial: (name) => `{{> ${name}}}`,
 *     broken: "{{#if}}",
 *   },
 * });
 * ```
 *
 * @packageDocumentation
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { escapeMarkdown, isKamihiError, type TemplateEngine } from "@kamihi/core";

/** How the engine under test writes things in its template language. */
export interface TemplateSyntax {
  /**
   * The extension of template files, without the dot: an action's template `greet.md` is the
   * file `greet.md.<extension>`, a shared partial `footer` is `templates/footer.<extension>`.
   */
  extension: string;
  /** Outputs the data value `key`, escaped (the default interpolation), e.g. `<%= it.name %>`. */
  escaped(key: string): string;
  /** Outputs the data value `key` as it is (the explicit raw output), e.g. `<%~ it.name %>`. */
  raw(key: string): string;
  /** Includes the shared partial `name` (from `templates/`), passing it the same data. */
  partial(name: string): string;
  /** A whole template that fails to render: a syntax error, or an error while rendering. */
  broken: string;
}

/** Options of {@link runTemplateEngineConformance}. */
export interface TemplateEngineConformanceOptions {
  /** Shown in the test names. */
  name: string;
  /**
   * A fresh engine for the project at `root` (which holds `actions/` and `templates/`). The
   * suite calls `close()` on it once, when it is done with it.
   */
  create: (root: string) => TemplateEngine | Promise<TemplateEngine>;
  /** How the engine's language writes an interpolation, raw output and a partial. */
  syntax: TemplateSyntax;
  /** Skip the suite with this reason. */
  skip?: string;
}

/** A value that would become formatting, a link and a code block if it were not escaped. */
const HOSTILE = "*x*_[y](z) `code` #tag\n    indented > quote";

/** Registers the conformance tests for one template engine. */
export function runTemplateEngineConformance(options: TemplateEngineConformanceOptions): void {
  const { syntax } = options;
  const file = (name: string) => `${name}.${syntax.extension}`;

  describe(`TemplateEngine conformance: ${options.name}`, { skip: options.skip ?? false }, () => {
    const roots: string[] = [];
    const open: TemplateEngine[] = [];
    after(async () => {
      for (const engine of open.splice(0)) await engine.close?.();
      for (const root of roots) rmSync(root, { recursive: true, force: true });
    });

    /** A temporary project with these files (paths relative to its root). */
    function project(files: Record<string, string>): string {
      const root = mkdtempSync(join(tmpdir(), "kamihi-template-conformance-"));
      roots.push(root);
      for (const [path, content] of Object.entries(files)) write(root, path, content);
      return root;
    }

    /** An engine over `root`, closed when the suite ends (unless a test closes it itself). */
    async function engineFor(root: string): Promise<TemplateEngine> {
      const engine = await options.create(root);
      open.push(engine);
      return engine;
    }

    /** The standard project: a `greet` action with two templates, and another action. */
    function greetProject(): string {
      return project({
        [`actions/greet/${file("greet.md")}`]: `Hello ${syntax.escaped("name")}!`,
        [`actions/greet/${file("details.md")}`]: `Details of ${syntax.escaped("name")}`,
        [`actions/other/${file("other.md")}`]: "other",
      });
    }

    describe("forAction", () => {
      it("lists the templates of the action's folder, and only those", async () => {
        const root = greetProject();
        const set = (await engineFor(root)).forAction(join(root, "actions/greet"));
        assert.deepEqual([...set.names()].sort(), ["details.md", "greet.md"]);
        assert.equal(set.has("greet.md"), true);
        assert.equal(set.has("details.md"), true);
        assert.equal(set.has("other.md"), false, "another action's template");
        assert.equal(set.has("nope.md"), false);
      });

      it("renders a template with its data", async () => {
        const root = greetProject();
        const engine = await engineFor(root);
        const set = engine.forAction(join(root, "actions/greet"));
        assert.equal(await set.render("greet.md", { name: "Ada" }), "Hello Ada!");
        assert.equal(await set.render("details.md", { name: "Ada" }), "Details of Ada");
        const other = engine.forAction(join(root, "actions/other"));
        assert.deepEqual(other.names(), ["other.md"]);
        assert.equal(await other.render("other.md"), "other");
      });

      it("includes shared partials from templates/, with the same data", async () => {
        const root = project({
          [`actions/greet/${file("greet.md")}`]: `Hi${syntax.partial("signature")}`,
          [`templates/${file("signature")}`]: ` from ${syntax.escaped("bot")}`,
        });
        const set = (await engineFor(root)).forAction(join(root, "actions/greet"));
        assert.equal(await set.render("greet.md", { bot: "Kamihi" }), "Hi from Kamihi");
        assert.equal(
          await set.render("greet.md", { bot: HOSTILE }),
          `Hi from ${escapeMarkdown(HOSTILE)}`,
          "a partial escapes as well",
        );
      });
    });

    describe("escaping", () => {
      it("escapes interpolated values with escapeMarkdown from @kamihi/core", async () => {
        const root = project({
          [`actions/a/${file("a.md")}`]: `**${syntax.escaped("value")}**`,
        });
        const set = (await engineFor(root)).forAction(join(root, "actions/a"));
        for (const value of [HOSTILE, "*x*_[y](z)", "1.5 + 2 = 3.5!", "<b>é</b>", 42]) {
          assert.equal(
            await set.render("a.md", { value }),
            `**${escapeMarkdown(value)}**`,
            JSON.stringify(value),
          );
        }
        assert.equal(
          await set.render("a.md", { value: "*x*_[y](z)" }),
          "**\\*x\\*\\_\\[y\\]\\(z\\)**",
        );
      });

      it("outputs raw values unescaped, only where the template asks for it", async () => {
        const root = project({
          [`actions/a/${file("a.md")}`]: `${syntax.raw("value")} and ${syntax.escaped("value")}`,
        });
        const set = (await engineFor(root)).forAction(join(root, "actions/a"));
        const value = "**bold** [a](https://example.com)";
        assert.equal(await set.render("a.md", { value }), `${value} and ${escapeMarkdown(value)}`);
      });
    });

    describe("errors", () => {
      it("rejects a missing template with KAMIHI_TEMPLATE_NOT_FOUND, naming the ones that exist", async () => {
        const root = greetProject();
        const set = (await engineFor(root)).forAction(join(root, "actions/greet"));
        await assert.rejects(set.render("nope.md"), (error: unknown) => {
          assert.ok(isKamihiError(error, "KAMIHI_TEMPLATE_NOT_FOUND"), String(error));
          assert.match(error.message, /nope\.md/);
          assert.match(error.message, /greet\.md/);
          assert.match(error.message, /details\.md/);
          return true;
        });
      });

      it("rejects a template that fails with KAMIHI_TEMPLATE_RENDER_FAILED, naming it", async () => {
        const root = project({
          [`actions/a/${file("a.md")}`]: "fine",
          [`actions/a/${file("broken.md")}`]: syntax.broken,
        });
        const set = (await engineFor(root)).forAction(join(root, "actions/a"));
        await assert.rejects(set.render("broken.md", { value: "x" }), (error: unknown) => {
          assert.ok(isKamihiError(error, "KAMIHI_TEMPLATE_RENDER_FAILED"), String(error));
          assert.match(error.message, /broken\.md/);
          return true;
        });
        assert.equal(await set.render("a.md"), "fine", "one broken template breaks nothing else");
      });
    });

    describe("lifecycle", () => {
      it("picks up a changed, an added and a removed file on reload()", async () => {
        const root = project({
          [`actions/a/${file("a.md")}`]: "v1",
          [`actions/a/${file("old.md")}`]: "old",
        });
        const engine = await engineFor(root);
        const set = engine.forAction(join(root, "actions/a"));
        assert.equal(await set.render("a.md"), "v1");
        assert.equal(set.has("old.md"), true);
        write(root, `actions/a/${file("a.md")}`, "v2");
        write(root, `actions/a/${file("new.md")}`, "new");
        rmSync(join(root, `actions/a/${file("old.md")}`));
        await engine.reload();
        assert.equal(await set.render("a.md"), "v2");
        assert.equal(await set.render("new.md"), "new");
        assert.equal(set.has("old.md"), false);
        assert.deepEqual([...set.names()].sort(), ["a.md", "new.md"]);
      });

      it("closes once at stop: close() resolves and releases what the engine opened", async () => {
        const root = greetProject();
        const before = activeResources();
        const engine = await options.create(root);
        const set = engine.forAction(join(root, "actions/greet"));
        assert.equal(await set.render("greet.md", { name: "Ada" }), "Hello Ada!");
        // close is optional in the port; an engine that holds nothing may leave it out.
        await assert.doesNotReject(async () => engine.close?.());
        // A watcher or timer left open would keep the bot's process alive after stop. Handles
        // finish closing a turn or two of the event loop later, not within close() itself.
        let left = activeResources();
        for (let turn = 0; turn < 100 && !fewerOrEqual(left, before); turn++) {
          await new Promise((resolve) => setImmediate(resolve));
          left = activeResources();
        }
        for (const [type, count] of left) {
          assert.ok(
            count <= (before.get(type) ?? 0),
            `after close(), ${count - (before.get(type) ?? 0)} more ${type} than before create()`,
          );
        }
      });
    });
  });
}

function write(root: string, path: string, content: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
}

/**
 * The process's active handles (file watchers, timers, sockets…), by type. Requests in flight
 * (`FSReqCallback`, `FSReqPromise`, `GetAddrInfoReqWrap`…) are left out: they finish by
 * themselves, and a read the watcher started just before close() is not a leak.
 */
function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) {
    if (/Req(Callback|Promise|Wrap)?$/.test(type)) continue;
    counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return counts;
}

/** Whether `now` holds no more of any type than `before`. */
function fewerOrEqual(now: Map<string, number>, before: Map<string, number>): boolean {
  return [...now].every(([type, count]) => count <= (before.get(type) ?? 0));
}
