/**
 * The conformance suite's Skills extension scenarios (SEP-2640:
 * `sep-2640-skills-enumeration`, `-manifest`, `-directory`) against the
 * gateway, at both revisions, on a prefixed server federating a 2026 and a
 * 2025 skills backend (`fed`) and on a `prefix: false` server with one
 * (`solo`). The scenarios are extensions, in no requirement set, so
 * `npm run test:conformance` does not run them; this does:
 *
 *   node --experimental-strip-types test/conformance/skills.ts
 *
 * (through `npx` or an npm script, so the project's Node 22 runs it). The
 * suite runs as a child process, never synchronously: the skills backends
 * live in this process and must keep answering. Prints each run's failures,
 * warnings and summary; exits non-zero when any run failed.
 */
import { spawn } from "node:child_process";
import { startSkillsBackend } from "../fixtures/skills-backend.ts";
import { startGateway } from "../helpers/gateway.ts";

const SCENARIOS = ["sep-2640-skills-enumeration", "sep-2640-skills-manifest", "sep-2640-skills-directory"];
const REVISIONS = ["2026-07-28", "2025-11-25"];

function suite(args: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn("npx", ["conformance", ...args]);
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.stderr.on("data", (chunk) => {
      out += chunk;
    });
    child.on("close", (status) => resolve({ status, out }));
  });
}

const gateway = await startGateway({ isolates: 2, vars: { ALLOWED_HOSTS: "localhost,127.0.0.1,[::1]" } });
const modern = await startSkillsBackend("skmodern", "modern");
const legacy = await startSkillsBackend("sklegacy", "legacy");
let failed = false;
try {
  const admin = async (path: string, body: unknown) => {
    const res = await fetch(`${gateway.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (res.status !== 201) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  };
  await admin("/api/backends", { name: modern.name, url: modern.url });
  await admin("/api/backends", { name: legacy.name, url: legacy.url });
  await admin("/api/servers", { name: "fed", backends: [modern.name, legacy.name], prefix: true, auth: "none" });
  await admin("/api/servers", { name: "solo", backends: [legacy.name], prefix: false, auth: "none" });
  const base = `http://localhost:${new URL(gateway.url).port}`;
  for (const server of ["fed", "solo"]) {
    for (const revision of REVISIONS) {
      for (const scenario of SCENARIOS) {
        const url = `${base}/servers/${server}/mcp`;
        const run = await suite([
          "server",
          "--url",
          url,
          "--scenario",
          scenario,
          "--spec-version",
          revision,
          "--force",
        ]);
        failed ||= run.status !== 0;
        const lines = run.out.split("\n").filter((line) => /FAILURE|WARNING|Passed:/.test(line));
        console.log(`${server} ${revision} ${scenario}: exit ${run.status}\n  ${lines.join("\n  ")}`);
      }
    }
  }
} finally {
  await Promise.all([gateway.stop(), modern.close(), legacy.close()]);
}
process.exitCode = failed ? 1 : 0;
