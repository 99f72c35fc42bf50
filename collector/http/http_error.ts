/** An error the collector answers with its own status and message (`app.onError`). */
export class HttpError extends Error {
  override name = "HttpError";
  /** The HTTP status to answer with (4xx, 502, 503 or 504). */
  readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 429 | 502 | 503 | 504;
  /** Extra response headers (e.g. `WWW-Authenticate`). */
  readonly headers: Record<string, string>;

  /** `message` is sent to the client as `{ error: message }`. */
  constructor(
    status: HttpError["status"],
    message: string,
    options: { cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause });
    this.status = status;
    this.headers = options.headers ?? {};
  }
}
