/**
 * Skills (the `io.modelcontextprotocol/skills` extension, SEP-2640) in an
 * endpoint's federated view (pure logic, built with the view in
 * `federation.ts`).
 *
 * A skill is named by the URI of its `SKILL.md`, and its files are resources
 * under the skill's root (extension spec, "Resource Mapping"). So skills take
 * the resources' public form: on a prefixed endpoint every URI of an entry
 * (`uri` and each `resources[].uri`) becomes `mcpgw://<backend>/<uri>`, the
 * form `resources/read` already routes. Nothing else of an entry changes:
 * `frontmatter` must stay identical to the `SKILL.md` a client verifies it
 * against, and each file's `digest` and `size` describe bytes that
 * `resources/read` passes through untouched, so a client can check them.
 * Skill names are labels, not identifiers (spec, "Names"): they are never
 * prefixed, since the final URI segment must equal `frontmatter.name`.
 */
import type { CatalogItem } from "../protocol/catalog-types";
import { extensionSettings, SKILLS_EXTENSION } from "../protocol/extensions";
import type { ViewEntry } from "./federation";
import { publicUri } from "./names";

/**
 * Ancestors of a URI tried when looking for the skill that owns it: a file
 * nested deeper below its skill's root is not routed this way (on a prefixed
 * endpoint its public URI names the backend anyway).
 */
const MAX_DEPTH = 32;

/** The skills of an endpoint's view. */
export interface SkillsView {
  /** Skill entries under public URIs, backends in name order (first wins on a duplicate URI). */
  entries: ViewEntry[];
  /** Public `SKILL.md` URI → entry. */
  byUri: Map<string, ViewEntry>;
  /** A listed skill's root URI at its backend → that backend (routes its files on unprefixed endpoints). */
  roots: Map<string, string>;
  /** Backends that declare the extension, with their settings. */
  backends: Map<string, Record<string, unknown>>;
}

/** An empty skills view. */
export function emptySkills(): SkillsView {
  return { entries: [], byUri: new Map(), roots: new Map(), backends: new Map() };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The root of a skill given its `SKILL.md` URI (`…/SKILL.md` without the last segment), or null. */
function skillRoot(uri: string): string | null {
  return uri.endsWith("/SKILL.md") && uri.length > "/SKILL.md".length ? uri.slice(0, -"/SKILL.md".length) : null;
}

/** A skill entry with every URI in public form; frontmatter, digests, sizes and other fields as they were. */
export function publicSkill(backend: string, skill: CatalogItem, prefix: boolean): CatalogItem {
  if (!prefix || typeof skill.uri !== "string") return skill;
  const resources = Array.isArray(skill.resources)
    ? skill.resources.map((file: unknown) =>
        isObject(file) && typeof file.uri === "string" ? { ...file, uri: publicUri(backend, file.uri, true) } : file,
      )
    : skill.resources;
  return { ...skill, uri: publicUri(backend, skill.uri, true), resources };
}

/** Adds one backend's skills (from its catalog) to `view`. */
export function addSkills(
  view: SkillsView,
  backend: string,
  capabilities: Record<string, unknown>,
  skills: readonly CatalogItem[] | undefined,
  prefix: boolean,
): void {
  const settings = extensionSettings(capabilities, SKILLS_EXTENSION);
  if (!settings) return;
  view.backends.set(backend, settings);
  for (const skill of skills ?? []) {
    const original = skill.uri;
    if (typeof original !== "string") continue;
    const item = publicSkill(backend, skill, prefix);
    const uri = item.uri as string;
    if (view.byUri.has(uri)) continue;
    const entry: ViewEntry = { backend, original, item };
    view.entries.push(entry);
    view.byUri.set(uri, entry);
    const root = skillRoot(original);
    if (root && !view.roots.has(root)) view.roots.set(root, backend);
  }
}

/**
 * The backend owning `uri` through a listed skill: the URI is a skill's root
 * or lies under one (a skill's files all do: spec, "Resources"). Walks at
 * most MAX_DEPTH ancestors, each one map lookup (design rule 5).
 */
export function skillOwner(view: SkillsView, uri: string): string | null {
  if (view.roots.size === 0) return null;
  let candidate = uri;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const owner = view.roots.get(candidate);
    if (owner) return owner;
    const slash = candidate.lastIndexOf("/");
    if (slash <= 0) return null;
    candidate = candidate.slice(0, slash);
  }
  return null;
}
