import type { Clock, Store } from "@kamihi/core";
import { Sessions } from "./sessions.js";

/**
 * Issues admin login links without running the admin: a bot whose admin runs elsewhere
 * (`kamihi admin`, another instance) sends links built from `web.publicUrl`; the tokens live
 * in the shared store, where that admin checks them.
 */
export function loginLinks(
  store: Store,
  baseUrl: string,
  options: { loginTtlSeconds?: number; clock?: Clock } = {},
): (telegramId: number) => Promise<string> {
  const sessions = new Sessions(store, {
    loginTtlSeconds: options.loginTtlSeconds ?? 600,
    sessionTtlSeconds: 12 * 3600,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const base = baseUrl.replace(/\/+$/, "");
  return async (telegramId) => `${base}/login/${await sessions.issueLoginToken(telegramId)}`;
}
