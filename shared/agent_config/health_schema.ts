/**
 * The health keys of a script as written (the agent runs the checks that use
 * them): `[[scripts.<name>.probes]]` (http, tcp, exec),
 * `[scripts.<name>.limits]` and the action a failing check takes. The
 * agent's config schema (`schema.ts`) embeds them.
 *
 * @module
 */
import { z } from "zod";
import { httpUrl, positiveDuration, size } from "../config/zod_units.ts";
import { NAME_PATTERN } from "../config/named_record.ts";
import { describeValue } from "../config/wording.ts";
import { commandSchema } from "./command_schema.ts";

const ALWAYS = { when: () => true };
const command = commandSchema('["python", "x.py"]');

/** What a failing health check may do; written as one of these or an array of them. */
export const HEALTH_ACTIONS = ["alert", "restart"] as const;

/** Methods an HTTP probe may use. */
export const HTTP_METHODS = ["GET", "HEAD", "POST"] as const;

const ACTION_HINT = 'expected "alert", "restart" or an array of them like ["alert", "restart"]';

/** A failing check's action: `"alert"`, `"restart"` or an array of them. */
export const action = z.union([z.enum(HEALTH_ACTIONS), z.array(z.enum(HEALTH_ACTIONS))], {
  error: (issue) => `${ACTION_HINT}, got ${describeValue(issue.input)}`,
}).check((ctx) => {
  if (!Array.isArray(ctx.value)) return;
  const problem = ctx.value.length === 0
    ? "an empty array"
    : new Set(ctx.value).size < ctx.value.length
    ? `a repeated action in ${JSON.stringify(ctx.value)}`
    : undefined;
  if (problem !== undefined) {
    ctx.issues.push({
      code: "custom",
      input: ctx.value,
      message: `${ACTION_HINT}, got ${problem}`,
    });
  }
});

const probeName = z.string().check((ctx) => {
  if (!NAME_PATTERN.test(ctx.value)) {
    ctx.issues.push({
      code: "custom",
      input: ctx.value,
      message: `expected a probe name of letters, digits, "_" and "-", got ${
        JSON.stringify(ctx.value)
      }`,
    });
  }
});

/** The keys every kind of probe has. */
const probeCommon = {
  name: probeName.optional(),
  interval: positiveDuration.optional(),
  /** The shortest wait while a result is unsettled; at most `interval`. */
  min_interval: positiveDuration.optional(),
  /** The longest wait a steadily passing probe stretches to; at least `interval`. */
  max_interval: positiveDuration.optional(),
  /** Must be shorter than `interval`; checked once defaults apply. */
  timeout: positiveDuration.optional(),
  failures: z.int().min(1).optional(),
  action: action.optional(),
};

/** `[[scripts.<name>.probes]]` with `kind = "http"`. */
export const httpProbeSchema = z.strictObject({
  kind: z.literal("http"),
  ...probeCommon,
  url: httpUrl,
  method: z.enum(HTTP_METHODS).optional(),
  status: z.int().min(100).max(599).optional(),
  body: z.string().optional(),
});

/** `[[scripts.<name>.probes]]` with `kind = "tcp"`. */
export const tcpProbeSchema = z.strictObject({
  kind: z.literal("tcp"),
  ...probeCommon,
  host: z.string().min(1),
  port: z.int().min(1).max(65535),
});

/** `[[scripts.<name>.probes]]` with `kind = "exec"`. */
export const execProbeSchema = z.strictObject({
  kind: z.literal("exec"),
  ...probeCommon,
  command,
  cwd: z.string().min(1).optional(),
});

/** The schema of each probe kind, for per-kind key hints. */
export const PROBE_SCHEMAS = {
  http: httpProbeSchema,
  tcp: tcpProbeSchema,
  exec: execProbeSchema,
} as const;

/** One `[[scripts.<name>.probes]]` as written: its keys depend on `kind`. */
export const probeSchema = z.discriminatedUnion(
  "kind",
  [httpProbeSchema, tcpProbeSchema, execProbeSchema],
  {
    error: (issue) => {
      if (issue.code !== "invalid_union") return undefined;
      const kind = isRecord(issue.input) ? issue.input.kind : undefined;
      return `expected one of ${
        Object.keys(PROBE_SCHEMAS).map((name) => JSON.stringify(name)).join(", ")
      }, got ${describeValue(kind)}`;
    },
  },
);

/** `[scripts.<name>.limits]` as written: thresholds on the script's process tree. */
export const limitsSchema = z.strictObject({
  memory_warn: size.optional(),
  memory_restart: size.optional(),
  cpu_warn: z.number().gt(0).optional(),
  cpu_restart: z.number().gt(0).optional(),
  samples: z.int().min(1).optional(),
}).superRefine((limits, ctx) => {
  const { memory_warn, memory_restart, cpu_warn, cpu_restart } = limits;
  if ([memory_warn, memory_restart, cpu_warn, cpu_restart].every((v) => v === undefined)) {
    ctx.addIssue({
      code: "custom",
      input: limits,
      path: [],
      message:
        "expected at least one threshold (memory_warn, memory_restart, cpu_warn or cpu_restart), got none",
    });
  }
  const warnBytes = memory_warn?.bytes;
  const restartBytes = memory_restart?.bytes;
  if (warnBytes !== undefined && restartBytes !== undefined && restartBytes <= warnBytes) {
    ctx.addIssue({
      code: "custom",
      input: memory_restart?.text,
      path: ["memory_restart"],
      message: `expected memory_restart > memory_warn (${JSON.stringify(memory_warn?.text)}), got ${
        JSON.stringify(memory_restart?.text)
      }`,
    });
  }
  if (
    typeof cpu_warn === "number" && typeof cpu_restart === "number" && cpu_restart <= cpu_warn
  ) {
    ctx.addIssue({
      code: "custom",
      input: cpu_restart,
      path: ["cpu_restart"],
      message: `expected cpu_restart > cpu_warn (${cpu_warn}), got ${cpu_restart}`,
    });
  }
}, ALWAYS);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
