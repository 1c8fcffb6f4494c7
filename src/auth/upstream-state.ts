/**
 * The sealed values of the upstream consent flow (README, "Upstream OAuth").
 *
 * - The link handed to the client in a URL-mode elicitation carries a `link`
 *   state: which user, which backend, a nonce and an expiry. Opening it in a
 *   browser starts that user's consent with that backend (the browser has no
 *   gateway credential, so the link itself is the proof; it is short-lived,
 *   and the nonce makes its completion one-time).
 * - The `state` parameter sent to the authorization server carries the same
 *   facts plus the PKCE verifier (RFC 7636), so the callback needs no server
 *   side storage except the one-time nonce record in the user's object.
 *
 * Both are sealed (AES-GCM, purpose `upstream-state`, `seal.ts`): a client
 * can neither read the verifier nor forge or alter a state; each kind is
 * tagged so a link is never accepted as a callback state and back.
 */
import { z } from "zod";
import type { KeyRing } from "./keys";
import { open, seal } from "./seal";

/** How long a consent link (and the authorization it starts) stays usable. */
export const CONSENT_TTL_MS = 10 * 60_000;
/** Longest sealed state accepted from a URL (a real one is about 400 characters). */
export const MAX_STATE_CHARS = 2_048;

const Base = {
  /** The user (principal subject). */
  u: z.string().min(1).max(512),
  /** The backend. */
  b: z.string().min(1).max(128),
  /** Nonce: one completion per link. */
  n: z.string().min(16).max(64),
  /** Expiry, epoch ms. */
  e: z.number().int(),
};

const LinkState = z.strictObject({
  k: z.literal("link"),
  ...Base,
  /** The user's display name (token name, OAuth user name), shown on the confirmation page. */
  d: z.string().max(256).optional(),
});
const ServerState = z.strictObject({ k: z.literal("as"), ...Base, v: z.string().min(43).max(128) });

export type LinkState = z.infer<typeof LinkState>;
export type ServerState = z.infer<typeof ServerState>;

/** Why a state was refused (each becomes a 400 page naming it). */
export class StateError extends Error {
  constructor(readonly reason: "malformed" | "expired") {
    super(
      reason === "expired" ? "This link has expired; call the tool again for a new one" : "Invalid or altered state",
    );
    this.name = "StateError";
  }
}

/** Seals a consent link's state. */
export function sealLink(state: Omit<LinkState, "k">, ring: KeyRing): Promise<string> {
  return seal({ k: "link", ...state }, ring, "upstream-state");
}

/** Seals the state sent to the authorization server. */
export function sealServerState(state: Omit<ServerState, "k">, ring: KeyRing): Promise<string> {
  return seal({ k: "as", ...state }, ring, "upstream-state");
}

async function opened<T>(sealed: string, ring: KeyRing, schema: z.ZodType<T>, now: number): Promise<T & { e: number }> {
  if (sealed.length === 0 || sealed.length > MAX_STATE_CHARS) throw new StateError("malformed");
  let value: unknown;
  try {
    value = (await open(sealed, ring, "upstream-state")).value;
  } catch {
    // UnsealError (forged, altered, another key) or anything a crafted value provokes: the same answer.
    throw new StateError("malformed");
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new StateError("malformed");
  const state = parsed.data as T & { e: number };
  if (state.e < now) throw new StateError("expired");
  return state;
}

/** Opens a link state; throws StateError when forged, altered, of the other kind or expired. */
export function openLink(sealed: string, ring: KeyRing, now = Date.now()): Promise<LinkState> {
  return opened(sealed, ring, LinkState, now);
}

/** Opens a callback state; throws StateError when forged, altered, of the other kind or expired. */
export function openServerState(sealed: string, ring: KeyRing, now = Date.now()): Promise<ServerState> {
  return opened(sealed, ring, ServerState, now);
}
