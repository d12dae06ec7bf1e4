/**
 * An error meant for the API client: status, a stable code and a message safe to show.
 * Anything else that escapes a route is logged on the broker and answered with a bare 500.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Body of every error response: `{ "error": { "code", "message", … } }`. */
export interface ErrorBody {
  error: { code: string; message: string } & Record<string, unknown>;
}
