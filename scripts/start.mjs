#!/usr/bin/env node
/**
 * `npm start`: run the gateway locally on workerd with local D1 (migrated),
 * Durable Objects and Queues. Creates `.dev.vars` with a random ADMIN_TOKEN on
 * first run and prints it once, and keeps a random ENCRYPTION_KEY beside it
 * (so changing the admin token never touches stored secrets). PORT overrides
 * 8787.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";

const port = process.env.PORT || "8787";
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

if (!existsSync(".dev.vars")) {
  const token = randomBytes(32).toString("base64url");
  writeFileSync(".dev.vars", `ADMIN_TOKEN=${token}\n`, { mode: 0o600 });
  console.log(`Created .dev.vars with a new admin token (shown once):\n\n  ADMIN_TOKEN=${token}\n`);
}
// Secrets at rest and session ids are sealed with ENCRYPTION_KEY. A .dev.vars from before it existed
// gets one added; values sealed under the admin token stay readable (the token is always in the key ring).
if (!/^ENCRYPTION_KEY=/m.test(readFileSync(".dev.vars", "utf8"))) {
  const text = readFileSync(".dev.vars", "utf8");
  appendFileSync(
    ".dev.vars",
    `${text.endsWith("\n") || text === "" ? "" : "\n"}ENCRYPTION_KEY=${randomBytes(32).toString("base64url")}\n`,
  );
  console.log("Added a random ENCRYPTION_KEY to .dev.vars (see README, Keys and rotation).");
}

const migrate = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local"], {
  stdio: ["ignore", "inherit", "inherit"],
  env: { ...env, CI: "true" },
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

// Loopback and private backends are fine for local development; deployments refuse them.
const dev = spawn(
  "wrangler",
  [
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    port,
    "--var",
    "ALLOW_PRIVATE_BACKENDS:true",
    // A local gateway answers only for loopback host names (DNS-rebinding protection).
    "--var",
    "ALLOWED_HOSTS:localhost,127.0.0.1,[::1]",
    "--show-interactive-dev-session=false",
  ],
  { stdio: "inherit", env },
);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));
