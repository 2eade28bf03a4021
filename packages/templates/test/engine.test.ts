import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, sep } from "node:path";
import { describe, it } from "node:test";
import { isKamihiError, type Logger } from "@kamihi/core";
import { parseMarkdownV2 } from "@kamihi/testing";
import { toMarkdownV2 } from "@kamihi/tg";
import { createTemplateEngine, escapeMarkdown } from "../src/index.js";

function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "kamihi-templates-"));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), content);
  }
  return root;
}

/**
 * A logger that hears the watcher's "template changed" lines, so a test awaits the reload
 * itself instead of polling for it.
 */
function watchedChanges() {
  const files = new Set<string>();
  const waiters: Array<() => void> = [];
  const ignore = () => {};
  const logger: Logger = {
    trace: ignore,
    info: ignore,
    warn: ignore,
    error: ignore,
    fatal: ignore,
    debug: (bindings: unknown) => {
      const file = (bindings as { file?: unknown } | undefined)?.file;
      if (file === undefined) return;
      files.add(String(file).split(sep).join("/"));
      for (const wake of waiters.splice(0)) wake();
    },
    child: () => logger,
  };
  /** Resolves once a change to every file (ending with these paths) has been reloaded. */
  async function seen(endings: string[]): Promise<void> {
    while (!endings.every((end) => [...files].some((file) => file.endsWith(end)))) {
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  }
  return { logger, seen };
}

/** What a user would see in Telegram: Markdown → MarkdownV2 → Telegram's parse. */
function shown(markdown: string) {
  return parseMarkdownV2(toMarkdownV2(markdown));
}

describe("templates of an action", () => {
  const root = project({
    "actions/start/start.md.eta": "Hello **<%= it.name %>**!\n",
    "actions/start/details.md.eta": "<%~ include('footer', it) %>",
    "actions/start/parts/item.md.eta": "- <%= it.item %>",
    "actions/other/other.md.eta": "other",
    "templates/footer.eta": "— sent by <%= it.bot %>",
    "templates/base.eta": "# <%= it.title %>\n\n<%~ it.body %>",
    "actions/start/page.md.eta": "<% layout('base', { title: it.title }) %>Body of <%= it.title %>",
  });
  const engine = createTemplateEngine({ root });
  const start = engine.forAction("actions/start");

  it("finds every template of the folder, recursively, and only those", () => {
    assert.deepEqual(start.names(), ["details.md", "page.md", "parts/item.md", "start.md"]);
    assert.equal(start.has("start.md"), true);
    assert.equal(start.has("start.md.eta"), true);
    assert.equal(start.has("other.md"), false);
  });

  it("renders with data, including nested templates and shared partials and layouts", async () => {
    assert.equal(await start.render("start.md", { name: "Ada" }), "Hello **Ada**!\n");
    assert.equal(await start.render("parts/item.md", { item: "milk" }), "- milk");
    assert.equal(await start.render("details.md", { bot: "Kamihi" }), "— sent by Kamihi");
    // Eta trims the newline that follows a tag, as it does by default.
    assert.equal(await start.render("page.md", { title: "News" }), "# News\nBody of News");
  });

  it("escapes interpolated values so hostile input shows exactly as typed", async () => {
    const hostile =
      "*_[]()~` \\ # + - = | { } . ! > <b>x</b> [link](http://evil.example) __u__ ||s||";
    const markdown = await start.render("start.md", { name: hostile });
    const seen = shown(markdown);
    assert.equal(seen.text, `Hello ${hostile}!`);
    // The template's own bold survives; nothing inside the value became formatting. A bare
    // URL is shown as itself and linked to itself (as Telegram links URLs), never disguised.
    const [bold, ...rest] = seen.entities;
    assert.deepEqual(bold, { type: "bold", offset: 6, length: hostile.length });
    for (const entity of rest) {
      assert.equal(entity.type, "text_link");
      const visible = seen.text.slice(entity.offset, entity.offset + entity.length);
      assert.equal((entity as { url: string }).url.replace(/\/$/, ""), visible);
    }
  });

  it("keeps raw output explicit", async () => {
    const raw = project({ "actions/a/a.md.eta": "<%~ it.markup %> and <%= it.markup %>" });
    const out = await createTemplateEngine({ root: raw })
      .forAction("actions/a")
      .render("a.md", { markup: "**bold**" });
    const seen = shown(out);
    assert.equal(seen.text, "bold and **bold**");
    assert.deepEqual(
      seen.entities.map((e) => e.type),
      ["bold"],
    );
  });

  it("names the folder and what exists when a template is missing", async () => {
    await assert.rejects(start.render("nope.md"), (err: unknown) => {
      assert.ok(isKamihiError(err, "KAMIHI_TEMPLATE_NOT_FOUND"));
      assert.match(
        err.message,
        /No template "nope\.md" in actions\/start; available: details\.md, page\.md, parts\/item\.md, start\.md\. Create actions\/start\/nope\.md\.eta\./,
      );
      return true;
    });
    await assert.rejects(
      engine.forAction("actions/empty").render("x"),
      /the folder has no \.eta files/,
    );
  });

  it("never reads outside the project", async () => {
    const outside = project({
      "actions/a/a.md.eta": "<%~ include('../../../../../../etc/hostname') %>",
    });
    await assert.rejects(
      createTemplateEngine({ root: outside }).forAction("actions/a").render("a.md"),
      (err: unknown) => isKamihiError(err, "KAMIHI_TEMPLATE_RENDER_FAILED"),
    );
  });
});

describe("template errors", () => {
  it("report syntax errors with file, line and column", async () => {
    const root = project({ "actions/a/a.md.eta": "line one\nHello <%= it.name\n" });
    await assert.rejects(
      createTemplateEngine({ root }).forAction("actions/a").render("a.md", { name: "x" }),
      (err: unknown) => {
        assert.ok(isKamihiError(err, "KAMIHI_TEMPLATE_RENDER_FAILED"));
        assert.match(
          err.message,
          /^actions\/a\/a\.md\.eta:2:7: template syntax error: unclosed tag/,
        );
        return true;
      },
    );
  });

  it("report rendering errors with file and line", async () => {
    const root = project({ "actions/a/a.md.eta": "ok\n<%= it.user.name %>\n" });
    await assert.rejects(
      createTemplateEngine({ root }).forAction("actions/a").render("a.md", {}),
      (err: unknown) => {
        assert.ok(isKamihiError(err, "KAMIHI_TEMPLATE_RENDER_FAILED"));
        assert.match(
          err.message,
          /^actions\/a\/a\.md\.eta:2: Cannot read properties of undefined \(reading 'name'\)/,
        );
        return true;
      },
    );
  });
});

describe("reloading", () => {
  it("picks up an edited template on reload()", async () => {
    const root = project({ "actions/a/a.md.eta": "v1" });
    const engine = createTemplateEngine({ root });
    const set = engine.forAction("actions/a");
    assert.equal(await set.render("a.md"), "v1");
    writeFileSync(join(root, "actions/a/a.md.eta"), "v2");
    assert.equal(await set.render("a.md"), "v1", "cached until reloaded");
    await engine.reload();
    assert.equal(await set.render("a.md"), "v2");
  });

  it("reloads by itself in watch mode, new files included", async () => {
    const root = project({ "actions/a/a.md.eta": "v1" });
    const changes = watchedChanges();
    const engine = createTemplateEngine({ root, watch: true, logger: changes.logger });
    const set = engine.forAction("actions/a");
    try {
      assert.equal(await set.render("a.md"), "v1");
      writeFileSync(join(root, "actions/a/a.md.eta"), "v2");
      writeFileSync(join(root, "actions/a/b.md.eta"), "new");
      // The engine logs a change and reloads in the same tick: once both are heard, both are in.
      await changes.seen(["a/a.md.eta", "a/b.md.eta"]);
      assert.equal(await set.render("a.md"), "v2");
      assert.equal(await set.render("b.md"), "new");
    } finally {
      engine.close();
    }
  });
});

describe("escapeMarkdown", () => {
  it("escapes every ASCII punctuation character and nothing else", () => {
    assert.equal(escapeMarkdown("a*b_c 1.5 é"), "a\\*b\\_c 1\\.5 é");
    assert.equal(escapeMarkdown(null), "");
    assert.equal(escapeMarkdown(42), "42");
  });

  it("keeps indented lines from becoming code blocks", () => {
    const seen = shown(`Note:\n\n${escapeMarkdown("    not code")}`);
    assert.equal(seen.entities.length, 0);
    assert.match(seen.text, /not code$/);
  });
});

describe("more hostile input", () => {
  it("never lets mixed leading spaces and tabs become a code block", () => {
    for (const value of [" \tcode", "  \tcode", "\tcode", "x\n \t code", "    code"]) {
      const seen = shown(`Intro:\n\n${escapeMarkdown(value)}`);
      assert.deepEqual(seen.entities, [], JSON.stringify(value));
    }
  });

  it("reports broken JavaScript in tags without dumping the compiled template", async () => {
    const root = project({ "actions/a/a.md.eta": "<% if (it.x) { %>\nshown\n" });
    await assert.rejects(
      createTemplateEngine({ root }).forAction("actions/a").render("a.md", { x: 1 }),
      (err: unknown) => {
        assert.ok(isKamihiError(err, "KAMIHI_TEMPLATE_RENDER_FAILED"));
        assert.match(
          err.message,
          /^actions\/a\/a\.md\.eta: template syntax error: .+check that every/,
        );
        assert.ok(!err.message.includes("__eta"), err.message);
        return true;
      },
    );
  });
});
