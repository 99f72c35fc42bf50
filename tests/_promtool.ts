/** Runs Debian's `promtool check metrics` on Prometheus text, for the /metrics tests. */

/** promtool's exit code and everything it printed (empty when the text is clean). */
export async function promtoolCheck(text: string): Promise<{ code: number; complaints: string }> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Error(
      "promtool is not installed: install Debian's prometheus package " +
        "(apt-get install --no-install-recommends prometheus); CI (.ci/run) installs it",
      { cause: error },
    );
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code, complaints: (decode(stdout) + decode(stderr)).trim() };
}
