/**
 * The collector's addresses when it runs as several replicas
 * (`[collector] url = ["https://a/", "https://b/"]`): every request goes to
 * the current one; a request that gets no answer, or a 5xx, moves everyone on
 * to the next (in a ring), so the ingest, the commands long-poll, site leases
 * and dedupe claims follow one another. Nothing depends on which replica
 * answers: they share one store.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";

const log = getLogger(["scriptmon", "collector"]);

/** The addresses of one `[collector]` table and the one in use. */
export class CollectorEndpoints {
  readonly urls: readonly string[];
  #at = 0;

  constructor(urls: readonly string[]) {
    if (urls.length === 0) throw new RangeError("A collector needs at least one URL");
    this.urls = urls;
  }

  /** The address requests go to now. */
  get current(): string {
    return this.#at < this.urls.length ? this.urls[this.#at] : this.urls[0];
  }

  /**
   * A request to `url` got no answer (or a 5xx): the next address is used from now on. A late
   * report about an address no longer current changes nothing.
   */
  failed(url: string): void {
    if (this.urls.length < 2 || url !== this.current) return;
    this.#at = (this.#at + 1) % this.urls.length;
    log.warn("The collector {url} did not answer; the agent uses {next} from now on", {
      url,
      next: this.current,
    });
  }
}

const shared = new Map<string, CollectorEndpoints>();

/**
 * The endpoints of `link`, one object per list of URLs in the process, so that
 * every part of the agent moves on together.
 */
export function collectorEndpoints(link: { urls: readonly string[] }): CollectorEndpoints {
  const key = link.urls.join(" ");
  let endpoints = shared.get(key);
  if (endpoints === undefined) shared.set(key, endpoints = new CollectorEndpoints(link.urls));
  return endpoints;
}

/** Whether an HTTP status means "try another replica" (a proxy's or a dying server's). */
export function isReplicaFailure(status: number): boolean {
  return status >= 500;
}
