/**
 * The central config this agent got from its collector: the fleet's, its
 * site's and its own documents, merged over the local file at every load.
 * A version offered in an ingest answer waits as `pending` until the next
 * reload tries it: applied, it replaces the last good one and is kept in the
 * agent's store (sealed under the store key), so the agent starts with it
 * when the collector is away; refused, the last good one stays and the
 * collector hears why.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { decryptSecret, encryptSecret } from "../../shared/config/secrets.ts";
import type {
  CentralConfigState,
  CentralConfigWire,
  ConfigLayerWire,
} from "../../shared/protocol.ts";
import type { KvHandle } from "../../shared/kv/handle.ts";
import type { ResolvedAgentConfig } from "../../shared/agent_config/mod.ts";
import { storeKey } from "../../shared/config/store_key.ts";
import { loadConfig } from "./load.ts";

const log = getLogger(["scriptmon", "agent", "config"]);

/** Where the last applied version is kept. */
const KEY = ["central_config"];

interface Saved {
  version: number;
  /** Each layer's name and its text sealed under the store key. */
  layers: { name: string; sealed: string }[];
}

/** The central config versions of this agent: applied, offered, refused. */
export class CentralLayers {
  #kv: KvHandle;
  #key: Uint8Array;
  #applied: CentralConfigWire | null = null;
  #pending: CentralConfigWire | null = null;
  #refused: { version: number; message: string } | null = null;
  #onOffer: () => void;

  /** `onOffer` is called when a new version waits to be tried (the agent reloads). */
  constructor(deps: { kv: KvHandle; key: Uint8Array; onOffer: () => void }) {
    this.#kv = deps.kv;
    this.#key = deps.key;
    this.#onOffer = deps.onOffer;
  }

  /** Reads the last applied version from the store; a copy that cannot be read is dropped. */
  async load(): Promise<void> {
    const saved = (await this.#kv.get<Saved>(KEY)).value;
    if (saved === null) return;
    try {
      this.#applied = {
        version: saved.version,
        layers: saved.layers.map((l) => ({
          name: l.name,
          text: decryptSecret(l.sealed, this.#key),
        })),
      };
    } catch (error) {
      log.error("Cannot read the stored central config v{version}: {error}; starting without", {
        version: saved.version,
        error,
      });
    }
  }

  /** The version to try at the next load: the pending one, else the applied one. */
  get candidate(): CentralConfigWire | null {
    return this.#pending ?? this.#applied;
  }

  /** The last version applied. */
  get applied(): CentralConfigWire | null {
    return this.#applied;
  }

  /** What the collector is told. */
  state(): CentralConfigState {
    return {
      version: this.#applied?.version ?? null,
      ...(this.#refused === null ? {} : { refused: this.#refused }),
      ...(this.#pending === null ? {} : { pending: this.#pending.version }),
    };
  }

  /** A version from the collector: kept to try, unless it is known already. */
  offer(config: CentralConfigWire): void {
    const known = [this.#applied?.version, this.#pending?.version, this.#refused?.version];
    if (known.includes(config.version)) return;
    log.info("Central config v{version} from the collector: applying it", {
      version: config.version,
    });
    this.#pending = config;
    this.#onOffer();
  }

  /** The candidate loaded: it is the applied version now, kept in the store. */
  async accept(config: CentralConfigWire): Promise<void> {
    if (this.#pending?.version === config.version) this.#pending = null;
    if (this.#refused !== null && this.#refused.version <= config.version) this.#refused = null;
    if (this.#applied?.version === config.version) return;
    this.#applied = config;
    const saved: Saved = {
      version: config.version,
      layers: config.layers.map((l: ConfigLayerWire) => ({
        name: l.name,
        sealed: encryptSecret(l.text, this.#key),
      })),
    };
    await this.#kv.set(KEY, saved);
  }

  /** The candidate did not load: the last good version stays; the collector hears why. */
  refuse(config: CentralConfigWire, message: string): void {
    if (this.#pending?.version === config.version) this.#pending = null;
    this.#refused = { version: config.version, message: message.slice(0, 4000) };
    if (this.#applied?.version === config.version) {
      // The stored version itself no longer loads over the local file: run the file alone.
      this.#applied = null;
      void this.#kv.delete(KEY);
    }
  }
}

/**
 * `config` with the central config version last applied in the agent's store merged in (for
 * `once`, which does not talk to the collector); `config` itself when there is none, or when the
 * file no longer loads with it (logged).
 */
export async function withStoredCentral(
  config: ResolvedAgentConfig,
  kv: KvHandle,
): Promise<ResolvedAgentConfig> {
  if (config.collector === undefined) return config;
  const central = new CentralLayers({
    kv,
    key: await storeKey(config.agent.dataDir, Deno),
    onOffer: () => {},
  });
  await central.load();
  const applied = central.applied;
  if (applied === null) return config;
  try {
    const loaded = await loadConfig(config.path, {
      envName: config.envName,
      layers: applied.layers,
    });
    return { ...loaded, agent: config.agent };
  } catch (error) {
    log.error("The config file no longer loads with central config v{version}: {error}", {
      version: applied.version,
      error,
    });
    return config;
  }
}
