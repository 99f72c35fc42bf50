import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "../../tests/_helpers.ts";
import { findExecutable } from "./find_executable.ts";

Deno.test("on Windows a bare name finds python.cmd by PATHEXT, whatever its mode", async () => {
  await using dir = await tempDir();
  // Deno reports mode 0o666 for every Windows file: no exec bit to go by.
  await Deno.writeTextFile(join(dir.path, "python.cmd"), "@echo off\r\n", { mode: 0o644 });
  await Deno.writeTextFile(join(dir.path, "notes"), "", { mode: 0o644 });
  const options = { cwd: dir.path, path: dir.path, pathExt: ".COM;.EXE;.BAT;.CMD", windows: true };
  assert.equal(await findExecutable("python", options), join(dir.path, "python.cmd"));
  assert.equal(await findExecutable("notes", options), null, "no PATHEXT extension");
  assert.equal(
    await findExecutable("python", { ...options, pathExt: undefined }),
    join(dir.path, "python.cmd"),
    "PATHEXT unset: Windows' default list",
  );
});

Deno.test("on POSIX a file needs an exec bit; a path is taken from the cwd", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.path, "run.sh"), "#!/bin/sh\n", { mode: 0o755 });
  await Deno.writeTextFile(join(dir.path, "data.sh"), "", { mode: 0o644 });
  const options = { cwd: dir.path, path: dir.path, windows: false };
  assert.equal(await findExecutable("run.sh", options), join(dir.path, "run.sh"));
  assert.equal(await findExecutable("data.sh", options), null);
  assert.equal(
    await findExecutable("./run.sh", { cwd: dir.path, windows: false }),
    join(dir.path, "run.sh"),
  );
});
