/**
 * Small HTTP helpers for e2e tests and scripts: admin API calls and raw
 * MCP Streamable HTTP posts against a running gateway (no SDK), for tests that
 * need exact status codes, headers or session ids.
 */

/** A JSON answer: status, headers and the parsed body (null when empty). */
export interface JsonAnswer {
  status: number;
  headers: Headers;
  json: unknown;
}

async function answer(res: Response): Promise<JsonAnswer> {
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, json };
}

/** Calls the admin API of the gateway at `base` with `token`. */
export async function adminCall(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<JsonAnswer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined && { "content-type": "application/json" }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return answer(res);
}

/** POSTs one JSON-RPC message (or batch) to an MCP endpoint; SSE replies are returned as their last message. */
export async function mcpPost(
  url: string,
  message: unknown,
  options: { token?: string; session?: string; protocolVersion?: string; headers?: Record<string, string> } = {},
): Promise<JsonAnswer & { messages: unknown[] }> {
  const headers: Record<string, string> = {
    accept: "application/json, text/event-stream",
    "content-type": "application/json",
    ...options.headers,
  };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.session) headers["mcp-session-id"] = options.session;
  if (options.protocolVersion) headers["mcp-protocol-version"] = options.protocolVersion;
  const res = await fetch(url, { method: "POST", headers, body: JSON.stringify(message) });
  if ((res.headers.get("content-type") ?? "").includes("text/event-stream")) {
    const text = await res.text();
    const messages = text
      .split(/\r?\n/)
      .filter((line) => line.startsWith("data:"))
      .map((line) => line.slice(5).trim())
      .filter((data) => data !== "")
      .map((data) => JSON.parse(data) as unknown);
    return { status: res.status, headers: res.headers, json: messages.at(-1) ?? null, messages };
  }
  const plain = await answer(res);
  return { ...plain, messages: plain.json === null ? [] : [plain.json] };
}

/** An `initialize` request for `protocolVersion`. */
export function initializeMessage(protocolVersion = "2025-11-25", id: number | string = 1) {
  return {
    jsonrpc: "2.0",
    id,
    method: "initialize",
    params: { protocolVersion, capabilities: {}, clientInfo: { name: "e2e", version: "1" } },
  };
}

/** Opens a session with raw HTTP and returns its id (sends `notifications/initialized` too). */
export async function openSession(url: string, token?: string, protocolVersion = "2025-11-25"): Promise<string> {
  const init = await mcpPost(url, initializeMessage(protocolVersion), { ...(token && { token }) });
  const session = init.headers.get("mcp-session-id");
  if (init.status !== 200 || !session)
    throw new Error(`initialize failed: ${init.status} ${JSON.stringify(init.json)}`);
  await mcpPost(
    url,
    { jsonrpc: "2.0", method: "notifications/initialized" },
    { ...(token && { token }), session, protocolVersion },
  );
  return session;
}
