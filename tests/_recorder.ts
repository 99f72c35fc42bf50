/** A local HTTP server standing in for a chat provider: it records every request. */

/** One request as the provider saw it. */
export interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** A recording server on 127.0.0.1; `status` decides what it answers. */
export class Recorder implements AsyncDisposable {
  readonly requests: Recorded[] = [];
  status = 200;
  #abort = new AbortController();
  #server: Deno.HttpServer<Deno.NetAddr>;
  #waiters: { n: number; resolve: () => void }[] = [];

  constructor(port = 0) {
    this.#server = Deno.serve({
      hostname: "127.0.0.1",
      port,
      signal: this.#abort.signal,
      onListen() {},
    }, async (req) => {
      const url = new URL(req.url);
      this.requests.push({
        method: req.method,
        path: url.pathname + url.search,
        headers: Object.fromEntries(req.headers),
        body: await req.text(),
      });
      for (const w of this.#waiters.filter((w) => this.requests.length >= w.n)) w.resolve();
      return new Response(this.status === 200 ? "ok" : "nope", { status: this.status });
    });
  }

  /** The URL of `path` on this server. */
  url(path = "/hook"): string {
    return `http://127.0.0.1:${this.#server.addr.port}${path}`;
  }

  /** The port it listens on. */
  get port(): number {
    return this.#server.addr.port;
  }

  /** Resolves once `n` requests arrived; rejects after `timeoutMs`. */
  received(n: number, timeoutMs = 30_000): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`only ${this.requests.length} of ${n} requests within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  async [Symbol.asyncDispose]() {
    this.#abort.abort();
    await this.#server.finished;
  }
}
