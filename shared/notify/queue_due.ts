/**
 * Hands the alert policy's due messages to the outbox, the same way in both
 * programs: suppressed ones are recorded as silenced, and when the outbox
 * cannot take one (KV busy), it and the rest are returned to try again on the
 * next pass. The dedupe keys make that retry safe. One for a webhook the
 * outbox does not have is dropped (and logged), never retried.
 *
 * A key names the alert's episode (its start time) and the send, so it never comes back once
 * sent; its claim is kept `DEDUPE_WINDOW_MS` (a retry comes within seconds), then expires, so a
 * store that runs for months does not keep one per message for good.
 */
import { getLogger } from "@logtape/logtape";
import type { Outbox } from "./outbox.ts";
import type { PolicyOutput } from "./policy.ts";

const log = getLogger(["scriptmon", "notify"]);

/** How long an alert message's dedupe key stays claimed. */
export const DEDUPE_WINDOW_MS = 7 * 86_400_000;

/** Queues `due` in order; returns the outputs not queued (empty when all went in). */
export async function queueDue(outbox: Outbox, due: PolicyOutput[]): Promise<PolicyOutput[]> {
  for (const [index, out] of due.entries()) {
    // A route to a webhook this outbox does not have (added to the file, not yet restarted)
    // would never queue: dropped with an error, so that it does not hold up the others.
    if (!out.suppressed && !outbox.channelNames().includes(out.channel)) {
      log.error("Alert {title} for webhook {channel} dropped: no such webhook is running", {
        title: out.payload.alert.title,
        channel: out.channel,
      });
      continue;
    }
    try {
      const { duplicate } = await outbox.enqueue({
        channel: out.channel,
        dedupeKey: out.dedupeKey,
        dedupeWindowMs: DEDUPE_WINDOW_MS,
        payload: out.payload,
        ...(out.suppressed ? { state: "silenced" as const, note: out.suppressed.note } : {}),
      });
      if (!duplicate && !out.suppressed) {
        log.info("Alert {status} {title} → {channel}", {
          status: out.payload.alert.status,
          title: out.payload.alert.title,
          channel: out.channel,
        });
      }
    } catch (error) {
      log.error("Cannot queue alerts (will retry): {error}", { error });
      return due.slice(index);
    }
  }
  return [];
}
