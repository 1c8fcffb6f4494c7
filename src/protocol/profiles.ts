/**
 * Capability profiles: the subset of a client's capabilities that changes
 * what backends offer it (a backend may list tools only for clients that can
 * answer sampling). Catalogs are cached per profile, so clients with and
 * without those capabilities each see exactly what a backend offers them.
 * Era-neutral: a 2025 session declares capabilities once, a 2026 request
 * declares them in its `_meta`.
 */

/**
 * The capability profile: which client capabilities change what backends offer.
 * Listings are cached per profile, so clients with and without sampling each
 * see exactly what a backend offers them.
 */
export function capabilityProfile(capabilities: Record<string, unknown>): string {
  return PROFILE_CAPABILITIES.filter((c) => claims(capabilities, c)).join(",");
}

/**
 * Client capabilities that change what a backend may offer. `ui` is the MCP
 * Apps extension (SEP-1865, "Client<>Server Capability Negotiation": servers
 * SHOULD register their UI tools only for clients that claim it), declared
 * under `capabilities.extensions`. Appended last, so older profile strings
 * (in sealed session ids) keep their meaning.
 */
const PROFILE_CAPABILITIES = ["sampling", "elicitation", "roots", "ui"] as const;

/** The MCP Apps extension's identifier. */
export const UI_EXTENSION = "io.modelcontextprotocol/ui";
/** The one view type MCP Apps defines (what a claimed UI profile declares when rebuilt). */
const APP_MIME_TYPE = "text/html;profile=mcp-app";

function claims(capabilities: Record<string, unknown>, capability: (typeof PROFILE_CAPABILITIES)[number]): boolean {
  if (capability !== "ui") return capabilities[capability] !== undefined;
  const extensions = capabilities.extensions;
  const ui =
    typeof extensions === "object" && extensions !== null
      ? (extensions as Record<string, unknown>)[UI_EXTENSION]
      : undefined;
  return typeof ui === "object" && ui !== null;
}

/** Every possible capability profile (all subsets, in `capabilityProfile` order). */
export const ALL_PROFILES: readonly string[] = Array.from({ length: 1 << PROFILE_CAPABILITIES.length }, (_, mask) =>
  PROFILE_CAPABILITIES.filter((_, i) => mask & (1 << i)).join(","),
);

/** Capabilities reconstructed from a profile (for catalog fetches). */
export function profileCapabilities(profile: string): Record<string, unknown> {
  const caps: Record<string, unknown> = {};
  for (const c of profile.split(",")) {
    if (c === "ui") caps.extensions = { [UI_EXTENSION]: { mimeTypes: [APP_MIME_TYPE] } };
    else if (c) caps[c] = {};
  }
  return caps;
}
