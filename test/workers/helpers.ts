import { exports } from "cloudflare:workers";
import type { BackendConfig } from "../../src/config/snapshot";

export const ADMIN = "test-admin-token";

/** A backend as the config snapshot holds it (a small test backend's defaults), for tests of pure functions. */
export function backendConfig(name: string, overrides: Partial<BackendConfig> = {}): BackendConfig {
  return {
    name,
    url: `https://${name}.example/mcp`,
    transport: "streamable-http",
    headers: {},
    timeoutMs: 1000,
    healthIntervalSeconds: 30,
    failureThreshold: 5,
    cooldownSeconds: 30,
    enabled: true,
    ...overrides,
  };
}

/** A unique slug per call, so tests never depend on each other's rows. */
let counter = 0;
export function uniqueName(prefix = "t"): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}`.slice(0, 32);
}

/** Calls the Worker's own fetch handler with JSON in and out. */
export async function api(
  method: string,
  path: string,
  options: { body?: unknown; rawBody?: BodyInit; token?: string | null; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: unknown; text: string }> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? ADMIN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: BodyInit | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await exports.default.fetch(`http://gateway.test${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** The `error` object of an error response. */
export function errorOf(body: unknown): {
  code: string;
  message: string;
  details?: Array<{ path: string; message: string }>;
} {
  return (body as { error: { code: string; message: string; details?: Array<{ path: string; message: string }> } })
    .error;
}

/** Registers a backend on a public literal address (allowed without ALLOW_PRIVATE_BACKENDS). */
export async function createBackend(extra: Record<string, unknown> = {}): Promise<string> {
  const name = uniqueName("b");
  const res = await api("POST", "/api/backends", { body: { name, url: "https://93.184.215.14/mcp", ...extra } });
  if (res.status !== 201) throw new Error(`createBackend: ${res.status} ${res.text}`);
  return name;
}
