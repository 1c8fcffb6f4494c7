/**
 * The conformance fixture's fixed material (`fixture-server.ts`): the test
 * media (a 1x1 PNG, a tiny WAV), texts and names the suite checks, the
 * elicitation and JSON Schema 2020-12 schemas, the per-session and shared
 * state types, and the per-session event store used for resumability.
 * Node-only; not part of the Workers bundle.
 */
import { deflateSync } from "node:zlib";
import type { EventId, EventStore, StreamId } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type {
  CallToolResult,
  ElicitRequestFormParams,
  JSONRPCMessage,
  LoggingLevel,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

// ---------------------------------------------------------------------------
// Static test data
// ---------------------------------------------------------------------------

const CRC_TABLE: readonly number[] = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) {
    c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return c >>> 0;
});

function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc = (CRC_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const typeAndData = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** A valid 1x1 red PNG, base64. */
function makeRedPixelPng(): string {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0); // width
  ihdr.writeUInt32BE(1, 4); // height
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(2, 9); // colour type: truecolour (RGB)
  // compression, filter, interlace: 0
  const scanline = Buffer.from([0, 0xff, 0x00, 0x00]); // filter byte + RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", deflateSync(scanline)),
    pngChunk("IEND", Buffer.alloc(0)),
  ]).toString("base64");
}

/** A valid, tiny WAV (8 kHz, mono, 8-bit PCM, 50 ms square wave), base64. */
function makeTinyWav(): string {
  const sampleRate = 8000;
  const samples = 400;
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "ascii");
  header.writeUInt32LE(36 + samples, 4);
  header.write("WAVE", 8, "ascii");
  header.write("fmt ", 12, "ascii");
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate, 28); // byte rate
  header.writeUInt16LE(1, 32); // block align
  header.writeUInt16LE(8, 34); // bits per sample
  header.write("data", 36, "ascii");
  header.writeUInt32LE(samples, 40);
  const data = Buffer.alloc(samples);
  for (let i = 0; i < samples; i++) {
    data[i] = Math.floor(i / 9) % 2 === 0 ? 0xa0 : 0x60;
  }
  return Buffer.concat([header, data]).toString("base64");
}

/** The image of `test_image_content` and friends: a 1x1 red PNG, base64. */
export const RED_PIXEL_PNG = makeRedPixelPng();
/** The audio of `test_audio_content`: a 50 ms WAV, base64. */
export const TINY_WAV = makeTinyWav();

/** The text of `test://static-text`. */
export const STATIC_TEXT = "This is the content of the static text resource.";
/** The resource `resources-subscribe` subscribes to. */
export const WATCHED_URI = "test://watched-resource";
/** What `completion/complete` offers for the prompt arguments (filtered by prefix). */
export const COMPLETION_WORDS = ["paris", "park", "party", "test", "testing", "test-value", "hello", "world"];

/** Delay before `test_reconnection` answers, after closing its stream. */
export const RECONNECTION_RESULT_DELAY_MS = 400;
/** Events kept per session for resumption. */
const MAX_EVENTS_PER_SESSION = 2000;

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A tool result with one text block. */
export const text = (value: string): CallToolResult => ({
  content: [{ type: "text", text: value }],
});

// ---------------------------------------------------------------------------
// Resumability: per-session in-memory event store
// ---------------------------------------------------------------------------

interface StoredEvent {
  streamId: StreamId;
  message: JSONRPCMessage;
}

/**
 * Bounded, insertion-ordered event log. Event ids are opaque and unique per
 * store; replay sends every later event of the same stream, skipping the
 * empty priming events the transport stores.
 */
export class InMemoryEventStore implements EventStore {
  private readonly events = new Map<EventId, StoredEvent>();
  private readonly maxEvents: number;
  private counter = 0;

  constructor(maxEvents = MAX_EVENTS_PER_SESSION) {
    this.maxEvents = maxEvents;
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    this.counter += 1;
    const eventId = `${streamId}:${this.counter}`;
    this.events.set(eventId, { streamId, message });
    while (this.events.size > this.maxEvents) {
      const oldest = this.events.keys().next();
      if (oldest.done) break;
      this.events.delete(oldest.value);
    }
    return eventId;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.events.get(eventId)?.streamId;
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const last = this.events.get(lastEventId);
    if (!last) throw new Error(`Unknown event id: ${lastEventId}`);
    let found = false;
    for (const [eventId, event] of this.events) {
      if (eventId === lastEventId) {
        found = true;
        continue;
      }
      if (!found || event.streamId !== last.streamId) continue;
      if (!("jsonrpc" in event.message)) continue; // priming event
      await send(eventId, event.message);
    }
    return last.streamId;
  }
}

// ---------------------------------------------------------------------------
// State of a session and of the whole fixture
// ---------------------------------------------------------------------------

/** Per-session state the MCP handlers need. */
export interface SessionContext {
  subscriptions: Set<string>;
  logLevel?: LoggingLevel;
}

/** State the sessions share (one per fixture). */
export interface SharedState {
  watchedVersion: number;
  /** Sends `notifications/<kind>/list_changed` to every open session (set once the sessions exist). */
  broadcastListChanged: (kind: "tools" | "prompts") => Promise<number>;
}

// ---------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------

/** `test_elicitation_sep1034_defaults`: a default for every primitive type (SEP-1034). */
export const SEP1034_SCHEMA: ElicitRequestFormParams["requestedSchema"] = {
  type: "object",
  properties: {
    name: { type: "string", description: "User name", default: "John Doe" },
    age: { type: "integer", description: "User age", default: 30 },
    score: { type: "number", description: "User score", default: 95.5 },
    status: {
      type: "string",
      description: "User status",
      enum: ["active", "inactive", "pending"],
      default: "active",
    },
    verified: {
      type: "boolean",
      description: "Verification status",
      default: true,
    },
  },
};

/** `test_elicitation_sep1330_enums`: all five enum variants (SEP-1330). */
export const SEP1330_SCHEMA: ElicitRequestFormParams["requestedSchema"] = {
  type: "object",
  properties: {
    untitledSingle: {
      type: "string",
      description: "Untitled single-select",
      enum: ["option1", "option2", "option3"],
    },
    titledSingle: {
      type: "string",
      description: "Titled single-select",
      oneOf: [
        { const: "value1", title: "First Option" },
        { const: "value2", title: "Second Option" },
        { const: "value3", title: "Third Option" },
      ],
    },
    legacyEnum: {
      type: "string",
      description: "Legacy titled enum (enumNames)",
      enum: ["opt1", "opt2", "opt3"],
      enumNames: ["Option One", "Option Two", "Option Three"],
    },
    untitledMulti: {
      type: "array",
      description: "Untitled multi-select",
      items: { type: "string", enum: ["option1", "option2", "option3"] },
    },
    titledMulti: {
      type: "array",
      description: "Titled multi-select",
      items: {
        anyOf: [
          { const: "value1", title: "First Choice" },
          { const: "value2", title: "Second Choice" },
          { const: "value3", title: "Third Choice" },
        ],
      },
    },
  },
};

/** `$defs.address` of the JSON Schema 2020-12 tool (with an `$anchor`). */
const ADDRESS_DEF = {
  $anchor: "addressDef",
  type: "object",
  properties: { street: { type: "string" }, city: { type: "string" } },
} as const;

/**
 * JSON Schema 2020-12 keywords the `json_schema_2020_12_tool` must keep: the
 * suite's canonical schema (`JSON_SCHEMA_2020_12_FIXTURE`), with `$schema`,
 * `$defs` and `additionalProperties` (SEP-1613) and, checked at the 2026 wire,
 * `$anchor`, `allOf`/`anyOf` and `if`/`then`/`else` (SEP-2106).
 */
export const JSON_SCHEMA_2020_12_INPUT = z
  .object({
    name: z.string().optional(),
    address: z
      .object({ street: z.string().optional(), city: z.string().optional() })
      .optional()
      .meta({ $ref: "#/$defs/address" }),
    contactMethod: z.enum(["phone", "email"]).optional(),
    phone: z.string().optional(),
    email: z.string().optional(),
  })
  .strict()
  .meta({
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $defs: { address: ADDRESS_DEF },
    allOf: [{ anyOf: [{ required: ["phone"] }, { required: ["email"] }] }],
    if: { properties: { contactMethod: { const: "phone" } }, required: ["contactMethod"] },
    // biome-ignore lint/suspicious/noThenProperty: the JSON Schema keyword (if/then/else), never awaited
    then: { required: ["phone"] },
    else: { required: ["email"] },
  });
