/**
 * The CLI's side of the local API: finds the running agent of a data dir
 * (its lock holder file names the port) and calls it with the control secret.
 */
import { readLockHolder } from "../supervise/instance_lock.ts";
import { readControlSecret } from "./control_secret.ts";
import type { ScriptStatus } from "../supervise/state.ts";
import type { StatusBody } from "./status.ts";
import type { Silence } from "../../shared/notify/silences.ts";
import type { MessageRecord } from "../../shared/notify/types.ts";

/** No agent is running for this data dir, or it did not answer. */
export class AgentUnreachableError extends Error {
  override name = "AgentUnreachableError";
}

/** The agent answered a request with an error; the message is the agent's own. */
export class AgentRefusedError extends Error {
  override name = "AgentRefusedError";
}

/** Talks to the agent running on `dataDir`. */
export class ControlClient {
  #base: string;
  #secret: string | null;

  private constructor(base: string, secret: string | null) {
    this.#base = base;
    this.#secret = secret;
  }

  /** Finds the running agent of `dataDir`; throws AgentUnreachableError when there is none. */
  static async connect(dataDir: string): Promise<ControlClient> {
    const holder = await readLockHolder(dataDir);
    if (!holder || holder.mode !== "run" || typeof holder.apiPort !== "number") {
      throw new AgentUnreachableError(
        `No scriptmon agent is running with data dir ${dataDir} (start one with \`scriptmon-agent run\`)`,
      );
    }
    return new ControlClient(
      `http://127.0.0.1:${holder.apiPort}`,
      await readControlSecret(dataDir),
    );
  }

  /** `GET /api/status`. */
  status(): Promise<StatusBody> {
    return this.#call("GET", "/api/status");
  }

  /**
   * Starts, stops or restarts one script, `all`, or those a glob matches;
   * resolves with their status when the agent has done it.
   */
  control(
    action: "start" | "stop" | "restart",
    name: string,
  ): Promise<{ ok: boolean; scripts: ScriptStatus[] }> {
    return this.#call("POST", `/api/scripts/${encodeURIComponent(name)}/${action}`);
  }

  /** The notification history, newest first. */
  notifications(
    filter: { since?: string; state?: string; channel?: string; limit?: number },
  ): Promise<{ messages: MessageRecord[]; counts: Record<string, number> }> {
    const query = new URLSearchParams(
      Object.entries(filter).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]),
    );
    return this.#call("GET", `/api/notifications?${query}`);
  }

  /** Active silences (config and runtime). */
  silences(): Promise<{ silences: Silence[] }> {
    return this.#call("GET", "/api/silences");
  }

  /** Adds a runtime silence. */
  addSilence(request: Record<string, unknown>): Promise<{ silence: Silence }> {
    return this.#call("POST", "/api/silences", request);
  }

  /** Removes a runtime silence. */
  removeSilence(id: string): Promise<unknown> {
    return this.#call("DELETE", `/api/silences/${encodeURIComponent(id)}`);
  }

  /** Asks the agent to re-read its config. */
  reload(): Promise<{ ok: boolean; agent: StatusBody["agent"] }> {
    return this.#call("POST", "/api/reload");
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    const headers: Record<string, string> = this.#secret
      ? { authorization: `Bearer ${this.#secret}` }
      : {};
    if (body !== undefined) headers["content-type"] = "application/json";
    try {
      res = await fetch(this.#base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(120_000),
      });
    } catch (error) {
      throw new AgentUnreachableError(
        `The agent at ${this.#base} did not answer ${method} ${path}: ${(error as Error).message}`,
      );
    }
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) throw new AgentRefusedError(answer.error ?? `the agent answered ${res.status}`);
    return answer as T;
  }
}
