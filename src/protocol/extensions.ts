/**
 * Protocol extensions the gateway knows by name (MCP 2026-07-28
 * `capabilities.extensions`, a map from extension id to its settings; the SDK
 * also sends it in 2025-11-25 `initialize` results).
 */

/** The Skills extension (SEP-2640): `skills/list`, `skills/get`, optional `resources/directory/read`. */
export const SKILLS_EXTENSION = "io.modelcontextprotocol/skills";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The settings a peer declared for extension `id` (`{}` counts), or null when it did not declare it. */
export function extensionSettings(
  capabilities: Record<string, unknown> | undefined,
  id: string,
): Record<string, unknown> | null {
  const extensions = capabilities?.extensions;
  if (!isObject(extensions)) return null;
  const settings = extensions[id];
  return isObject(settings) ? settings : null;
}
