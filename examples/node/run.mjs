// The portable SQLite driver, transpiled to JavaScript by jco, run from
// Node.js with jco's WASI 0.2 shims (@bytecodealliance/preview2-shim).
//
//   driverbox drivers portable sqlite -o sqlite-portable.wasm
//   npm install && npm run transpile && npm start
//
// See docs/portable.md for what works and what the shims lack.
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { _setPreopens } from "@bytecodealliance/preview2-shim/filesystem";

const dataDir = resolve("data");
mkdirSync(dataDir, { recursive: true });
// The driver sees the host directory ./data as /data, and nothing else.
_setPreopens({ "/data": dataDir });

const driver = await import("./out/sqlite.js");
const base = driver.base ?? driver["driverbox:driver/base@0.2.0"];
const traits = driver.traits ?? driver["driverbox:driver/traits@0.2.0"];

function rows(result) {
  // Columnar batch to row arrays (integers, floats and text only; enough here).
  const out = [];
  for (let r = 0; r < result.batch.rows; r++) out.push([]);
  result.batch.columns.forEach((col) => {
    const data = col.data;
    const next = [0, 0, 0, 0, 0];
    for (let r = 0; r < result.batch.rows; r++) {
      let v = null;
      if (data.tag === "dynamic") {
        const tag = data.val.tags[r];
        const i = next[tag]++;
        if (tag === 1) v = data.val.integers[i];
        else if (tag === 2) v = data.val.floats[i];
        else if (tag === 3) {
          const o = data.val.texts.offsets;
          v = new TextDecoder().decode(data.val.texts.data.slice(o[i], o[i + 1]));
        }
      } else if (data.tag === "varlen") {
        const o = data.val.offsets;
        v = new TextDecoder().decode(data.val.data.slice(o[r], o[r + 1]));
      } else if (data.tag !== "null") {
        v = data.val[r];
      }
      out[r].push(v);
    }
  });
  return out;
}

console.log("driver:", traits.metadata().name, traits.metadata().version);
const config = (database, mode) => ({
  hosts: [],
  user: undefined,
  password: undefined,
  database,
  tls: "disable",
  applicationName: undefined,
  options: mode ? [["mode", mode]] : [],
});

try {
  base.connect(config(undefined, "memory"));
  const r = base.query("select sqlite_version() as v, 6 * 7 as answer, ? || '!' as greeting", [
    { tag: "text", val: "hello" },
  ]);
  console.log("in memory:", r.columns.map((c) => c.name), rows(r));
  base.close();
} catch (e) {
  console.error("in-memory query failed:", JSON.stringify(e.payload ?? e, null, 1));
  process.exitCode = 1;
}

try {
  base.connect(config("/data/node.db"));
  base.execute("create table if not exists t (id integer primary key, name text)", []);
  base.execute("insert into t (name) values (?)", [{ tag: "text", val: `run at ${new Date().toISOString()}` }]);
  const r = base.query("select count(*), max(name) from t", []);
  console.log("file database:", rows(r));
  base.close();
} catch (e) {
  console.error("file database failed:", JSON.stringify(e.payload ?? e, null, 1));
  process.exitCode = 1;
}
