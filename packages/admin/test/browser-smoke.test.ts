import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { requiredBrowser, screenshot, sharedBrowser, VIEWPORT, withPage } from "./browser.js";

// The harness end to end: a real HTTP server, a real Chromium filling and posting a form, and
// assertions on both what the server received and what the browser then shows.

const FORM = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Smoke form</title></head>
<body>
  <h1>Say hello</h1>
  <form method="post" action="/submit">
    <label>Name <input name="name" required></label>
    <label>Role
      <select name="role"><option value="user">User</option><option value="admin">Admin</option></select>
    </label>
    <input type="hidden" name="js" value="off">
    <button type="submit">Send</button>
  </form>
  <script>document.querySelector('input[name="js"]').value = "on";</script>
</body>
</html>`;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function result(fields: URLSearchParams): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sent</title></head>
<body>
  <h1>Hello, ${escapeHtml(fields.get("name") ?? "")}</h1>
  <p id="role">${escapeHtml(fields.get("role") ?? "")}</p>
</body>
</html>`;
}

/** PNG width and height from its IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

const { skip } = requiredBrowser();

// No tight suite timeout: a cold Chromium start on a loaded CI machine can take half a minute;
// each browser action still fails after ACTION_TIMEOUT.
describe("headless Chromium harness", { skip, timeout: 180_000 }, () => {
  const browser = sharedBrowser();
  const received: URLSearchParams[] = [];
  let server: Server;
  let base: string;
  let shots: string;

  before(async () => {
    server = createServer((req, res) => {
      if (req.method === "GET" && req.url === "/") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(FORM);
        return;
      }
      if (req.method === "POST" && req.url === "/submit") {
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (chunk: string) => {
          body += chunk;
        });
        req.on("end", () => {
          const fields = new URLSearchParams(body);
          received.push(fields);
          res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(result(fields));
        });
        return;
      }
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    shots = await mkdtemp(join(tmpdir(), "kamihi-browser-smoke-"));
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
    await rm(shots, { recursive: true, force: true });
  });

  it("fills and submits a form, runs page JavaScript, and screenshots the result", async () => {
    await withPage(
      async (page) => {
        await page.goto(`${base}/`);
        assert.equal(await page.title(), "Smoke form");

        await page.getByLabel("Name").fill("Ada <Lovelace>");
        await page.getByLabel("Role").selectOption("admin");
        await Promise.all([
          page.waitForURL(`${base}/submit`),
          page.getByRole("button", { name: "Send" }).click(),
        ]);

        assert.equal(received.length, 1, "the server must have received exactly one submission");
        const [fields] = received;
        assert.equal(fields?.get("name"), "Ada <Lovelace>");
        assert.equal(fields?.get("role"), "admin");
        assert.equal(fields?.get("js"), "on", "the page's script must have run");

        assert.equal(await page.title(), "Sent");
        assert.equal(
          await page.getByRole("heading", { level: 1 }).textContent(),
          "Hello, Ada <Lovelace>",
        );
        assert.equal(await page.locator("#role").textContent(), "admin");

        const file = await screenshot(page, join(shots, "nested", "result.png"));
        const size = pngSize(await readFile(file));
        assert.equal(size.width, VIEWPORT.width);
        assert.ok(size.height >= VIEWPORT.height, `full-page height ${size.height}`);
      },
      { browser: browser() },
    );
  });
});
