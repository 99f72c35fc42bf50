import assert from "node:assert/strict";
import { trimFreedMemory } from "./trim_memory.ts";

Deno.test("trimFreedMemory() gives freed memory back on Linux with glibc, and does nothing elsewhere", () => {
  const glibc = Deno.build.os === "linux" &&
    Deno.readTextFileSync("/proc/self/maps").includes("libc.so.6");
  assert.equal(trimFreedMemory(), glibc);
  assert.equal(trimFreedMemory(), glibc, "a second call uses the same lookup");
});
