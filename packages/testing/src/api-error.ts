/** An error the emulated Bot API answers with, exactly as Telegram shapes it. */
export class BotApiError extends Error {
  readonly errorCode: number;
  readonly retryAfter: number | undefined;

  constructor(errorCode: number, description: string, retryAfter?: number) {
    super(description);
    this.errorCode = errorCode;
    this.retryAfter = retryAfter;
  }

  /** The response body: `{ ok: false, error_code, description, parameters? }`. */
  toJSON() {
    return {
      ok: false as const,
      error_code: this.errorCode,
      description: this.message,
      ...(this.retryAfter === undefined ? {} : { parameters: { retry_after: this.retryAfter } }),
    };
  }
}

/** `400 Bad Request: …` */
export const badRequest = (what: string) => new BotApiError(400, `Bad Request: ${what}`);
