import assert from "node:assert/strict";
import { cleanMappings, trimMemory } from "./trim_memory.ts";

const EXE = "/opt/deno/bin/deno";

/** One mapping as `/proc/self/smaps` writes it (the fields that matter, and one that does not). */
function mapping(range: string, perms: string, file: string, rss: number, anonymous: number) {
  return [
    `${range} ${perms} 00001000 08:01 4242${file === "" ? "" : `                       ${file}`}`,
    `Size:              ${rss * 2} kB`,
    `Rss:               ${rss} kB`,
    `Anonymous:         ${anonymous} kB`,
    `VmFlags: rd mr mw me`,
  ].join("\n");
}

Deno.test("cleanMappings() picks the executable's read-only private mappings with no copied page", () => {
  const smaps = [
    mapping("1000-2000", "r--p", EXE, 8, 0), // headers, read-only data: dropped
    mapping("2000-5000", "r-xp", EXE, 12, 0), // code: dropped
    mapping("5000-6000", "r--p", EXE, 4, 4), // relocated at load (RELRO): holds private copies
    mapping("6000-7000", "rw-p", EXE, 4, 0), // writable data
    mapping("7000-8000", "r--s", EXE, 4, 0), // shared
    mapping("8000-9000", "r--p", EXE, 0, 0), // nothing resident
    mapping("9000-a000", "r-xp", "/usr/lib/x86_64-linux-gnu/libc.so.6", 64, 0), // another file
    mapping("a000-b000", "r-xp", EXE, 16, 0),
    mapping("b000-c000", "rw-p", "", 900, 900), // anonymous: its Rss is not the one above's
    mapping("c000-d000", "r-xp", `${EXE} (deleted)`, 16, 0), // replaced on disk since
  ].join("\n");
  assert.deepEqual(cleanMappings(smaps, EXE), [
    { start: 0x1000n, end: 0x2000n, residentKb: 8 },
    { start: 0x2000n, end: 0x5000n, residentKb: 12 },
    { start: 0xa000n, end: 0xb000n, residentKb: 16 },
  ]);
});

Deno.test("cleanMappings() leaves out a mapping whose Anonymous line it never saw", () => {
  const [head, size, rss] = mapping("1000-2000", "r--p", EXE, 8, 0).split("\n");
  assert.deepEqual(cleanMappings([head, size, rss].join("\n"), EXE), []);
});

/** kB of the executable resident in this process. */
async function executableResidentKb(): Promise<number> {
  const path = await Deno.realPath(Deno.execPath());
  let kb = 0;
  let ours = false;
  for (const line of (await Deno.readTextFile("/proc/self/smaps")).split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S{4} \S+ \S+ \d+ *(.*)$/.exec(line);
    if (head !== null) ours = head[1] === path;
    else if (ours && line.startsWith("Rss:")) kb += Number(/(\d+) kB/.exec(line)![1]);
  }
  return kb;
}

Deno.test("trimMemory() gives the executable's unused pages back on Linux with glibc, and does nothing elsewhere", async () => {
  const glibc = Deno.build.os === "linux" &&
    Deno.readTextFileSync("/proc/self/maps").includes("libc.so.6");
  if (!glibc) {
    assert.equal(await trimMemory(), null);
    return;
  }
  const before = await executableResidentKb();
  const trimmed = await trimMemory();
  const after = await executableResidentKb();
  assert.ok(trimmed !== null && trimmed.executableKb > 0, `trimmed ${JSON.stringify(trimmed)}`);
  assert.ok(after < before, `the executable's resident pages: ${before} kB before, ${after} after`);
  // Everything still runs: code and data dropped are mapped back from the file when touched.
  const out = await new Deno.Command(Deno.execPath(), { args: ["--version"] }).output();
  assert.ok(out.success);
  assert.deepEqual(JSON.parse(JSON.stringify({ a: [1, 2] })), { a: [1, 2] });
  assert.ok((await trimMemory()) !== null, "a second call uses the same lookup");
});
