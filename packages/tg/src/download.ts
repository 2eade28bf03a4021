import { type DownloadedFile, KamihiError } from "@kamihi/core";
import type { Call } from "./call.js";
import { failureError, readFailure } from "./errors.js";

/** What {@link downloadFile} works with. */
export interface DownloadDeps {
  call: Call;
  token: string;
  /** The Bot API root; files are served under `<root>/file/bot<token>/`. */
  apiRoot: string;
}

/** Downloads a file a user sent: `getFile` for its path, then the bytes. */
export async function downloadFile(deps: DownloadDeps, fileId: string): Promise<DownloadedFile> {
  const { call, token, apiRoot } = deps;
  const file = await call<{ file_path?: string }>("getFile", { file_id: fileId });
  if (file.file_path === undefined) {
    throw new KamihiError(
      "KAMIHI_TG_FILE_UNAVAILABLE",
      `Telegram has no downloadable copy of file ${fileId}: the Bot API serves files of up to 20 MB. Ask for a smaller file, or use a local Bot API server.`,
      { details: { fileId } },
    );
  }
  let response: Response;
  try {
    response = await fetch(`${apiRoot}/file/bot${token}/${file.file_path}`);
  } catch (error) {
    // The fetch error names the URL, which holds the token: only the scrubbed failure goes on.
    throw failureError("downloadFile", readFailure(error, token));
  }
  if (!response.ok) {
    throw failureError("downloadFile", {
      code: response.status,
      description: response.statusText,
    });
  }
  const data = new Uint8Array(await response.arrayBuffer());
  return { data, filePath: file.file_path, size: data.length };
}
