// The 2026 mirrored headers: the Base64 sentinel encoding, x-mcp-header declarations, and Mcp-Name/Mcp-Param-*.
import { describe, expect, it } from "vitest";
import {
  decodeHeaderValue,
  encodeHeaderValue,
  mirroredHeaders,
  paramHeaderValue,
  scanParamHeaders,
} from "../../src/protocol/mcp-headers";

describe("header value encoding (SEP-2243 sentinel)", () => {
  it("sends plain printable ASCII as it is", () => {
    for (const value of ["tools/call", "eu-west", "a b", "mem://x/readme?y=1", "", "~!"]) {
      expect(encodeHeaderValue(value)).toBe(value);
    }
  });

  it("encodes non-ASCII, control characters, edge whitespace and sentinel look-alikes", () => {
    expect(encodeHeaderValue("Zürich")).toBe(`=?base64?${btoa("Z\xc3\xbcrich")}?=`);
    expect(encodeHeaderValue("Hello")).toBe("Hello");
    expect(encodeHeaderValue(" Hello")).toBe("=?base64?IEhlbGxv?=");
    expect(encodeHeaderValue("Hello ")).toBe("=?base64?SGVsbG8g?=");
    expect(encodeHeaderValue("a\tb")).toBe("=?base64?YQli?=");
    expect(encodeHeaderValue("line\nbreak")).toBe(`=?base64?${btoa("line\nbreak")}?=`);
    expect(encodeHeaderValue("=?base64?SGVsbG8=?=")).toBe(`=?base64?${btoa("=?base64?SGVsbG8=?=")}?=`);
  });

  it("round-trips through the strict decoder", () => {
    for (const value of ["Zürich", " spaced ", "日本語", "=?base64?x?=", "tab\there", "plain"]) {
      expect(decodeHeaderValue(encodeHeaderValue(value))).toBe(value);
    }
  });

  it("decodes strictly: bad padding or characters are rejected, half-sentinels are literals", () => {
    expect(decodeHeaderValue("=?base64?SGVsbG8=?=")).toBe("Hello");
    expect(decodeHeaderValue("=?base64?SGVsbG8?=")).toBeNull();
    expect(decodeHeaderValue("=?base64?SGVs!!!bG8=?=")).toBeNull();
    expect(decodeHeaderValue("=?base64?/w==?=")).toBeNull(); // not UTF-8
    expect(decodeHeaderValue("=?base64?SGVsbG8=")).toBe("=?base64?SGVsbG8=");
    expect(decodeHeaderValue("SGVsbG8=?=")).toBe("SGVsbG8=?=");
  });

  it("converts argument values: strings, safe integers and booleans only", () => {
    expect(paramHeaderValue("eu")).toBe("eu");
    expect(paramHeaderValue(42)).toBe("42");
    expect(paramHeaderValue(-7)).toBe("-7");
    expect(paramHeaderValue(true)).toBe("true");
    expect(paramHeaderValue(false)).toBe("false");
    expect(paramHeaderValue(1.5)).toBeNull();
    expect(paramHeaderValue(2 ** 60)).toBeNull();
    expect(paramHeaderValue(null)).toBeNull();
    expect(paramHeaderValue({ a: 1 })).toBeNull();
  });
});

describe("x-mcp-header declarations", () => {
  const prop = (type: string, header?: string) => ({ type, ...(header && { "x-mcp-header": header }) });

  it("finds declarations reached through properties, nested ones included", () => {
    const schema = {
      type: "object",
      properties: {
        region: prop("string", "Region"),
        count: prop("integer", "Count"),
        flag: prop("boolean", "Flag"),
        where: { type: "object", properties: { zone: prop("string", "Zone") } },
        plain: prop("string"),
      },
    };
    expect(scanParamHeaders(schema)).toEqual([
      { path: ["region"], name: "Region" },
      { path: ["count"], name: "Count" },
      { path: ["flag"], name: "Flag" },
      { path: ["where", "zone"], name: "Zone" },
    ]);
    expect(scanParamHeaders({ type: "object", properties: { a: prop("string") } })).toEqual([]);
    expect(scanParamHeaders(undefined)).toEqual([]);
  });

  it("rejects the tool when a declaration breaks the rules", () => {
    const one = (property: Record<string, unknown>) =>
      scanParamHeaders({ type: "object", properties: { a: property } });
    expect(one(prop("number", "Amount"))).toBeNull(); // number is not allowed, only integer
    expect(one(prop("object", "Obj"))).toBeNull();
    expect(one({ type: "string", "x-mcp-header": "" })).toBeNull();
    expect(one(prop("string", "Bad Name"))).toBeNull();
    expect(one(prop("string", "Bad\r\nName"))).toBeNull();
    expect(one({ type: "string", "x-mcp-header": 7 })).toBeNull();
    // Case-insensitively unique.
    expect(
      scanParamHeaders({ type: "object", properties: { a: prop("string", "Id"), b: prop("string", "ID") } }),
    ).toBeNull();
    // Only through `properties`: never under items, oneOf, $defs…
    expect(
      scanParamHeaders({ type: "object", properties: { a: { type: "array", items: prop("string", "X") } } }),
    ).toBeNull();
    expect(scanParamHeaders({ type: "object", oneOf: [{ properties: { a: prop("string", "X") } }] })).toBeNull();
    expect(scanParamHeaders({ type: "object", $defs: { d: prop("string", "X") } })).toBeNull();
  });

  it("gives up on schemas too deep to judge (bounded walk)", () => {
    let deep: Record<string, unknown> = prop("string", "Deep");
    for (let i = 0; i < 40; i++) deep = { type: "object", properties: { next: deep } };
    expect(scanParamHeaders(deep)).toBeNull();
  });
});

describe("mirrored headers", () => {
  it("mirrors Mcp-Method always and Mcp-Name for tools/call, prompts/get and resources/read", () => {
    expect(mirroredHeaders("tools/list", {})).toEqual({ "mcp-method": "tools/list" });
    expect(mirroredHeaders("tools/call", { name: "echo" })).toEqual({ "mcp-method": "tools/call", "mcp-name": "echo" });
    expect(mirroredHeaders("prompts/get", { name: "greet" })["mcp-name"]).toBe("greet");
    expect(mirroredHeaders("resources/read", { uri: "file:///ä" })["mcp-name"]).toBe(encodeHeaderValue("file:///ä"));
    expect(mirroredHeaders("completion/complete", { name: "x" })).toEqual({ "mcp-method": "completion/complete" });
  });

  it("mirrors declared tools/call arguments that are present and not null", () => {
    const declarations = [
      { path: ["region"], name: "Region" },
      { path: ["where", "zone"], name: "Zone" },
      { path: ["missing"], name: "Missing" },
      { path: ["nothing"], name: "Nothing" },
    ];
    const headers = mirroredHeaders(
      "tools/call",
      { name: "t", arguments: { region: " eu", where: { zone: 3 }, nothing: null } },
      declarations,
    );
    expect(headers).toEqual({
      "mcp-method": "tools/call",
      "mcp-name": "t",
      "mcp-param-region": encodeHeaderValue(" eu"),
      "mcp-param-zone": "3",
    });
  });
});
