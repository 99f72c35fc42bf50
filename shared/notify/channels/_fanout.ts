/**
 * One message to several recipients, one request each (Twilio, SNS to
 * phone numbers), without sending twice: recipients already reached are
 * remembered per payload, so a retry of the same message goes only to the
 * ones that failed. The memory is per channel, in this process, bounded.
 *
 * @module
 */

import type { SendResult } from "../types.ts";

/** Payloads remembered at once; the oldest are forgotten first. */
const REMEMBERED = 200;

/** Sends to recipients one by one and folds the results into one. */
export class Fanout {
  #reached = new Map<string, Set<string>>();

  /** Sends `key`'s message to every recipient not reached before. */
  async send(
    key: string,
    recipients: string[],
    sendOne: (recipient: string) => Promise<SendResult>,
  ): Promise<SendResult> {
    const reached = this.#reached.get(key) ?? new Set<string>();
    this.#reached.delete(key);
    const failures: { recipient: string; result: Extract<SendResult, { ok: false }> }[] = [];
    let last: SendResult | undefined;
    for (const recipient of recipients) {
      if (reached.has(recipient)) continue;
      const result = await sendOne(recipient);
      if (result.ok) {
        reached.add(recipient);
        last = result;
      } else {
        failures.push({ recipient, result });
      }
    }
    if (failures.length === 0) {
      return {
        ok: true,
        ...(last?.ok && last.status !== undefined ? { status: last.status } : {}),
        answer: `sent to ${recipients.length} recipient${recipients.length === 1 ? "" : "s"}`,
      };
    }
    const retryable = failures.some((f) => f.result.retryable);
    if (retryable) {
      this.#reached.set(key, reached);
      while (this.#reached.size > REMEMBERED) {
        this.#reached.delete(this.#reached.keys().next().value!);
      }
    }
    const waits = failures.flatMap((f) => f.result.retryAfterMs ?? []);
    const first = failures[0].result;
    return {
      ok: false,
      retryable,
      ...(waits.length > 0 ? { retryAfterMs: Math.max(...waits) } : {}),
      ...(first.status === undefined ? {} : { status: first.status }),
      ...(first.answer === undefined ? {} : { answer: first.answer }),
      error: `${failures.length} of ${recipients.length} recipients failed` +
        (reached.size > 0 ? ` (${reached.size} reached)` : "") + ": " +
        failures.map((f) => `${f.recipient}: ${f.result.error}`).join("; "),
    };
  }
}
