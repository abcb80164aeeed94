/** Every error answer of the server, typed by its stable `code` (docs/api.md's table). */
export class CheershareError extends Error {
  readonly code: string;
  readonly status: number;
  /** Seconds to wait before asking again (429), from `retry_after`. */
  readonly retryAfter?: number;
  readonly fields?: Record<string, string[]>;
  readonly attemptsLeft?: number;

  constructor(status: number, body: Record<string, unknown>) {
    super(typeof body.error === "string" ? body.error : `HTTP ${status}`);
    this.name = "CheershareError";
    this.status = status;
    this.code = typeof body.code === "string" ? body.code : "unknown";
    if (typeof body.retry_after === "number") this.retryAfter = body.retry_after;
    if (typeof body.attempts_left === "number") this.attemptsLeft = body.attempts_left;
    if (body.fields && typeof body.fields === "object") this.fields = body.fields as Record<string, string[]>;
  }
}

/** The server could not be reached (after the retries). */
export class NetworkError extends Error {
  constructor(cause: unknown) {
    super("The server could not be reached.");
    this.name = "NetworkError";
    (this as { cause?: unknown }).cause = cause;
  }
}
