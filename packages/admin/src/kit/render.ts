import type { User } from "@kamihi/core";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { AdminOptions, BotStatus } from "../options.js";
import { type CookieOptions, FLASH_COOKIE } from "./cookies.js";

/** A message shown once, on the page a redirect leads to. */
export interface Flash {
  kind: "ok" | "error";
  text: string;
}

/** What every page gets: who is signed in, the CSRF token, the flash message, the bot. */
export interface PageContext {
  title: string;
  me?: User;
  csrf?: string;
  flash?: Flash;
  path: string;
  bot?: BotStatus;
}

/** How pages answer: a view inside the layout, or a redirect carrying a flash message. */
export interface Renderer {
  /** Renders `view` (under views/) inside the layout, with the page context. */
  render(
    request: FastifyRequest,
    reply: FastifyReply,
    view: string,
    title: string,
    data?: Record<string, unknown>,
  ): Promise<FastifyReply>;
  /** Redirects (303) with a flash message shown on the next page. */
  redirect(reply: FastifyReply, to: string, flash?: Flash): FastifyReply;
}

/** Pages rendered with the bot's status in the header, flash messages in signed cookies. */
export function createRenderer(status: AdminOptions["status"], cookies: CookieOptions): Renderer {
  return {
    async render(request, reply, view, title, data = {}) {
      const flash = readFlash(request, reply);
      const context: PageContext = {
        title,
        path: request.url.split("?")[0] ?? "/",
        ...(request.admin === undefined
          ? {}
          : { me: request.admin.user, csrf: request.admin.session.csrf }),
        ...(flash === undefined ? {} : { flash }),
        ...(status === undefined ? {} : { bot: status() }),
      };
      return reply.type("text/html; charset=utf-8").view(view, { ...context, ...data });
    },
    redirect(reply, to, flash) {
      if (flash !== undefined) {
        reply.setCookie(FLASH_COOKIE, JSON.stringify(flash), { ...cookies, maxAge: 60 });
      }
      return reply.redirect(to, 303);
    },
  };
}

/** The flash message the request carries (then cleared), if its cookie is valid. */
function readFlash(request: FastifyRequest, reply: FastifyReply): Flash | undefined {
  const raw = request.cookies[FLASH_COOKIE];
  if (raw === undefined) return undefined;
  reply.clearCookie(FLASH_COOKIE, { path: "/" });
  const unsigned = request.unsignCookie(raw);
  if (!unsigned.valid || unsigned.value === null) return undefined;
  try {
    const parsed = JSON.parse(unsigned.value) as { kind?: unknown; text?: unknown };
    if ((parsed.kind === "ok" || parsed.kind === "error") && typeof parsed.text === "string") {
      return { kind: parsed.kind, text: parsed.text };
    }
  } catch {
    // a tampered or old cookie: no message
  }
  return undefined;
}
