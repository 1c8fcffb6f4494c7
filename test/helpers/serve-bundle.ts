/**
 * Serves the production bundle on workerd (Miniflare 5, no `wrangler dev`)
 * for ad-hoc measurement, and prints the URL and admin token.
 *
 *   npm run serve:bundle
 *   PORT=8788 ISOLATES=2 npm run serve:bundle
 *
 * (npm puts the project's Node 22 first on PATH; wrangler and Miniflare
 * need Node >= 22.12.) Env: PORT (default 0 = free port),
 * ISOLATES (1 or 2, default 1), E2E_GATEWAY_LOG=1 to print Worker logs.
 * Stops on SIGINT / SIGTERM.
 */
import { startGateway } from "./gateway.ts";

const port = Number.parseInt(process.env.PORT ?? "0", 10);
const isolates = process.env.ISOLATES === "2" ? 2 : 1;
const gateway = await startGateway({ isolates, port: Number.isNaN(port) ? 0 : port });

process.stdout.write(
  [
    `MCP gateway (production bundle on workerd, ${isolates} isolate${isolates === 2 ? "s" : ""})`,
    `URL=${gateway.url}`,
    `ADMIN_TOKEN=${gateway.adminToken}`,
    ...(isolates === 2 ? gateway.isolateUrls.map((url, i) => `ISOLATE_${i}=${url}`) : []),
    "",
  ].join("\n"),
);

const stop = (): void => {
  gateway.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
