/**
 * `GET /api/v1/audit`: the audit trail, newest first, as JSON or CSV; for
 * admins of every site only (users and API tokens alike: `access.ts`).
 *
 * @module
 */

import { Hono } from "hono";
import type { AuditLog } from "../audit/trail.ts";
import type { CollectorEnv } from "../auth/authenticate.ts";
import { toCsv } from "../http/csv.ts";
import { queryEnum, queryInt, queryText, queryTime } from "../http/request.ts";

/** Columns of the audit CSV, in order. */
export const AUDIT_CSV_COLUMNS = [
  "seq",
  "at",
  "actor",
  "address",
  "action",
  "target",
  "result",
  "detail",
  "prev",
  "hash",
] as const;

/** The audit routes, to mount at `/api/v1`. */
export function auditRoutes(deps: { audit: AuditLog }): Hono<CollectorEnv> {
  const app = new Hono<CollectorEnv>();
  app.get("/audit", async (c) => {
    const format = queryEnum(c, "format", ["json", "csv"] as const, "json");
    const since = queryTime(c, "since");
    const until = queryTime(c, "until");
    const action = queryText(c, "action");
    const actor = queryText(c, "actor");
    const entries = await deps.audit.list({
      ...(since === undefined ? {} : { since }),
      ...(until === undefined ? {} : { until }),
      ...(action === undefined ? {} : { action }),
      ...(actor === undefined ? {} : { actor }),
      limit: queryInt(c, "limit", {
        min: 1,
        max: 100_000,
        fallback: format === "csv" ? 100_000 : 100,
      }),
    });
    if (format === "csv") {
      return c.body(
        toCsv(AUDIT_CSV_COLUMNS, entries as unknown as Record<string, unknown>[]),
        200,
        {
          "Content-Type": "text/csv; charset=utf-8",
          "Content-Disposition": 'attachment; filename="audit.csv"',
        },
      );
    }
    return c.json({ entries });
  });
  return app;
}
