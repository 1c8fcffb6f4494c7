/**
 * The pass-through floor of the discovery benchmark, as in `bench/run.ts`: a
 * Worker that forwards body and headers unchanged to one backend, on its own
 * workerd (the least any gateway on this runtime can cost per call).
 */
import { loadMiniflare } from "../../test/helpers/gateway.ts";
import { newWorkerd, workerdPids } from "../harness.ts";

/** Starts the pass-through Worker in front of `target`; its URL and workerd PID. */
export async function startPassthrough(
  target: string,
): Promise<{ url: string; pid: number | null; stop: () => Promise<void> }> {
  const { Miniflare, convertV4MiniflareOptions } = loadMiniflare();
  const before = workerdPids();
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      workers: [
        {
          name: "passthrough",
          modules: true,
          compatibilityDate: "2026-11-01",
          script:
            "export default { fetch(request, env) { return fetch(env.TARGET, { method: request.method, headers: request.headers, body: request.body }); } };",
          bindings: { TARGET: target },
          unsafeDirectSockets: [{}],
        },
      ],
    }),
  );
  const url = (await mf.unsafeGetDirectURL("passthrough")).href;
  return { url, pid: newWorkerd(before), stop: () => mf.dispose() };
}
