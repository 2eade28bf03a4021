import type { MessageRef } from "@kamihi/core";
import type { Call } from "./call.js";

/** Deletes a sent message; one already gone counts as deleted. */
export async function deleteMessage(call: Call, ref: MessageRef): Promise<void> {
  try {
    await call(
      "deleteMessage",
      { chat_id: ref.chatId, message_id: ref.messageId },
      { chatId: ref.chatId },
    );
  } catch (error) {
    // Deleting what is already gone is done.
    if (/message to delete not found/.test((error as Error).message)) return;
    throw error;
  }
}
