/**
 * A real collector on loopback for the Windows lane's link test, run on the
 * Linux side by scripts/windows_lane.sh (Wine shares the network): prints one
 * JSON line `{ url, apiToken, agentToken }` (the agent token is for site WIN1,
 * host winlane) and serves until SIGTERM, then removes its data.
 *
 * @module
 */
import { Fleet } from "../_fleet.ts";

const fleet = await Fleet.start();
const agentToken = await fleet.collector.agentToken("WIN1", "winlane");
console.log(JSON.stringify({ url: fleet.collector.url, apiToken: fleet.apiToken, agentToken }));
await new Promise<void>((resolve) => Deno.addSignalListener("SIGTERM", resolve));
await fleet[Symbol.asyncDispose]();
