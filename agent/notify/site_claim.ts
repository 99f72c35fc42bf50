/**
 * Site-scope dedupe claims at the collector (`POST /api/v1/dedupe`): a
 * relay webhook with `dedupe_scope = "site"` claims each post's dedupe key
 * there before queuing it, so two workstations of one FC posting the same
 * message deliver it once. The caller falls back to its own dedupe when
 * this throws (the collector did not answer).
 *
 * @module
 */
import { collectorEndpoints, isReplicaFailure } from "../uplink/endpoints.ts";
import { dedupeResponseSchema } from "../../shared/protocol.ts";
import { type Clock, systemClock } from "../clock.ts";
import type { ResolvedCollectorLink } from "../../shared/agent_config/types.ts";
import { formatDuration } from "../../shared/config/units.ts";

/** What {@linkcode SiteClaims} needs. */
export interface SiteClaimsDeps {
  config: ResolvedCollectorLink;
  /** This agent's host (sent as `?host=`). */
  host: string;
  /** Default the global fetch. */
  fetch?: typeof fetch;
  clock?: Clock;
}

/** Claims are answered within this, or the caller falls back to local dedupe. */
const MAX_WAIT_MS = 3000;

/** Claims dedupe keys site-wide at the collector; see the module comment. */
export class SiteClaims {
  #deps: SiteClaimsDeps;
  #fetch: typeof fetch;
  #clock: Clock;

  constructor(deps: SiteClaimsDeps) {
    this.#deps = deps;
    this.#fetch = deps.fetch ?? fetch;
    this.#clock = deps.clock ?? systemClock;
  }

  /**
   * True when this agent got the claim of `key` for `windowMs`, false when
   * another agent of the site (or this one) claimed it within its window.
   *
   * @throws {Error} when the collector does not answer or refuses.
   */
  async claim(key: string, windowMs: number): Promise<boolean> {
    const { config, host } = this.#deps;
    const timeoutMs = Math.min(config.timeoutMs, MAX_WAIT_MS);
    const endpoints = collectorEndpoints(config);
    const base = endpoints.current;
    const abort = new AbortController();
    const done = new AbortController();
    this.#clock.sleep(timeoutMs, done.signal).then(() => {
      if (!done.signal.aborted) {
        abort.abort(new Error(`no answer within ${formatDuration(timeoutMs)}`));
      }
    });
    try {
      const res = await this.#fetch(
        new URL(`api/v1/dedupe?host=${encodeURIComponent(host)}`, base),
        {
          method: "POST",
          headers: { authorization: `Bearer ${config.token}`, "content-type": "application/json" },
          body: JSON.stringify({ key, windowMs: Math.max(1000, Math.round(windowMs)) }),
          signal: abort.signal,
        },
      );
      if (!res.ok) {
        if (isReplicaFailure(res.status)) endpoints.failed(base);
        const text = (await res.text().catch(() => "")).trim().slice(0, 200);
        throw new Error(`HTTP ${res.status}${text ? `: ${text}` : ""}`);
      }
      return dedupeResponseSchema.parse(await res.json()).claimed;
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith("HTTP "))) endpoints.failed(base);
      if (abort.signal.aborted && abort.signal.reason instanceof Error) throw abort.signal.reason;
      throw error;
    } finally {
      done.abort();
    }
  }
}
