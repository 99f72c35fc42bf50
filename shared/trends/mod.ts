/**
 * Trend pieces both programs use: a steady memory climb projected to a limit
 * (the agent's memory warnings, the collector's trends) and the wording of
 * counts and spans in their messages.
 *
 * @module
 */

export {
  type Growth,
  MAX_AHEAD_MS,
  MAX_AHEAD_SPANS,
  type MemorySample,
  MIN_BYTES_PER_HOUR,
  MIN_R2,
  MIN_SAMPLES,
  MIN_SPAN_MS,
  projectGrowth,
} from "./predict.ts";
export { formatCount, formatSpan, plural } from "./wording.ts";
export { normal, seeded } from "./random.ts";
