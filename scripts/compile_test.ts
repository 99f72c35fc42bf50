import assert from "node:assert/strict";
import { compileArgs } from "./compile.ts";

Deno.test("compileArgs() uses the agent task's permissions, the KV flag and the target", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const taskFlags = config.tasks.agent.split(/\s+/).filter((w: string) => w.startsWith("--"));
  const args = compileArgs("x86_64-pc-windows-msvc", "dist/a.exe");
  assert.deepEqual(taskFlags, ["--allow-all", "--v8-flags=--max-semi-space-size=2,--no-turbofan"]);
  assert.deepEqual(args.slice(1, 1 + taskFlags.length), taskFlags);
  assert.ok(args.includes("--unstable-kv"));
  assert.deepEqual(args.slice(-5), [
    "--target",
    "x86_64-pc-windows-msvc",
    "--output",
    "dist/a.exe",
    "agent/main.ts",
  ]);
});
