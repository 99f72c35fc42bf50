/**
 * The slot side of site leases (`replicas = N`, `site_lease.ts`): what a
 * lease request adds, the environment a copy starts with, and how status and
 * the waiting reason name the slots.
 *
 * @module
 */
import type { LeaseRequest, LeaseResponse } from "../../shared/protocol.ts";
import type { ResolvedScript } from "../../shared/agent_config/types.ts";

/** What this agent knows of a script's slots, for status. */
export interface SlotView {
  held: boolean;
  /** `site/host` of the holder as last answered (this agent's while held). */
  holder: string | null;
  /** Each slot's holder as last answered (with replicas); null when not answered so. */
  holders: (string | null)[] | null;
  /** The slot held; null when none. */
  replica: number | null;
}

/** What a lease request adds for a script with replicas. */
export type SlotFields = Pick<LeaseRequest, "replicas" | "replica">;

/** The copies a script asks for (`replicas`, default 1). */
export function replicasOf(script: ResolvedScript): number {
  return script.replicas ?? 1;
}

/**
 * `replicas` (and, renewing or releasing, the slot held) when N > 1; nothing
 * for one copy, so that a collector from before replicas understands it.
 */
export function slotFields(
  script: ResolvedScript,
  replica: number | null,
  action: LeaseRequest["action"],
): SlotFields {
  const replicas = replicasOf(script);
  if (replicas <= 1) return {};
  return action === "acquire" || replica === null ? { replicas } : { replicas, replica };
}

/**
 * The environment of a copy holding slot `replica`: `SCRIPTMON_REPLICA` (from
 * 0) and `SCRIPTMON_REPLICAS`, for a script that has the `replicas` key; else none.
 */
export function replicaEnv(script: ResolvedScript, replica: number | null): Record<string, string> {
  if (script.replicas === undefined) return {};
  return { SCRIPTMON_REPLICA: String(replica ?? 0), SCRIPTMON_REPLICAS: String(script.replicas) };
}

/**
 * The holder as status shows it: `BFI4/ws-01, replica 0 of 3, 2 of 3 slots
 * held` for a slot held here (the replica is the copy's `SCRIPTMON_REPLICA`),
 * `BFI4/ws-02 (replica 0), BFI4/ws-03 (replica 1)` for the holders of the
 * others; for one copy its holder.
 */
export function holderText(view: SlotView, script: ResolvedScript): string | null {
  const replicas = replicasOf(script);
  if (replicas <= 1 || view.holders === null) return view.holder;
  const held = view.holders.filter((h) => h !== null).length;
  if (view.held) {
    return `${view.holder}, replica ${view.replica} of ${replicas}` +
      (held < replicas ? `, ${held} of ${replicas} slots held` : "");
  }
  const named = view.holders.flatMap((h, i) => h === null ? [] : [`${h} (replica ${i})`]);
  return named.length === 0 ? null : named.join(", ");
}

/** The reason a script shows while other agents hold its lease or slots (or nobody does). */
export function waitingReason(answer: LeaseResponse): string {
  if (answer.replicas !== undefined && answer.replicas > 1) {
    const held = (answer.holders ?? []).filter((h) => h !== null);
    return held.length === 0
      ? "waiting for a site lease slot"
      : `waiting for a site lease slot (${held.length} of ${answer.replicas} held: ${
        held.join(", ")
      }; the first until ${answer.expiresAt})`;
  }
  return answer.holder === null
    ? "waiting for the site lease"
    : `waiting for the site lease (held by ${answer.holder} until ${answer.expiresAt})`;
}
