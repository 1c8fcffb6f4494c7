/**
 * Loading an OpenAPI backend's document when the backend is saved: inline
 * (bounded like a fetched one) or fetched from its URL, with the URL checks
 * backend URLs get (injected), a timeout, no redirects and a size bound, so
 * a bad document or URL is a named problem (a 400), never a 5xx.
 */
import type { OpenApiOperation, OpenApiSettings } from "../../config/openapi-types";
import { deriveOperations, MAX_DOCUMENT_BYTES, OpenApiProblem, parseDocumentText } from "./document";

/** How long fetching a document may take. */
const FETCH_TIMEOUT_MS = 10_000;

/** Says why a URL may not be fetched (private address…), or null when it may. */
type UrlCheck = (url: string) => Promise<string | null>;

async function readBounded(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let bytes = 0;
  let text = "";
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    bytes += next.value.byteLength;
    if (bytes > MAX_DOCUMENT_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new OpenApiProblem(`the document is larger than ${MAX_DOCUMENT_BYTES / 1024} KiB`);
    }
    text += decoder.decode(next.value, { stream: true });
  }
  return text + decoder.decode();
}

/** Fetches a document's text; every failure is an `OpenApiProblem` naming it. */
export async function fetchDocument(url: string, check: UrlCheck): Promise<string> {
  const refused = await check(url);
  if (refused) throw new OpenApiProblem(`document URL refused: ${refused}`);
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { accept: "application/json, application/yaml, text/yaml, */*" },
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      // A redirect could lead past the URL checks.
      redirect: "manual",
    });
  } catch {
    throw new OpenApiProblem(
      `the document could not be fetched from ${url} (unreachable or no answer within ${FETCH_TIMEOUT_MS / 1000} s)`,
    );
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new OpenApiProblem(`fetching the document answered HTTP ${res.status}`);
  }
  return readBounded(res);
}

/** The operations `settings` names, from its inline or fetched document; throws an `OpenApiProblem`. */
export async function loadOperations(settings: OpenApiSettings, check: UrlCheck): Promise<OpenApiOperation[]> {
  const source = settings.document;
  let doc: unknown;
  if ("url" in source) doc = parseDocumentText(await fetchDocument(source.url, check));
  else if (typeof source.inline === "string") doc = parseDocumentText(source.inline);
  else {
    if (JSON.stringify(source.inline).length > MAX_DOCUMENT_BYTES) {
      throw new OpenApiProblem(`the document is larger than ${MAX_DOCUMENT_BYTES / 1024} KiB`);
    }
    doc = source.inline;
  }
  return deriveOperations(doc, {
    ...(settings.include && { include: settings.include }),
    ...(settings.exclude && { exclude: settings.exclude }),
  });
}
