// The portable PostgreSQL driver, transpiled by jco, from Node.js: TCP
// and TLS (inside the adapter) over jco's wasi:sockets shim.
//
//   driverbox drivers portable postgres -o postgres-portable.wasm
//   npm run transpile-postgres && npm run postgres
//
// The adapter's settings (DRIVERBOX_SSLMODE, default verify-full) and the
// connection (PGHOST, PGPORT, PGUSER, PGDATABASE) come from this process's
// environment.
import { _setEnv } from "@bytecodealliance/preview2-shim/cli";

const env = process.env;
_setEnv(
  Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith("DRIVERBOX_"))),
);
const { base } = await import("./out/postgres.js");

try {
  base.connect({
    hosts: [{ host: env.PGHOST ?? "127.0.0.1", port: Number(env.PGPORT ?? 5432) }],
    user: env.PGUSER ?? "postgres",
    database: env.PGDATABASE ?? "test",
    tls: env.PGSSLMODE ?? "prefer",
    applicationName: "driverbox-node",
    options: [],
  });
  const r = base.query(
    "select $1::int8 + 1 as n, ssl from pg_stat_ssl where pid = pg_backend_pid()",
    [{ tag: "int", val: 41n }],
  );
  console.log("postgres:", r.columns.map((c) => c.name), r.batch.columns.map((c) => c.data.val));
  base.close();
} catch (e) {
  console.error("postgres failed:", JSON.stringify(e.payload ?? String(e), (k, v) => (typeof v === "bigint" ? v.toString() : v)));
  process.exitCode = 1;
}
