import assert from "node:assert/strict";
import { platform } from "../platform/mod.ts";
import type { ProcessSample } from "../platform/types.ts";
import { ResourceTracker, treeUsage } from "./resources.ts";

const MB = 1e6;
const T0 = Date.parse("2026-12-01T08:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

function proc(pid: number, ppid: number, pgid: number | undefined, mb: number, cpu = 0) {
  return { pid, ppid, pgid, rssBytes: mb * MB, cpuSeconds: cpu } satisfies ProcessSample;
}

Deno.test("treeUsage() sums the root's group and descendants that left it", () => {
  const table = [
    proc(1, 0, 1, 5, 100),
    proc(100, 1, 100, 10, 1), // root
    proc(101, 100, 100, 20, 2), // child in the group
    proc(102, 100, 102, 30, 3), // child that called setsid
    proc(103, 102, 102, 1, 0.5), // its child
    proc(104, 1, 100, 2, 0.25), // reparented to init, still in the group
    proc(105, 104, 105, 4, 0), // child of a group member, new group
    proc(200, 1, 200, 50, 9), // unrelated
  ];
  assert.deepEqual(treeUsage(table, 100), {
    rssBytes: 67 * MB,
    cpuSeconds: 6.75,
    processes: 6,
  });
});

Deno.test("treeUsage() follows ppid alone on Windows, where there are no groups", () => {
  const table = [proc(4242, 1337, undefined, 25, 1.5), proc(4300, 4242, undefined, 10, 0.5)];
  assert.deepEqual(treeUsage(table, 4242), { rssBytes: 35 * MB, cpuSeconds: 2, processes: 2 });
  assert.deepEqual(treeUsage(table, 4300), { rssBytes: 10 * MB, cpuSeconds: 0.5, processes: 1 });
});

Deno.test("treeUsage() is null when the root is not in the table", () => {
  assert.equal(treeUsage([proc(101, 100, 100, 20)], 100), null);
});

Deno.test("treeUsage() ends on a ppid cycle", () => {
  const table = [proc(5, 6, undefined, 1), proc(6, 5, undefined, 1)];
  assert.deepEqual(treeUsage(table, 5), { rssBytes: 2 * MB, cpuSeconds: 0, processes: 2 });
});

const usage = (mb: number, cpuSeconds = 0) => ({ rssBytes: mb * MB, cpuSeconds, processes: 1 });

Deno.test("update() measures CPU percent over wall time; null first and after the CPU time fell", () => {
  const tracker = new ResourceTracker({ samples: 1 }, { now: () => T0 });
  assert.equal(tracker.update(usage(1, 10), T0).sample.cpuPercent, null);
  const second = tracker.update(usage(1, 11.5), T0 + 2_000).sample;
  assert.deepEqual(second, {
    at: iso(T0 + 2_000),
    rssBytes: 1 * MB,
    cpuSeconds: 11.5,
    cpuPercent: 75,
    processes: 1,
  });
  assert.equal(tracker.update(usage(1, 3), T0 + 4_000).sample.cpuPercent, null);
  assert.equal(tracker.update(usage(1, 5), T0 + 5_000).sample.cpuPercent, 200);
});

Deno.test("a tracker without thresholds reports no memory or cpu state", () => {
  const tracker = new ResourceTracker({ samples: 3 });
  const result = tracker.update(usage(900, 1), T0);
  assert.equal(result.memory, null);
  assert.equal(result.cpu, null);
  assert.equal(result.restart, null);
  assert.equal(tracker.memory, null);
});

Deno.test("one memory spike over the warn limit does not warn; a held one does", () => {
  const tracker = new ResourceTracker({ memoryWarnBytes: 200 * MB, samples: 2 }, {
    now: () => T0,
  });
  assert.equal(tracker.memory?.status, "unknown");
  assert.equal(tracker.update(usage(100), T0).memory?.status, "ok");
  const spike = tracker.update(usage(250), T0 + 1_000).memory;
  assert.equal(spike?.status, "ok");
  assert.equal(spike?.reason, "memory 250 MB over the warn limit 200 MB (1 of 2 samples)");
  assert.equal(tracker.update(usage(150), T0 + 2_000).memory?.status, "ok");
  tracker.update(usage(210), T0 + 3_000);
  assert.deepEqual(tracker.update(usage(212.4), T0 + 4_000).memory, {
    name: "memory",
    status: "warning",
    reason: "memory 212.4 MB over the warn limit 200 MB for 2 samples",
    value: 212.4 * MB,
    threshold: 200 * MB,
    since: iso(T0 + 4_000),
    checkedAt: iso(T0 + 4_000),
    consecutiveFailures: 2,
    failuresTotal: 1,
  });
  const back = tracker.update(usage(120), T0 + 5_000).memory;
  assert.equal(back?.status, "ok");
  assert.equal(back?.reason, "memory 120 MB under the warn limit 200 MB");
  assert.equal(back?.consecutiveFailures, 0);
  assert.equal(back?.since, iso(T0 + 5_000));
});

Deno.test("a held memory restart limit fails and asks for a restart once", () => {
  const tracker = new ResourceTracker({
    memoryWarnBytes: 200 * MB,
    memoryRestartBytes: 300 * MB,
    samples: 3,
  });
  const results = [250, 310, 320, 312.4, 330].map((mb, i) => tracker.update(usage(mb), T0 + i));
  assert.deepEqual(results.map((r) => r.memory?.status), [
    "ok",
    "ok",
    "warning",
    "failing",
    "failing",
  ]);
  assert.equal(
    results[2].memory?.reason,
    "memory 320 MB over the restart limit 300 MB (2 of 3 samples)",
  );
  assert.deepEqual(results.map((r) => r.restart), [null, null, null, {
    check: "memory",
    reason: "memory 312.4 MB over the restart limit 300 MB for 3 samples",
  }, null]);
  assert.equal(results[3].memory?.threshold, 300 * MB);
  assert.equal(results[3].memory?.consecutiveFailures, 4);
  assert.equal(results[3].memory?.failuresTotal, 1);
});

Deno.test("a held CPU limit restarts; the first sample leaves cpu unknown", () => {
  const tracker = new ResourceTracker({ cpuWarnPercent: 50, cpuRestartPercent: 90, samples: 2 });
  const first = tracker.update(usage(1, 0), T0);
  assert.equal(first.cpu?.status, "unknown");
  assert.equal(first.cpu?.reason, "no cpu rate yet: it needs two samples");
  assert.equal(first.cpu?.checkedAt, iso(T0));
  assert.equal(tracker.update(usage(1, 0.95), T0 + 1_000).cpu?.status, "ok");
  const held = tracker.update(usage(1, 1.9), T0 + 2_000);
  assert.equal(held.cpu?.status, "failing");
  assert.equal(held.cpu?.value, 95);
  assert.equal(held.cpu?.threshold, 90);
  assert.deepEqual(held.restart, {
    check: "cpu",
    reason: "cpu 95% over the restart limit 90% for 2 samples",
  });
});

Deno.test("reset() after a restart starts counting and the CPU baseline over", () => {
  let now = T0;
  const tracker = new ResourceTracker(
    { memoryRestartBytes: 50 * MB, cpuWarnPercent: 10, samples: 2 },
    { now: () => now },
  );
  tracker.update(usage(60, 0), T0);
  assert.ok(tracker.update(usage(60, 1), T0 + 1_000).restart);
  now = T0 + 1_500;
  tracker.reset();
  assert.equal(tracker.memory?.status, "unknown");
  assert.equal(tracker.memory?.since, iso(T0 + 1_500));
  assert.equal(tracker.memory?.failuresTotal, 1);
  const after = tracker.update(usage(60, 0.1), T0 + 2_000);
  assert.equal(after.sample.cpuPercent, null);
  assert.equal(after.memory?.status, "ok");
  assert.equal(after.restart, null);
  const again = tracker.update(usage(60, 0.1), T0 + 3_000);
  assert.equal(again.restart?.check, "memory");
  assert.equal(again.memory?.failuresTotal, 2);
});

Deno.test("ResourceTracker refuses samples that are not a positive integer", () => {
  assert.throws(() => new ResourceTracker({ samples: 0 }), {
    name: "RangeError",
    message: "Invalid resource limits: samples must be a positive integer, got 0",
  });
});

Deno.test({
  name: "a real 60 MB memory hog trips a 50 MB restart limit on its second sample",
  ignore: Deno.build.os === "windows",
  async fn() {
    const hog = new Deno.Command(Deno.execPath(), {
      args: ["run", new URL("../../tests/fixtures/memory_hog.ts", import.meta.url).pathname, "60"],
      detached: true,
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = hog.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      // Wait for the hog to say it holds its memory, then for the OS to agree.
      let text = "";
      while (!text.includes("holding")) {
        const { value, done } = await lines.read();
        if (done) throw new Error(`memory_hog exited early after: ${text}`);
        text += value;
      }
      let tree = treeUsage(await platform.processTable(), hog.pid);
      const deadline = Date.now() + 15_000;
      while ((tree?.rssBytes ?? 0) < 60 * MB && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        tree = treeUsage(await platform.processTable(), hog.pid);
      }
      assert.ok(tree && tree.rssBytes >= 60 * MB, `tree rss ${tree?.rssBytes}`);
      assert.equal(tree.processes, 1);
      const tracker = new ResourceTracker({ memoryRestartBytes: 50 * MB, samples: 2 });
      const first = tracker.update(tree, Date.now());
      assert.equal(first.restart, null);
      assert.equal(first.memory?.status, "ok");
      const second = treeUsage(await platform.processTable(), hog.pid);
      assert.ok(second);
      const result = tracker.update(second, Date.now());
      assert.equal(result.memory?.status, "failing");
      assert.equal(result.restart?.check, "memory");
      assert.match(
        result.restart?.reason ?? "",
        /^memory \d+(\.\d)? MB over the restart limit 50 MB for 2 samples$/,
      );
    } finally {
      await platform.killTree(hog.pid);
      await lines.cancel();
      assert.equal((await hog.status).signal, "SIGKILL");
    }
  },
});
