/** What the two soak benches share: reading a process's memory and a file's size, fitting a line. */

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
