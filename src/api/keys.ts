/**
 * `/api/keys`: the encryption key ring as the operator sees it (key ids only,
 * never keys) and rotation: re-sealing every stored secret under the current
 * key, so the previous key can be retired (README, "Keys and rotation").
 */
import { createRoute, z } from "@hono/zod-openapi";
import { keyRing } from "../auth/keys";
import { backendConfig, ringOrNull } from "../config/d1-source";
import { database } from "../config/db";
import { getBackendRow } from "../config/store/backends";
import { listSecrets, resealAll } from "../config/store/keys";
import { syncBackend } from "./backend-lifecycle";
import { apiRouter, commonErrors, jsonResponse } from "./openapi";

const tags = ["keys"];

const Secret = z.object({
  kind: z.enum(["backend", "plugin"]),
  name: z.string(),
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
      const secrets = await listSecrets(database(c.env.DB), ring);
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
      // Each BackendDO keeps its own sealed copy of the headers: hand it the config again.
      const sealedRing = await ringOrNull(c.env);
      for (const name of result.backends) {
        const backend = await backendConfig(await getBackendRow(db, name), sealedRing);
        if (backend.enabled) await syncBackend(c.env, backend);
      }
      return c.json(
        {
          current: ring.current.id,
          resealed: result.resealed,
          alreadyCurrent: result.current,
          unreadable: result.unreadable,
        },
        200,
      );
    },
  );
