/**
 * Watches one token: reads it (on a timer and whenever its file changes),
 * validates it every `validate.interval`, runs its refresh command before it
 * expires or once it stopped working (backing off while the refresh fails),
 * learns its lifetime when it does not state one, and reports every change
 * of state. Its value stays inside this object and the validation request.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { registerSecret, unregisterSecret } from "../../shared/redact.ts";
import { formatDuration } from "../../shared/config/units.ts";
import type { Clock } from "../clock.ts";
import { runCommand } from "./_command.ts";
import { watchFile } from "../platform/watch_file.ts";
import { LifetimeModel } from "./lifetime.ts";
import { readToken, type TokenReading } from "./read.ts";
import { evaluateToken, nextBoundary, type TokenFacts, type TokenVerdict } from "./state.ts";
import type { RefreshStatus, ResolvedToken, TokenStatus } from "./types.ts";
import { redact, validateToken } from "./validate.ts";
import type { KvHandle } from "../../shared/kv/handle.ts";

/** What a monitor needs. */
export interface TokenMonitorDeps {
  clock: Clock;
  /** Where learned lifetimes are kept across restarts (none: memory only). */
  kv?: KvHandle;
  /** Told of every change of state (and of refresh results). */
  onChange: (status: TokenStatus, previous: Pick<TokenVerdict, "state" | "warning">) => void;
  /** Watch the file for changes besides re-reading it every check interval (default true). */
  watch?: boolean;
}

const KV_PREFIX = ["tokens", "lifetimes"];

/** One token; see the module comment. */
export class TokenMonitor {
  readonly token: ResolvedToken;
  #deps: TokenMonitorDeps;
  #log;
  #facts: TokenFacts = {
    reading: null,
    readError: null,
    validation: null,
    renewedAt: null,
    prediction: null,
  };
  #verdict: TokenVerdict;
  #model = new LifetimeModel();
  /** The current value already counted as a lifetime (or renewed before it failed). */
  #learned = false;
  /** Token values registered for redaction: the current one and the one before. */
  #secrets: string[] = [];
  #validatedAt: number | null = null;
  #lastExecReadAt: number | null = null;
  #refresh: RefreshStatus = {
    lastRunAt: null,
    lastOk: null,
    lastReason: null,
    failures: 0,
    nextTryAt: null,
    running: false,
  };
  #stop = new AbortController();
  #poke = new AbortController();
  #loop: Promise<void> | null = null;
  #unwatch: (() => void) | null = null;

  constructor(token: ResolvedToken, deps: TokenMonitorDeps) {
    this.token = token;
    this.#deps = deps;
    this.#log = getLogger(["scriptmon", "token", token.name]);
    this.#verdict = evaluateToken(token, this.#facts, deps.clock.now());
  }

  /** Loads learned lifetimes, makes the first check, then keeps watching. */
  async start(): Promise<void> {
    const saved = await this.#deps.kv?.get<number[]>([...KV_PREFIX, this.token.name]);
    this.#model = new LifetimeModel(saved?.value ?? []);
    this.#facts.prediction = this.#model.predict();
    // The first look only reads and validates: a refresh (which may take minutes) runs in the loop,
    // so the agent starts at once and the scripts that need the token wait for it meanwhile.
    await this.#tick({ refresh: false });
    if (this.token.file && this.#deps.watch !== false) this.#watch(this.token.file);
    if (this.#refreshDue()) this.poke();
    this.#loop = this.#run();
  }

  /** Look again now (a file change, a request). */
  poke(): void {
    this.#poke.abort();
  }

  /** Stops watching; a refresh under way is killed. */
  async close(): Promise<void> {
    this.#stop.abort();
    this.#unwatch?.();
    await this.#loop;
  }

  /** What is shown of the token. */
  status(): TokenStatus {
    const now = this.#deps.clock.now();
    // Live, so the time left and its words are current between checks.
    const v = evaluateToken(this.token, this.#facts, now);
    const validation = this.#facts.validation;
    return {
      name: this.token.name,
      format: this.token.format,
      state: v.state,
      reason: v.reason,
      expiresAt: v.expiresAt === null ? null : new Date(v.expiresAt).toISOString(),
      secondsLeft: v.expiresAt === null ? null : Math.round((v.expiresAt - now) / 1000),
      predicted: v.predicted,
      confidence: v.confidence,
      warning: v.warning,
      usedBy: this.token.usedBy,
      validatedAt: this.#validatedAt === null ? null : new Date(this.#validatedAt).toISOString(),
      validationOk: validation?.ok ?? null,
      refresh: this.token.refresh ? { ...this.#refresh } : null,
      renewedAt: this.#facts.renewedAt === null
        ? null
        : new Date(this.#facts.renewedAt).toISOString(),
    };
  }

  async #run(): Promise<void> {
    const { clock } = this.#deps;
    while (!this.#stop.signal.aborted) {
      const now = clock.now();
      const wakes = [
        now + this.token.checkIntervalMs,
        nextBoundary(this.token, this.#verdict.expiresAt, now),
        this.#refresh.nextTryAt === null ? null : Date.parse(this.#refresh.nextTryAt),
        this.token.validate && this.#validatedAt !== null
          ? this.#validatedAt + this.token.validate.intervalMs
          : null,
      ].filter((t): t is number => t !== null);
      const wait = Math.max(0, Math.min(...wakes) - now);
      if (!this.#poke.signal.aborted) {
        await clock.sleep(wait, AbortSignal.any([this.#stop.signal, this.#poke.signal]));
      }
      this.#poke = new AbortController();
      if (this.#stop.signal.aborted) return;
      try {
        await this.#tick();
      } catch (error) {
        this.#log.error("Checking token {token} failed: {error}", {
          token: this.token.name,
          error: String(error),
        });
      }
    }
  }

  /** Reads, validates, maybe refreshes, and reports a change. */
  async #tick(options: { refresh?: boolean } = {}): Promise<void> {
    await this.#read();
    await this.#validateIfDue();
    this.#evaluate();
    if (options.refresh !== false && this.#refreshDue()) await this.#runRefresh();
  }

  async #read(): Promise<void> {
    const now = this.#deps.clock.now();
    if (this.token.format === "exec" && this.#lastExecReadAt !== null) {
      if (now - this.#lastExecReadAt < this.token.checkIntervalMs) return;
    }
    this.#lastExecReadAt = now;
    let reading: TokenReading | null = null;
    try {
      reading = await readToken(this.token);
      this.#facts.readError = null;
    } catch (error) {
      this.#facts.readError = error instanceof Error ? error.message : String(error);
    }
    const before = this.#facts.reading;
    if (reading === null) {
      this.#facts.reading = null;
      return;
    }
    const changed = before === null || before.value !== reading.value ||
      before.expiresAt !== reading.expiresAt || before.mtime !== reading.mtime;
    this.#facts.reading = reading;
    // The value is a secret wherever it might show (an error, a log line, an ingest); the
    // current and the previous value stay registered, older ones are forgotten.
    if (reading.value !== null && this.#secrets.at(-1) !== reading.value) {
      registerSecret(reading.value);
      this.#secrets.push(reading.value);
      if (this.#secrets.length > 2) unregisterSecret(this.#secrets.shift());
    }
    if (!changed) return;
    if (before !== null) {
      // A new value: whatever the old one was, it is gone; validate the new one at once.
      this.#log.info("Token {token} was renewed", { token: this.token.name });
      this.#facts.renewedAt = now;
    } else this.#facts.renewedAt ??= reading.issuedAt ?? now;
    if (before !== null && this.#refresh.failures > 0 && !this.#refresh.running) {
      // Renewed by hand while the refresh was failing: try the command afresh next time.
      this.#refresh = { ...this.#refresh, failures: 0, nextTryAt: null };
    }
    this.#facts.validation = null;
    this.#validatedAt = null;
    this.#learned = false;
  }

  async #validateIfDue(): Promise<void> {
    const validate = this.token.validate;
    const reading = this.#facts.reading;
    if (!validate || reading === null) return;
    const now = this.#deps.clock.now();
    if (this.#validatedAt !== null && now - this.#validatedAt < validate.intervalMs) return;
    const result = await validateToken(validate, reading.value, { signal: this.#stop.signal });
    if (this.#stop.signal.aborted) return;
    this.#validatedAt = this.#deps.clock.now();
    if (result.unavailable) {
      // No verdict (the check's server is away): the token is not called invalid for it,
      // nothing is learned from it, and the check is tried again at its interval.
      this.#log.warn("Token {token} could not be validated: {reason}", {
        token: this.token.name,
        reason: result.reason,
      });
      return;
    }
    const was = this.#facts.validation;
    this.#facts.validation = result;
    if (!result.ok && (was === null || was.ok)) {
      this.#log.warn("Token {token} failed validation: {reason}", {
        token: this.token.name,
        reason: result.reason,
      });
      await this.#learnLifetime(this.#validatedAt);
    }
  }

  /** The current value stopped working at `at`: one observed lifetime (when it states none). */
  async #learnLifetime(at: number): Promise<void> {
    const reading = this.#facts.reading;
    if (this.#learned || reading === null || reading.expiresAt !== null) return;
    this.#learned = true;
    const start = reading.issuedAt ?? this.#facts.renewedAt;
    if (start === null || !this.#model.observe(at - start)) return;
    this.#facts.prediction = this.#model.predict();
    await this.#deps.kv?.set([...KV_PREFIX, this.token.name], this.#model.observations())
      .catch((error) => this.#log.warn("Cannot save the learned lifetime: {error}", { error }));
  }

  #evaluate(): void {
    const previous = this.#verdict;
    this.#verdict = evaluateToken(this.token, this.#facts, this.#deps.clock.now());
    const next = this.status();
    if (next.state !== previous.state || next.warning !== previous.warning) {
      const level = next.state === "valid" ? "info" : "warn";
      this.#log[level]("Token {token}: {from} → {state} ({reason})", {
        token: this.token.name,
        from: previous.state,
        state: next.state,
        reason: next.reason,
      });
      this.#deps.onChange(next, previous);
    }
  }

  #refreshDue(): boolean {
    const refresh = this.token.refresh;
    if (!refresh || this.#refresh.running || this.#stop.signal.aborted) return false;
    const now = this.#deps.clock.now();
    if (this.#refresh.nextTryAt !== null && now < Date.parse(this.#refresh.nextTryAt)) {
      return false;
    }
    const v = this.#verdict;
    if (v.state === "expired" || v.state === "invalid") return true;
    return v.expiresAt !== null && now >= v.expiresAt - refresh.beforeMs;
  }

  async #runRefresh(): Promise<void> {
    const refresh = this.token.refresh!;
    const { clock } = this.#deps;
    const oldValue = this.#facts.reading?.value ?? null;
    this.#refresh = {
      ...this.#refresh,
      running: true,
      lastRunAt: new Date(clock.now()).toISOString(),
    };
    this.#log.info("Refreshing token {token}: {command}", {
      token: this.token.name,
      command: refresh.command.join(" "),
    });
    const result = await runCommand(refresh.command, {
      cwd: refresh.cwd,
      timeoutMs: refresh.timeoutMs,
      signal: this.#stop.signal,
    });
    // Read and check what the command left behind before judging it.
    this.#lastExecReadAt = null;
    await this.#read();
    this.#validatedAt = null;
    await this.#validateIfDue();
    const newValue = this.#facts.reading?.value ?? null;
    const hide = (text: string) => redact(redact(text, oldValue), newValue);
    for (const [stream, text] of [["out", result.stdout], ["err", result.stderr]] as const) {
      for (const line of text.split(/\r?\n/).filter((l) => l.trim() !== "").slice(-50)) {
        this.#log.info("refresh {token} {stream}: {line}", {
          token: this.token.name,
          stream,
          line: hide(line),
        });
      }
    }
    const now = clock.now();
    const verdict = evaluateToken(this.token, this.#facts, now);
    const usable = verdict.state === "valid" || verdict.state === "expiring";
    const renewed = verdict.expiresAt === null || verdict.expiresAt - refresh.beforeMs > now;
    const ok = result.ok && usable && renewed;
    const reason = !result.ok
      ? `refresh command ${hide(result.how)}`
      : !usable
      ? `refresh ran, but the token is ${verdict.state}: ${verdict.reason}`
      : !renewed
      ? `refresh ran, but the token still ${verdict.reason}`
      : `refreshed; ${verdict.reason}`;
    const failures = ok ? 0 : this.#refresh.failures + 1;
    const delay = Math.min(refresh.maxDelayMs, refresh.minDelayMs * 2 ** (failures - 1));
    this.#refresh = {
      lastRunAt: this.#refresh.lastRunAt,
      lastOk: ok,
      lastReason: reason,
      failures,
      nextTryAt: ok ? null : new Date(now + delay).toISOString(),
      running: false,
    };
    if (ok) this.#log.info("Token {token}: {reason}", { token: this.token.name, reason });
    else {
      this.#log.warn("Token {token}: {reason}; {n} failure(s) in a row, next try in {delay}", {
        token: this.token.name,
        reason,
        n: failures,
        delay: formatDuration(delay),
      });
    }
    const previous = this.#verdict;
    this.#verdict = verdict;
    const next = this.status();
    this.#deps.onChange(next, previous);
  }

  #watch(file: string): void {
    try {
      this.#unwatch = watchFile(file, () => this.poke());
    } catch (error) {
      this.#log.warn("Cannot watch {file} ({error}); re-reading it every {interval}", {
        file,
        error: String(error),
        interval: formatDuration(this.token.checkIntervalMs),
      });
    }
  }
}
