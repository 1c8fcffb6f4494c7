/**
 * `/api/keys`: the encryption key ring as the operator sees it (key ids only,
 * never keys) and rotation: re-sealing every stored secret under the current
 * key, so the previous key can be retired (README, "Keys and rotation").
 */
import { createRoute, z } from "@hono/zod-openapi";
import { keyRing } from "../auth/keys";
import { backendConfig, ringOrNull } from "../config/d1-source";
import { database } from "../config/db";
import type { ConfigSnapshot } from "../config/snapshot";
import { getBackendRow } from "../config/store/backends";
import { listConnections } from "../config/store/connections";
import { listSecrets, resealAll, type StoredSecret } from "../config/store/keys";
import type { Bindings } from "../env";
import { upstreamTokenObject } from "../stubs";
import { syncBackend } from "./backend-lifecycle";
import { apiRouter, commonErrors, jsonResponse } from "./openapi";

const tags = ["keys"];

/**
 * The objects holding upstream tokens: users' (from the connection index,
 * bounded by its listing limit) and each client-credentials backend's own.
 */
async function tokenHolders(env: Bindings, config: ConfigSnapshot): Promise<string[]> {
  const rows = await listConnections(database(env.DB), {});
  const shared = [...config.backends.values()].filter((b) => b.auth?.grant === "client_credentials");
  return [...new Set([...rows.map((r) => r.subject), ...shared.map((b) => `client:${b.name}`)])];
}

/** Every user's upstream tokens and the key each is sealed under (asked of their objects). */
async function tokenSecrets(env: Bindings, config: ConfigSnapshot): Promise<StoredSecret[]> {
  const out: StoredSecret[] = [];
  for (const subject of await tokenHolders(env, config)) {
    for (const t of await upstreamTokenObject(env, subject).keys())
      out.push({ kind: "upstream-token", name: `${subject} ${t.backend}`, keyId: t.keyId });
  }
  return out;
}

/** Re-seals every user's upstream tokens under the current key, object by object. */
async function resealTokens(env: Bindings, config: ConfigSnapshot, current: string) {
  const out = { resealed: [] as StoredSecret[], current: 0, unreadable: [] as StoredSecret[] };
  for (const subject of await tokenHolders(env, config)) {
    const r = await upstreamTokenObject(env, subject).reseal();
    out.current += r.current;
    for (const b of r.resealed) out.resealed.push({ kind: "upstream-token", name: `${subject} ${b}`, keyId: current });
    for (const b of r.unreadable) out.unreadable.push({ kind: "upstream-token", name: `${subject} ${b}`, keyId: null });
  }
  return out;
}

const Secret = z.object({
  kind: z.enum(["backend", "plugin", "client-secret", "upstream-token"]),
  name: z.string().openapi({ description: "Backend or plugin name; for an upstream token `<user> <backend>`" }),
  keyId: z.string().nullable().openapi({ description: "The key that opens it; null when no configured key does" }),
});

const KeyStatus = z
  .object({
    current: z.string().openapi({ description: "Id of the key new secrets are sealed with" }),
    accepted: z.array(z.string()).openapi({ description: "Ids of every key that still opens secrets, current first" }),
    secrets: z.array(Secret),
  })
  .openapi("KeyStatus");

const Rotation = z
  .object({
    current: z.string(),
    resealed: z.array(Secret),
    alreadyCurrent: z.number().int(),
    unreadable: z.array(Secret).openapi({ description: "Left as they are: re-enter these values" }),
  })
  .openapi("KeyRotation");

/** Routes under /api/keys. */
export const keyRoutes = apiRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/",
      tags,
      summary: "Key ids and the key each stored secret depends on",
      responses: { 200: jsonResponse(KeyStatus, "The key ring"), ...commonErrors },
    }),
    async (c) => {
      const ring = await keyRing(c.env);
      const secrets = [
        ...(await listSecrets(database(c.env.DB), ring)),
        ...(await tokenSecrets(c.env, c.get("config"))),
      ];
      return c.json({ current: ring.current.id, accepted: ring.keys.map((k) => k.id), secrets }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/rotate",
      tags,
      summary: "Re-seal every stored secret under the current key",
      description:
        "Run after setting a new `ENCRYPTION_KEY` with the old one in `ENCRYPTION_KEY_PREVIOUS`. All re-sealed values are written in one transaction; unreadable ones are listed and left alone. When `GET /api/keys` shows no secret under an old key, remove it from `ENCRYPTION_KEY_PREVIOUS`.",
      responses: { 200: jsonResponse(Rotation, "What was re-sealed"), ...commonErrors },
    }),
    async (c) => {
      const db = database(c.env.DB);
      const ring = await keyRing(c.env);
      const result = await resealAll(db, ring);
      const tokens = await resealTokens(c.env, c.get("config"), ring.current.id);
      // Each BackendDO keeps its own sealed copy of the headers: hand it the config again.
      const sealedRing = await ringOrNull(c.env);
      for (const name of result.backends) {
        const backend = await backendConfig(await getBackendRow(db, name), sealedRing);
        if (backend.enabled) await syncBackend(c.env, backend);
      }
      return c.json(
        {
          current: ring.current.id,
          resealed: [...result.resealed, ...tokens.resealed],
          alreadyCurrent: result.current + tokens.current,
          unreadable: [...result.unreadable, ...tokens.unreadable],
        },
        200,
      );
    },
  );
