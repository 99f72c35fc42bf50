/**
 * The agent's notifications: watches the scripts' conditions, lets the
 * alert policy decide what goes out when (grouping, flap suppression,
 * repeats, silences, business hours), and hands every message to the
 * durable outbox, which delivers it once. Also the relay for the scripts'
 * own webhook posts, and the runtime silences of the CLI.
 */
import { getLogger } from "@logtape/logtape";
import { createChannel } from "../../shared/notify/channels/mod.ts";
import { Outbox } from "../../shared/notify/outbox.ts";
import { queueDue } from "../../shared/notify/queue_due.ts";
import { AlertPolicy, type PolicyOutput } from "../../shared/notify/policy.ts";
import type { Silence } from "../../shared/notify/silences.ts";
import type { Channel, MessageState } from "../../shared/notify/types.ts";
import type { ResolvedWebhook } from "../../shared/notify/webhook_schema.ts";
import type { ResolvedNotifyPolicy } from "../../shared/notify/policy_schema.ts";
import { agentConditions, type Condition, scriptFacts, tokenFacts } from "./alert_rules.ts";
import { scriptConditions } from "../../shared/notify/alert_rules.ts";
import {
  tokenConditions,
  type TokenFacts,
  tokenWarnings,
} from "../../shared/notify/alert_rules_tokens.ts";
import type { TokenSummary } from "../../shared/protocol.ts";
import { toScriptSummary, toTokenSummary } from "../uplink/ingest_body.ts";
import type { AgentInfo } from "../local_api/status.ts";
import type { Clock } from "../clock.ts";
import type { ResolvedAgentConfig } from "../../shared/agent_config/types.ts";
import type { EventLog } from "../supervise/event_log.ts";
import { relayKey } from "./relay_key.ts";
import type { Supervisor } from "../supervise/supervisor.ts";
import type { TokenManager } from "../tokens/manager.ts";
import type { KvHandle } from "../../shared/kv/handle.ts";

/** A relay or silence request named a webhook the config does not have. */
export class UnknownWebhookError extends Error {
  override name = "UnknownWebhookError";
  /** The names that do exist. */
  readonly known: string[];

  constructor(name: string, known: string[]) {
    super(`No webhook named "${name}" in the config (known: ${known.join(", ") || "none"})`);
    this.known = known;
  }
}

/** What the notifier needs from the agent. */
export interface NotifierDeps {
  kv: KvHandle;
  config: ResolvedAgentConfig;
  supervisor: Supervisor;
  events: EventLog;
  clock: Clock;
  info: () => AgentInfo;
  fetch?: typeof fetch;
  /** PEM CA certificates per email webhook (read from its `ca_file`). */
  caCerts?: Record<string, string[]>;
  /** Site-wide claims for webhooks with `dedupe_scope = "site"` (needs `[collector]`). */
  siteClaims?: { claim(key: string, windowMs: number): Promise<boolean> };
  /** Machine-wide claims for webhooks with `dedupe_scope = "machine"` (`machine_dedupe.ts`). */
  machineClaims?: { claim(key: string, windowMs: number): Promise<boolean> };
  /** The tokens: their conditions and their once-per-lead-time warnings. */
  tokens?: Pick<TokenManager, "status" | "subscribe">;
}

/** What survives a restart: the policy's episodes and the conditions then firing. */
interface Saved {
  policy: unknown;
  firing: Condition[];
}

const log = getLogger(["scriptmon", "notify"]);
const SNAPSHOT_KEY = ["notify", "policy"];
const SILENCE_PREFIX = ["notify", "silence"];
/**
 * The longest the notifier sleeps without a reason. Every state and check change pokes it and
 * it wakes for the policy's next due time and the next silence end, so the sweep only catches
 * what changes with time alone (business hours opening); a shorter one was the idle agent's most
 * frequent wake-up.
 */
const SWEEP_MS = 30_000;
/**
 * How long the changes after a first one are gathered into one evaluation. Each evaluation looks
 * at every script; a crash loop changes a state several times a start, and at 20 ms the
 * evaluations and their timers were a tenth of its cost (bench/README.md). A quarter of a second
 * is nothing to an alert.
 */
const SETTLE_MS = 250;
/** Stderr lines an alert carries (each cut at 300 characters). */
const STDERR_LINES = 10;
/** The policy snapshot must fit one KV value (64 KiB) with room to spare. */
const SNAPSHOT_LIMIT = 60_000;
/** Idempotency keys are remembered this long, whatever the webhook's dedupe_window. */
const IDEMPOTENCY_WINDOW_MS = 24 * 3600_000;

/** The token warnings' policy: the routes and silences of `notify`, each sent at once and once. */
function noticeSettings(notify: ResolvedNotifyPolicy): ResolvedNotifyPolicy {
  return {
    ...notify,
    groupWaitMs: 0,
    forMs: 0,
    forRuleMs: {},
    repeatIntervalMs: Number.MAX_SAFE_INTEGER,
    sendResolved: false,
  };
}

/** The agent's notifications; see the module comment. */
export class Notifier {
  #deps: NotifierDeps;
  #channels = new Map<string, Channel>();
  #outbox: Outbox;
  #policy!: AlertPolicy;
  /** Routes and silences for the token warnings: each goes out once, never repeated or resolved. */
  #notices!: AlertPolicy;
  /** Warnings already handed to the outbox by this process (the outbox dedupes across restarts). */
  #warned = new Set<string>();
  #silences: Silence[] = [];
  #firing = new Map<string, Condition>();
  /** The scopes whose claims failed the last time one was tried (the collector, the keeper). */
  #claimsDown = new Set<"site" | "machine">();
  #stop = new AbortController();
  #wake: AbortController | null = null;
  #loop: Promise<void> | null = null;
  #unsubscribe: (() => void) | null = null;
  #dirty = false;
  #unqueued: PolicyOutput[] = [];

  constructor(deps: NotifierDeps) {
    this.#deps = deps;
    for (const [name, webhook] of Object.entries(deps.config.webhooks)) {
      this.#channels.set(name, this.#channel(name, webhook, deps.caCerts?.[name]));
    }
    this.#outbox = new Outbox(deps.kv, {
      channels: this.#channels,
      clock: deps.clock,
      // The current config's (reconfigure() replaces it); read again when a channel is replaced.
      channelPolicy: (name) => {
        const w = this.#deps.config.webhooks[name];
        return {
          maxAgeMs: w?.maxAgeMs ?? 86_400_000,
          onUncertain: w?.onUncertain ?? "skip",
          ...(w?.rateLimit ? { rateLimit: w.rateLimit } : {}),
        };
      },
    });
  }

  #channel(name: string, webhook: ResolvedWebhook, caCerts: string[] | undefined): Channel {
    return createChannel(name, webhook, {
      fetch: this.#deps.fetch ?? fetch,
      connect: Deno.connect,
      startTls: Deno.startTls,
      caCerts,
    });
  }

  /** The outbox, for listing the history. */
  get outbox(): Outbox {
    return this.#outbox;
  }

  /**
   * Applies a reloaded config without a restart. A webhook whose settings (or CA certificates)
   * changed gets a new channel, used from its next attempt (one in flight finishes on the old);
   * a new webhook gets one; a removed one's queued messages wait in the KV until it comes back.
   * Routes, silences and waits apply from the next evaluation, and relay() knows the new names.
   * `caCerts`: the PEM certificates per webhook of `config` (read again for a changed
   * `ca_file`); default, those the notifier was built with.
   */
  reconfigure(config: ResolvedAgentConfig, caCerts?: Record<string, string[]>): void {
    // Before start() there is no policy yet: start() reads the config then.
    if (this.#policy !== undefined) {
      this.#policy.reconfigure(config.notify);
      this.#notices.reconfigure(noticeSettings(config.notify));
    }
    const before = { webhooks: this.#deps.config.webhooks, caCerts: this.#deps.caCerts };
    const certs = caCerts ?? before.caCerts;
    const channels = new Map<string, Channel>();
    for (const [name, webhook] of Object.entries(config.webhooks)) {
      const kept = this.#channels.get(name);
      const same = JSON.stringify([before.webhooks[name], before.caCerts?.[name]]) ===
        JSON.stringify([webhook, certs?.[name]]);
      channels.set(name, kept && same ? kept : this.#channel(name, webhook, certs?.[name]));
    }
    // The outbox reads each replaced channel's policy from the config here.
    this.#deps = { ...this.#deps, config, ...(certs ? { caCerts: certs } : {}) };
    this.#channels = channels;
    this.#outbox.setChannels(channels);
    this.#poke();
  }

  /** Restores the policy's state, starts delivery and watching. */
  async start(): Promise<void> {
    const { kv, events } = this.#deps;
    const saved = (await kv.get<Saved>(SNAPSHOT_KEY)).value;
    // Read after the wait: a reconfigure() meanwhile found no policy to give its config to.
    const { config } = this.#deps;
    const options = { silences: () => this.#activeSilences() };
    this.#policy = saved
      ? AlertPolicy.restore(config.notify, saved.policy, options)
      : new AlertPolicy(config.notify, options);
    this.#notices = new AlertPolicy(noticeSettings(config.notify), options);
    // Conditions that were firing when the agent stopped: they resolve if they cleared meanwhile.
    this.#firing = new Map((saved?.firing ?? []).map((c) => [c.key, c]));
    for await (const entry of kv.list<Silence>({ prefix: SILENCE_PREFIX })) {
      this.#silences.push(entry.value);
    }
    this.#outbox.start();
    const offEvents = events.subscribe((e) => {
      if (e.kind === "state" || e.kind === "check") this.#poke();
    });
    const offTokens = this.#deps.tokens?.subscribe(() => this.#poke());
    this.#unsubscribe = () => {
      offEvents();
      offTokens?.();
    };
    this.#loop = this.#run();
  }

  /**
   * Relays a script's own post to `webhook`; a duplicate is not queued again.
   * `dedupe: "agent"` says a site-scoped webhook's claim could not be made at
   * the collector, so the post was deduplicated on this agent only.
   */
  async relay(
    webhook: string,
    body: string,
    contentType: string,
    idempotencyKey?: string | null,
  ): Promise<{ id: string; duplicate: boolean; dedupe?: "agent" }> {
    const spec = this.#deps.config.webhooks[webhook];
    if (!spec) throw new UnknownWebhookError(webhook, Object.keys(this.#deps.config.webhooks));
    const dedupeKey = await relayKey(webhook, body, contentType, idempotencyKey);
    const dedupeWindowMs = idempotencyKey ? IDEMPOTENCY_WINDOW_MS : spec.dedupeWindowMs;
    const scope = spec.dedupeScope;
    const claims = scope === "site"
      ? this.#deps.siteClaims
      : scope === "machine"
      ? this.#deps.machineClaims
      : undefined;
    if (scope !== undefined && claims) {
      const where = scope === "site" ? "site-wide" : "machine-wide";
      try {
        // Another agent relays it: the answer's id is then the dedupe key.
        const claimed = await claims.claim(dedupeKey, dedupeWindowMs);
        if (this.#claimsDown.delete(scope)) {
          log.info("{where} claims of relayed posts work again", { where });
        }
        if (!claimed) return { id: dedupeKey, duplicate: true };
      } catch (error) {
        // Once per outage, not once per post: the answers say it every time.
        if (!this.#claimsDown.has(scope)) {
          this.#claimsDown.add(scope);
          log.warn(
            "Cannot claim posts to {webhook} {where} ({error}); deduplicating relayed posts on " +
              "this agent only until {who} answers again",
            {
              webhook,
              where,
              who: scope === "site" ? "the collector" : "the machine's keeper",
              error: error instanceof Error ? error.message : String(error),
            },
          );
        }
        const queued = await this.#enqueueRelay(
          webhook,
          body,
          contentType,
          dedupeKey,
          dedupeWindowMs,
        );
        return { ...queued, dedupe: "agent" };
      }
    }
    return await this.#enqueueRelay(webhook, body, contentType, dedupeKey, dedupeWindowMs);
  }

  #enqueueRelay(
    webhook: string,
    body: string,
    contentType: string,
    dedupeKey: string,
    dedupeWindowMs: number | undefined,
  ): Promise<{ id: string; duplicate: boolean }> {
    return this.#outbox.enqueue({
      channel: webhook,
      dedupeKey,
      dedupeWindowMs,
      payload: { type: "relay", post: { body, contentType } },
    });
  }

  /** The message history, newest first. */
  list(filter: { since?: string; state?: MessageState; channel?: string; limit?: number }) {
    return this.#outbox.list(filter);
  }

  /** Adds a runtime silence (kept in KV until it expires). */
  async addSilence(silence: Silence): Promise<Silence> {
    await this.#deps.kv.set([...SILENCE_PREFIX, silence.id], silence, {
      expireIn: Math.max(1000, Date.parse(silence.until) - this.#deps.clock.now()),
    });
    const now = this.#deps.clock.now();
    // Expired ones go as a new one comes (they are only ignored when read).
    this.#silences = [
      ...this.#silences.filter((s) => s.id !== silence.id && Date.parse(s.until) > now),
      silence,
    ];
    log.info("Silence {id} added until {until}", { id: silence.id, until: silence.until });
    return silence;
  }

  /** Removes a runtime silence; false when there was none with that id. */
  async removeSilence(id: string): Promise<boolean> {
    const existed = this.#silences.some((s) => s.id === id);
    await this.#deps.kv.delete([...SILENCE_PREFIX, id]);
    this.#silences = this.#silences.filter((s) => s.id !== id);
    return existed;
  }

  /** Config and runtime silences that have not expired. */
  silences(): Silence[] {
    return this.#activeSilences();
  }

  #activeSilences(): Silence[] {
    const now = this.#deps.clock.now();
    return [...this.#deps.config.notify.silences, ...this.#silences]
      .filter((s) => Date.parse(s.until) > now);
  }

  /** Something changed: look again soon (coalesced). */
  #poke(): void {
    this.#dirty = true;
    this.#wake?.abort();
  }

  async #run(): Promise<void> {
    const { clock } = this.#deps;
    while (!this.#stop.signal.aborted) {
      try {
        await this.#evaluate();
      } catch (error) {
        log.error("Alert evaluation failed: {error}", { error });
      }
      const now = clock.now();
      const wakeAt = Math.min(
        this.#policy.nextWakeAt() ?? Infinity,
        ...this.#activeSilences().map((s) => Date.parse(s.until)),
      );
      const wait = Math.max(0, Math.min(SWEEP_MS, wakeAt - now));
      if (this.#dirty) {
        this.#dirty = false;
        continue;
      }
      this.#wake = new AbortController();
      const signal = AbortSignal.any([this.#wake.signal, this.#stop.signal]);
      await clock.sleep(wait, signal);
      this.#wake = null;
      // Let a burst of events settle into one evaluation.
      if (this.#dirty && !this.#stop.signal.aborted) {
        await clock.sleep(SETTLE_MS, this.#stop.signal);
      }
      this.#dirty = false;
    }
  }

  /** Observes every condition, resolves the ones that cleared, enqueues what is due. */
  async #evaluate(): Promise<void> {
    const { supervisor, config, clock } = this.#deps;
    const now = clock.now();
    const agent = this.#deps.info();
    const ctx = { site: agent.site, host: agent.host, link: config.notify.link, now };
    const current = new Map<string, Condition>();
    /** Scripts outside their active hours (stopped or run unwatched): their alerts are held. */
    const held = new Set<string>();
    for (const status of supervisor.status()) {
      if (status.offHours === "stop" || status.offHours === "run") held.add(status.name);
      // The runner holds the script's current config (hot reload replaces it).
      const runner = supervisor.get(status.name);
      const stderr = runner.recentLines.filter((l) => l.stream === "err").slice(-STDERR_LINES)
        .map((l) => l.line.slice(0, 300));
      // The rules the collector applies to the same summary, plus what only the agent knows.
      const facts = scriptFacts(runner.config, stderr);
      for (const c of scriptConditions(toScriptSummary(status), ctx, facts)) current.set(c.key, c);
    }
    for (const c of agentConditions(agent, ctx)) current.set(c.key, c);
    // The tokens likewise: the collector's rules over the summaries, plus what only the agent knows.
    const tokenStatus = this.#deps.tokens?.status() ?? [];
    const tokens = tokenStatus.map(toTokenSummary);
    const known = tokenFacts(tokenStatus);
    for (const c of tokenConditions(tokens, ctx, known)) current.set(c.key, c);
    for (const [key, condition] of current) this.#policy.observe(key, condition.alert, now);
    // A script outside its hours did not recover: what fired stays as it was until they open.
    const kept = new Map<string, Condition>();
    for (const [key, condition] of this.#firing) {
      if (!current.has(key) && held.has(condition.alert.script ?? "")) kept.set(key, condition);
      else if (!current.has(key)) {
        this.#policy.observe(key, {
          ...condition.alert,
          status: "resolved",
          at: new Date(now).toISOString(),
        }, now);
      }
    }
    for (const [key, condition] of kept) current.set(key, condition);
    const changed = current.size !== this.#firing.size ||
      [...current.keys()].some((k) => !this.#firing.has(k));
    this.#firing = current;
    // Outputs the policy gave out but the outbox did not take yet (KV busy): first.
    const due = [
      ...this.#unqueued,
      ...this.#policy.due(now),
      ...this.#tokenWarnings(tokens, known, ctx),
    ];
    this.#unqueued = await queueDue(this.#outbox, due);
    if (due.length > 0 || changed) await this.#save(current);
  }

  /** Each token warning not handed out yet, routed like an alert, keyed by token + lead + expiry. */
  #tokenWarnings(
    tokens: readonly TokenSummary[],
    known: ReadonlyMap<string, TokenFacts>,
    ctx: Parameters<typeof tokenWarnings>[1],
  ): PolicyOutput[] {
    const out: PolicyOutput[] = [];
    for (const warning of tokenWarnings(tokens, ctx, known)) {
      if (this.#warned.has(warning.dedupeKey)) continue;
      if (this.#warned.size >= 10_000) this.#warned.clear();
      this.#warned.add(warning.dedupeKey);
      this.#notices.observe(warning.key, warning.alert, ctx.now);
      for (const output of this.#notices.due(ctx.now)) {
        out.push({ ...output, dedupeKey: `${warning.dedupeKey}|${output.channel}` });
      }
      this.#notices.observe(warning.key, { ...warning.alert, status: "resolved" }, ctx.now);
    }
    return out;
  }

  /** Persists the policy's episodes and the firing conditions, within KV's 64 KiB. */
  async #save(current: Map<string, Condition>): Promise<void> {
    // Stderr tails are evidence for the messages, not state: leave them out.
    const strip = (_key: string, value: unknown) => (_key === "stderrTail" ? undefined : value);
    const saved = JSON.parse(JSON.stringify({
      policy: this.#policy.snapshot(),
      firing: [...current.values()],
    }, strip)) as Saved;
    const size = new TextEncoder().encode(JSON.stringify(saved)).length;
    if (size > SNAPSHOT_LIMIT) {
      log.warn("Alert state is {size} bytes, over {limit}: not saved this time", {
        size,
        limit: SNAPSHOT_LIMIT,
      });
      return;
    }
    await this.#deps.kv.set(SNAPSHOT_KEY, saved);
  }

  /** Stops watching and delivering; queued messages wait in KV for the next start. */
  async close(): Promise<void> {
    this.#stop.abort();
    this.#unsubscribe?.();
    await this.#loop;
    await this.#outbox.close();
  }
}
