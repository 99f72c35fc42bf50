/**
 * What the two soak benches share: reading a process's memory and a file's size, and printing
 * the samples with their growth over the last half.
 */
import { formatDuration } from "../shared/config/mod.ts";

/** One sample of a soaked process: bytes, `at` in ms since the run started. */
export interface SoakSample {
  at: number;
  rss: number;
  /** Anonymous pages (heaps). */
  anon: number;
  /** File-backed pages (the runtime's binary). */
  file: number;
  /** The store's size on disk. */
  store: number;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const mb = (b: number) => (b / 1e6).toFixed(1);

/**
 * The memory of process `pid` from `/proc/<pid>/status`, in bytes: RSS, and its two parts, the
 * anonymous pages (heaps: what a leak grows) and the file-backed ones (mostly the runtime's own
 * binary, touched a little more as rarer code paths run; clean pages the kernel can take back).
 */
export async function memoryOf(pid: number): Promise<{ rss: number; anon: number; file: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) * 1024;
  return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") + kb("RssShmem") };
}

/** The size of `path` in bytes; 0 when it does not exist. */
export function fileSize(path: string): Promise<number> {
  return Deno.stat(path).then((s) => s.size, () => 0);
}

/**
 * How much `value` grew over `samples`' time span, read from a least-squares line through them:
 * single samples swing by a few MB with the garbage collector's timing.
 */
export function fittedGrowth<S extends { at: number }>(
  samples: S[],
  value: (s: S) => number,
): number {
  const n = samples.length;
  if (n < 2) return 0;
  const mx = samples.reduce((a, s) => a + s.at, 0) / n;
  const my = samples.reduce((a, s) => a + value(s), 0) / n;
  const sxx = samples.reduce((a, s) => a + (s.at - mx) ** 2, 0);
  const sxy = samples.reduce((a, s) => a + (s.at - mx) * (value(s) - my), 0);
  return sxx === 0 ? 0 : (sxy / sxx) * (samples[n - 1].at - samples[0].at);
}

/**
 * Prints start, middle and end of each measure with the growth over the last half (end minus
 * middle, and from a fitted line), then every sample with `count` (restarts, requests); returns
 * the middle and last samples.
 */
export function printSoak<S extends SoakSample>(
  title: string,
  samples: S[],
  labels: { store: string; count: string },
  count: (s: S) => number,
): { mid: S; last: S } {
  const first = samples[0], last = samples.at(-1)!;
  const mid = samples.find((s) => s.at >= last.at / 2) ?? last;
  const third = samples.find((s) => s.at >= (last.at * 2) / 3) ?? last;
  const half = samples.filter((s) => s.at >= mid.at);
  console.log(`| ${title} | start | middle | end | end − middle | last half, fitted line |`);
  console.log("| --- | --- | --- | --- | --- | --- |");
  const row = (name: string, value: (s: S) => number, note = "") =>
    console.log(
      `| ${name} | ${mb(value(first))} | ${mb(value(mid))} | ${mb(value(last))} | ` +
        `${mb(value(last) - value(mid))}${note} | ${mb(fittedGrowth(half, value))} |`,
    );
  row("RSS (MB)", (s) => s.rss);
  row("of it anonymous (MB)", (s) => s.anon);
  row("of it file-backed (MB)", (s) => s.file);
  row(`${labels.store} (MB)`, (s) => s.store, ` (last third: ${mb(last.store - third.store)})`);
  console.log(
    `\n| time | RSS (MB) | anonymous (MB) | ${labels.store} (MB) | ${labels.count} |\n` +
      "| --- | --- | --- | --- | --- |",
  );
  for (const s of samples) {
    console.log(
      `| ${formatDuration(Math.round(s.at / 1000) * 1000)} | ${mb(s.rss)} | ${mb(s.anon)} | ${
        mb(s.store)
      } | ${count(s)} |`,
    );
  }
  return { mid, last };
}
