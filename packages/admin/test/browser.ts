/**
 * Real headless Chromium for the admin's browser tests, driven by `playwright-core` against the
 * system browser (`/usr/bin/chromium`, Debian's `chromium` package). Nothing here downloads a
 * browser: `playwright-core` never does, and {@link launchBrowser} always passes an
 * `executablePath`.
 *
 * ```ts
 * const { skip } = requiredBrowser();
 * describe("the admin in a browser", { skip }, () => {
 *   const browser = sharedBrowser();
 *   it("signs in", () => withPage(async (page) => { ... }, { browser: browser() }));
 * });
 * ```
 *
 * Without Chromium the suites skip with the reason; with `KAMIHI_REQUIRE_BROWSER=1` (CI) a
 * missing browser is an error, never a skip. `KAMIHI_TEST_CHROMIUM` points at another binary.
 */
import { accessSync, constants } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { after, before } from "node:test";
import {
  type Browser,
  type BrowserContextOptions,
  chromium,
  type Page,
  type ViewportSize,
} from "playwright-core";

/** Where Debian's `chromium` package puts the browser. */
export const DEFAULT_CHROMIUM = "/usr/bin/chromium";

/** The flags every test browser runs with: headless, no sandbox (root in CI), no phoning home. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** The default viewport of every page (and so of every screenshot). */
export const VIEWPORT: ViewportSize = { width: 1280, height: 800 };

/** How long one browser action or wait may take before the test fails (ms). */
export const ACTION_TIMEOUT = 10_000;

const INSTALL_HINT =
  "install it with `apt-get install chromium` (Debian/Ubuntu), or point KAMIHI_TEST_CHROMIUM at a Chromium binary";

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Chromium binary of this run, or the reason browser tests must skip. With
 * `KAMIHI_REQUIRE_BROWSER=1` a missing browser throws instead: CI must never skip them.
 */
export function requiredBrowser(): { executablePath?: string; skip?: string } {
  const override = process.env.KAMIHI_TEST_CHROMIUM;
  const fromEnv = override !== undefined && override !== "";
  const executablePath = fromEnv ? override : DEFAULT_CHROMIUM;
  if (isExecutable(executablePath)) return { executablePath };

  const where = fromEnv
    ? `KAMIHI_TEST_CHROMIUM=${executablePath} is not an executable file`
    : `${executablePath} was not found`;
  if (process.env.KAMIHI_REQUIRE_BROWSER === "1") {
    throw new Error(
      `KAMIHI_REQUIRE_BROWSER=1 but Chromium is required for the browser tests and ${where}; ${INSTALL_HINT}`,
    );
  }
  return { skip: `Chromium is not available (${where}); ${INSTALL_HINT}` };
}

/** Launches a fresh headless Chromium; the caller closes it. */
export async function launchBrowser(): Promise<Browser> {
  const { executablePath, skip } = requiredBrowser();
  if (executablePath === undefined) throw new Error(skip ?? "Chromium is not available");
  return chromium.launch({
    executablePath,
    args: [...CHROMIUM_ARGS],
    headless: true,
    // A first, cold start beside a full test run on two cores has been seen to take ~30 s.
    timeout: 90_000,
  });
}

/**
 * One browser for every test of the enclosing `describe`: launched in `before`, closed in
 * `after`. Returns a getter to call inside the tests.
 */
export function sharedBrowser(): () => Browser {
  let browser: Browser | undefined;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    browser = undefined;
  });
  return () => {
    if (browser === undefined) throw new Error("sharedBrowser(): the browser is not running");
    return browser;
  };
}

export interface WithPageOptions {
  /** A running browser to open the context in; without it one is launched and closed. */
  browser?: Browser;
  /** Context options (cookies, locale, …); the viewport defaults to {@link VIEWPORT}. */
  context?: BrowserContextOptions;
}

/**
 * Runs `fn` with a page in a fresh browser context (no cookies or storage shared with other
 * tests), then closes the context, and the browser if this call launched it.
 */
export async function withPage<T>(
  fn: (page: Page) => Promise<T>,
  options: WithPageOptions = {},
): Promise<T> {
  const browser = options.browser ?? (await launchBrowser());
  try {
    const context = await browser.newContext({ viewport: VIEWPORT, ...options.context });
    try {
      context.setDefaultTimeout(ACTION_TIMEOUT);
      context.setDefaultNavigationTimeout(ACTION_TIMEOUT);
      const page = await context.newPage();
      return await fn(page);
    } finally {
      await context.close();
    }
  } finally {
    if (options.browser === undefined) await browser.close();
  }
}

export interface ScreenshotOptions {
  /** The whole scrollable page (default) or just the viewport. */
  fullPage?: boolean;
  /** Resize the page first; a page without a viewport gets {@link VIEWPORT}. */
  viewport?: ViewportSize;
}

/** Saves a PNG of `page` to `file` (folders created); returns the absolute path. */
export async function screenshot(
  page: Page,
  file: string,
  options: ScreenshotOptions = {},
): Promise<string> {
  const viewport = options.viewport ?? (page.viewportSize() === null ? VIEWPORT : undefined);
  if (viewport !== undefined) await page.setViewportSize(viewport);
  const path = resolve(file);
  await mkdir(dirname(path), { recursive: true });
  await page.screenshot({ path, type: "png", fullPage: options.fullPage ?? true });
  return path;
}
