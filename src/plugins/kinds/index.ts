/**
 * The built-in plugin kinds, by name.
 */
import type { PluginKind } from "../types";
import { denyList } from "./deny-list";
import { outputLengthGuard } from "./output-length";
import { payloadSize } from "./payload-size";
import { piiFilter } from "./pii";
import { rateLimit } from "./rate-limit";
import { regexReplace } from "./regex-replace";
import { responseCache } from "./response-cache";
import { schemaGuard } from "./schema-guard";
import { secretsDetection } from "./secrets";
import { toolFilter } from "./tool-filter";
import { webhook } from "./webhook";

export const BUILTIN_KINDS: ReadonlyMap<string, PluginKind> = new Map(
  [
    piiFilter,
    denyList,
    regexReplace,
    rateLimit,
    payloadSize,
    schemaGuard,
    secretsDetection,
    toolFilter,
    outputLengthGuard,
    responseCache,
    webhook,
  ].map((k) => [k.kind, k]),
);
