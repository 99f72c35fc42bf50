import assert from "node:assert/strict";
import { denoFixture, testScript } from "../../tests/_helpers.ts";
import { holderText, replicaEnv, slotFields, waitingReason } from "./_lease_slot.ts";

const one = testScript("report", denoFixture("print_hang.ts"), { singleton: "site" });
const three = { ...one, replicas: 3 };

Deno.test("slotFields() names replicas only above one copy, and the slot only when renewing or releasing", () => {
  assert.deepEqual(slotFields(one, 0, "renew"), {});
  assert.deepEqual(slotFields({ ...one, replicas: 1 }, 0, "renew"), {});
  assert.deepEqual(slotFields(three, 2, "acquire"), { replicas: 3 });
  assert.deepEqual(slotFields(three, 2, "renew"), { replicas: 3, replica: 2 });
  assert.deepEqual(slotFields(three, null, "release"), { replicas: 3 });
});

Deno.test("replicaEnv() gives SCRIPTMON_REPLICA and SCRIPTMON_REPLICAS to scripts with the replicas key only", () => {
  assert.deepEqual(replicaEnv(one, 0), {});
  assert.deepEqual(replicaEnv(three, 2), { SCRIPTMON_REPLICA: "2", SCRIPTMON_REPLICAS: "3" });
  assert.deepEqual(replicaEnv({ ...one, replicas: 1 }, 0), {
    SCRIPTMON_REPLICA: "0",
    SCRIPTMON_REPLICAS: "1",
  });
});

Deno.test("holderText() names the slot held here, or every slot's holder", () => {
  const here = { held: true, holder: "BFI4/ws-01", replica: 1, holders: ["a", "BFI4/ws-01", "b"] };
  assert.equal(holderText(here, three), "BFI4/ws-01, replica 1 of 3");
  assert.equal(
    holderText({ ...here, holders: [null, "BFI4/ws-01", null] }, three),
    "BFI4/ws-01, replica 1 of 3, 1 of 3 slots held",
  );
  const elsewhere = { held: false, holder: "a", replica: null, holders: ["a", null, "b"] };
  assert.equal(holderText(elsewhere, three), "a (replica 0), b (replica 2)");
  assert.equal(holderText({ ...elsewhere, holders: [null, null, null] }, three), null);
  assert.equal(holderText({ ...elsewhere, holders: null }, one), "a");
});

Deno.test("waitingReason() counts the slots held with replicas and names the holder without", () => {
  const at = "2026-05-01T12:00:15.000Z";
  assert.equal(
    waitingReason({ held: false, holder: "a", expiresAt: at }),
    `waiting for the site lease (held by a until ${at})`,
  );
  assert.equal(
    waitingReason({
      held: false,
      holder: "b",
      expiresAt: at,
      replica: null,
      replicas: 3,
      holders: ["a", null, "b"],
    }),
    `waiting for a site lease slot (2 of 3 held: a, b; the first until ${at})`,
  );
  assert.equal(
    waitingReason({
      held: false,
      holder: null,
      expiresAt: null,
      replica: null,
      replicas: 2,
      holders: [null, null],
    }),
    "waiting for a site lease slot",
  );
});
