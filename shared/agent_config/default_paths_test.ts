import assert from "node:assert/strict";
import { agentHome, defaultDataDir } from "./default_paths.ts";

const WINDOWS_ENV = {
  LOCALAPPDATA: "C:\\Users\\ann\\AppData\\Local",
  USERPROFILE: "C:\\Users\\ann",
  HOME: "/home/ann",
};

Deno.test("agentHome() is %LOCALAPPDATA%\\scriptmon on Windows", () => {
  assert.equal(agentHome("windows", WINDOWS_ENV), "C:\\Users\\ann\\AppData\\Local\\scriptmon");
  assert.equal(agentHome("windows", { HOME: "/home/ann" }), undefined);
  assert.equal(agentHome("windows", { LOCALAPPDATA: "" }), undefined);
});

Deno.test("agentHome() is $XDG_DATA_HOME/scriptmon elsewhere, ~/.local/share/scriptmon without it", () => {
  assert.equal(
    agentHome("linux", { XDG_DATA_HOME: "/data", HOME: "/home/ann" }),
    "/data/scriptmon",
  );
  assert.equal(agentHome("linux", WINDOWS_ENV), "/home/ann/.local/share/scriptmon");
  assert.equal(agentHome("darwin", { HOME: "/Users/ann" }), "/Users/ann/.local/share/scriptmon");
  assert.equal(agentHome("linux", {}), undefined);
});

Deno.test("defaultDataDir() is under %LOCALAPPDATA% on Windows, beside the config elsewhere", () => {
  assert.equal(
    defaultDataDir("windows", WINDOWS_ENV),
    "C:\\Users\\ann\\AppData\\Local\\scriptmon\\scriptmon-data",
  );
  assert.equal(defaultDataDir("windows", {}), "./scriptmon-data");
  assert.equal(defaultDataDir("linux", WINDOWS_ENV), "./scriptmon-data");
});
