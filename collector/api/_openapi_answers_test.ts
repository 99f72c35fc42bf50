import assert from "node:assert/strict";
import type { z } from "zod";
import type { AlertRecord } from "../store/alerts.ts";
import type { CommandRecord, StoredEvent } from "../store/types.ts";
import type { Uptime, UptimeRow } from "../fleet/uptime.ts";
import type { LogsAnswer } from "./log_routes.ts";
import {
  alertSchema,
  commandRecordSchema,
  logsAnswerSchema,
  storedEventSchema,
  uptimeRowSchema,
  uptimeSchema,
} from "./_openapi_answers.ts";

/** True when `A` and `B` are the same type (each assignable to the other, modifiers too). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;

// Each line fails `deno check` when a type and the schema the document shows for it drift apart.
Deno.test("the document's answer schemas have the shapes of the types the routes return", () => {
  const same: boolean[] = [
    true satisfies Same<z.output<typeof alertSchema>, AlertRecord>,
    true satisfies Same<z.output<typeof commandRecordSchema>, CommandRecord>,
    true satisfies Same<z.output<typeof storedEventSchema>, StoredEvent>,
    true satisfies Same<z.output<typeof uptimeSchema>, Uptime>,
    true satisfies Same<z.output<typeof uptimeRowSchema>, UptimeRow>,
    true satisfies Same<z.output<typeof logsAnswerSchema>, LogsAnswer>,
  ];
  assert.ok(same.every(Boolean));
});
