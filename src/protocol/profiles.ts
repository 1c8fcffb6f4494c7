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
  return PROFILE_CAPABILITIES.filter((c) => capabilities[c] !== undefined).join(",");
}

/** Client capabilities that change what a backend may offer. */
const PROFILE_CAPABILITIES = ["sampling", "elicitation", "roots"] as const;

/** Every possible capability profile (all subsets, in `capabilityProfile` order). */
export const ALL_PROFILES: readonly string[] = Array.from({ length: 1 << PROFILE_CAPABILITIES.length }, (_, mask) =>
  PROFILE_CAPABILITIES.filter((_, i) => mask & (1 << i)).join(","),
);

/** Capabilities reconstructed from a profile (for catalog fetches). */
export function profileCapabilities(profile: string): Record<string, unknown> {
  const caps: Record<string, unknown> = {};
  for (const c of profile.split(",")) if (c) caps[c] = {};
  return caps;
}
