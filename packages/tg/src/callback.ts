import type { Call } from "./call.js";

/** Answers a pressed inline button (stops its spinner), with a toast or an alert if given. */
export async function answerCallback(
  call: Call,
  callbackQueryId: string,
  answer: { text?: string; showAlert?: boolean } = {},
): Promise<void> {
  await call("answerCallbackQuery", {
    callback_query_id: callbackQueryId,
    ...(answer.text === undefined ? {} : { text: answer.text }),
    ...(answer.showAlert ? { show_alert: true } : {}),
  });
}
