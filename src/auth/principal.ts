/**
 * Who is calling: the operator (ADMIN_TOKEN) or an API token.
 */

/** Scopes an API token can carry. */
export type Scope = "mcp" | "admin";

/** The caller after authentication. */
export type Principal =
  | { kind: "admin"; name: "admin" }
  | {
      kind: "token";
      id: string;
      name: string;
      scopes: readonly Scope[];
      /** null = every server. */
      servers: readonly string[] | null;
    };

/** True when the principal may use the admin API. */
export function canAdmin(p: Principal): boolean {
  return p.kind === "admin" || p.scopes.includes("admin");
}

/** True when the principal may call MCP on the given server (`null` = the `/mcp` aggregate). */
export function canUseMcp(p: Principal, server: string | null): boolean {
  if (p.kind === "admin") return true;
  if (!p.scopes.includes("mcp")) return false;
  if (p.servers === null) return true;
  // A token limited to named servers cannot use the all-backends aggregate.
  return server !== null && p.servers.includes(server);
}
