import assert from "node:assert/strict";
import { join } from "node:path";
import { openAgentStore } from "../kv.ts";
import { CentralLayers, withStoredCentral } from "./central.ts";
import { loadConfig } from "./load.ts";
import { generateKey, parseKey } from "../../shared/config/secrets.ts";
import { storeKey } from "../../shared/config/store_key.ts";

const key = parseKey(generateKey(), "test");
const v = (version: number, text = `[scripts.s${version}]\ncommand = "sleep 60"\n`) => ({
  version,
  layers: [{ name: `central config v${version} (fleet)`, text }],
});

async function withKv(
  fn: (kv: Awaited<ReturnType<typeof openAgentStore>>, dir: string) => Promise<void>,
) {
  const dir = await Deno.makeTempDir();
  const kv = await openAgentStore(dir);
  try {
    await fn(kv, dir);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("CentralLayers: an offered version is tried once; accepted it is kept sealed in the store", async () => {
  await withKv(async (kv) => {
    let offers = 0;
    const layers = new CentralLayers({ kv, key, onOffer: () => offers++ });
    layers.offer(v(1));
    layers.offer(v(1));
    assert.equal(offers, 1, "the same version is not offered twice");
    assert.equal(layers.candidate?.version, 1);
    await layers.accept(v(1));
    assert.deepEqual(layers.state(), { version: 1 });
    const raw = JSON.stringify((await kv.get(["central_config"])).value);
    assert.ok(!raw.includes("sleep 60"), "stored sealed");
    const again = new CentralLayers({ kv, key, onOffer: () => {} });
    await again.load();
    assert.deepEqual(again.applied, v(1));
  });
});

Deno.test("CentralLayers: a refused version is reported and not tried again; the last good one stays", async () => {
  await withKv(async (kv) => {
    let offers = 0;
    const layers = new CentralLayers({ kv, key, onOffer: () => offers++ });
    layers.offer(v(1));
    await layers.accept(v(1));
    layers.offer(v(2));
    layers.refuse(v(2), "scripts.x.command: expected a command");
    assert.deepEqual(layers.state(), {
      version: 1,
      refused: { version: 2, message: "scripts.x.command: expected a command" },
    });
    assert.equal(layers.candidate?.version, 1);
    layers.offer(v(2));
    assert.equal(offers, 2, "the refused version is not offered again");
    layers.offer(v(3));
    await layers.accept(v(3));
    assert.deepEqual(layers.state(), { version: 3 });
  });
});

Deno.test("withStoredCentral(): a once pass runs with the version a daemon last applied", async () => {
  await withKv(async (kv, dir) => {
    const path = join(dir, "scriptmon.toml");
    await Deno.writeTextFile(
      path,
      `[agent]\nsite = "FC1"\ndata_dir = "."\n\n[collector]\nurl = "http://127.0.0.1:9/"\ntoken = "t"\n`,
    );
    const local = await loadConfig(path, { vars: {} });
    const stored = new CentralLayers({ kv, key: await storeKey(dir, Deno), onOffer: () => {} });
    await stored.accept(v(4));
    const merged = await withStoredCentral(local, kv);
    assert.deepEqual(Object.keys(merged.scripts), ["s4"]);
    assert.deepEqual(
      Object.keys((await withStoredCentral({ ...local, collector: undefined }, kv)).scripts),
      [],
    );
  });
});
