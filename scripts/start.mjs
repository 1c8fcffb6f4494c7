#!/usr/bin/env node
/**
 * `npm start`: run the gateway locally on workerd with local D1 (migrated),
 * Durable Objects and Queues. Creates `.dev.vars` with a random ADMIN_TOKEN on
 * first run and prints it once. PORT overrides 8787.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";

const port = process.env.PORT || "8787";
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

if (!existsSync(".dev.vars")) {
  const token = randomBytes(32).toString("base64url");
  writeFileSync(".dev.vars", `ADMIN_TOKEN=${token}\n`, { mode: 0o600 });
  console.log(`Created .dev.vars with a new admin token (shown once):\n\n  ADMIN_TOKEN=${token}\n`);
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
