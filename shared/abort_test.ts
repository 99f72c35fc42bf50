import assert from "node:assert/strict";
import { linkSignals } from "./abort.ts";

Deno.test("linkSignals() aborts with the reason of the first source that aborts", () => {
  const a = new AbortController();
  const b = new AbortController();
  using linked = linkSignals(a.signal, b.signal);
  assert.equal(linked.signal.aborted, false);
  b.abort("stopping");
  a.abort("too late");
  assert.equal(linked.signal.aborted, true);
  assert.equal(linked.signal.reason, "stopping");
});

Deno.test("linkSignals() is aborted at once when a source already is", () => {
  const a = new AbortController();
  a.abort(new DOMException("timed out", "TimeoutError"));
  using linked = linkSignals(new AbortController().signal, a.signal);
  assert.equal(linked.signal.aborted, true);
  assert.equal((linked.signal.reason as DOMException).name, "TimeoutError");
});

Deno.test("a disposed linked signal no longer follows its sources", () => {
  const stop = new AbortController();
  let signal: AbortSignal;
  {
    using linked = linkSignals(stop.signal);
    signal = linked.signal;
  }
  stop.abort();
  assert.equal(signal.aborted, false);
});

Deno.test("signals linked to one long-lived signal and disposed leave nothing behind in it", async () => {
  // Measured in a process of its own, where a full GC can be asked for.
  const code = `
    import { linkSignals } from ${JSON.stringify(new URL("./abort.ts", import.meta.url).href)};
    const stop = new AbortController();
    const round = () => { for (let i = 0; i < 20000; i++) { using l = linkSignals(new AbortController().signal, stop.signal); } };
    round(); gc(); gc();
    const before = Deno.memoryUsage().heapUsed;
    for (let r = 0; r < 10; r++) round();
    gc(); gc();
    console.log(Math.round((Deno.memoryUsage().heapUsed - before) / 200000));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--expose-gc", code],
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const bytesPerLink = Number(new TextDecoder().decode(out.stdout).trim());
  // AbortSignal.any() keeps ~360 bytes here; a detached link keeps nothing (GC noise aside).
  assert.ok(bytesPerLink < 20, `${bytesPerLink} bytes kept per linked signal`);
});

Deno.test("no program file combines signals with AbortSignal.any()", async () => {
  const root = new URL("../", import.meta.url);
  const found: string[] = [];
  const visit = async (dir: string) => {
    for await (const entry of Deno.readDir(new URL(dir, root))) {
      const path = `${dir}${entry.name}`;
      if (entry.isDirectory) await visit(`${path}/`);
      else if (/\.tsx?$/.test(entry.name) && !path.endsWith("_test.ts")) {
        const text = await Deno.readTextFile(new URL(path, root));
        if (/AbortSignal\.any\(/.test(text.replace(/^\s*(\*|\/\/).*$/gm, ""))) found.push(path);
      }
    }
  };
  for (const program of ["agent/", "collector/", "shared/"]) await visit(program);
  assert.deepEqual(found, [], "use linkSignals() (shared/abort.ts): AbortSignal.any() leaks");
});
