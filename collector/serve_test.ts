import assert from "node:assert/strict";
import { join } from "node:path";
import { parseConfig } from "./config/load.ts";
import { serve } from "./serve.ts";
import { Store } from "./store/store.ts";
import { ingestRequest } from "./_testing.ts";

/** A CA and a leaf certificate for 127.0.0.1 signed by it, or null without openssl. */
async function certificates(
  dir: string,
): Promise<{ ca: string; cert: string; key: string } | null> {
  const at = (name: string) => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await Deno.writeTextFile(
    at("leaf.ext"),
    "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
  );
  const steps = [
    [
      "req",
      "-x509",
      ...ec,
      "-keyout",
      at("ca.key"),
      "-out",
      at("ca.pem"),
      "-days",
      "1",
      "-subj",
      "/CN=test CA",
    ],
    ["req", ...ec, "-keyout", at("key.pem"), "-out", at("leaf.csr"), "-subj", "/CN=localhost"],
    [
      "x509",
      "-req",
      "-in",
      at("leaf.csr"),
      "-CA",
      at("ca.pem"),
      "-CAkey",
      at("ca.key"),
      "-CAcreateserial",
      "-out",
      at("cert.pem"),
      "-days",
      "1",
      "-extfile",
      at("leaf.ext"),
    ],
  ];
  try {
    for (const args of steps) {
      const { success } = await new Deno.Command("openssl", {
        args,
        stdout: "null",
        stderr: "null",
      })
        .output();
      if (!success) return null;
    }
  } catch {
    return null; // no openssl here: the test runs over plain HTTP
  }
  return { ca: at("ca.pem"), cert: at("cert.pem"), key: at("key.pem") };
}

Deno.test("serve() answers HTTPS when tls_cert and tls_key are set, and stops on abort, its tokens' last use written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "collector-serve-" });
  const kv = await Deno.openKv(join(dir, "collector.kv"));
  const files = await certificates(dir);
  const tls = files === null ? "" : `tls_cert = "${files.cert}"\ntls_key = "${files.key}"\n`;
  const config = parseConfig(`[collector]\nlisten = "127.0.0.1:0"\n${tls}`, {
    path: join(dir, "c.toml"),
    vars: {},
  });
  const controller = new AbortController();
  const listening = Promise.withResolvers<{ port: number; https: boolean }>();
  const served = serve({ config, kv, signal: controller.signal, onListen: listening.resolve });
  const client = files === null
    ? undefined
    : Deno.createHttpClient({ caCerts: [await Deno.readTextFile(files.ca)] });
  try {
    const { port, https } = await listening.promise;
    assert.equal(https, files !== null);
    const base = `${https ? "https" : "http"}://127.0.0.1:${port}`;
    const health = await fetch(`${base}/healthz`, { client });
    assert.deepEqual(await health.json(), { ok: true });
    const token = (await new Store(kv).createToken({
      kind: "agent",
      name: "ws",
      site: "BFI4",
      now: Date.now(),
    })).token;
    const ingest = await fetch(`${base}/api/v1/ingest`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify(ingestRequest()),
      client,
    });
    assert.equal((await ingest.json()).ackedSeq, 0);
    // A long-poll in flight does not hold up the shutdown.
    const poll = fetch(`${base}/api/v1/commands?wait=20000`, {
      headers: { authorization: `Bearer ${token}` },
      client,
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    controller.abort();
    assert.deepEqual((await (await poll).json()).commands, []);
    await served;
    assert.ok(performance.now() - started < 5000);
    const [used] = await new Store(kv).listTokens("agent");
    assert.equal(typeof used.lastUsedAt, "string", "the request's use of the token is stored");
  } finally {
    controller.abort();
    await served;
    client?.close();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
