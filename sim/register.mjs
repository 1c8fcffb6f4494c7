// Lets Node run the TypeScript sources as they are: the project's modules import each other
// without file extensions (the bundler's resolution), so a failed resolution is retried with
// `.ts` and `/index.ts` (see sim/resolve-ts.mjs).
import { register } from "node:module";

register("./resolve-ts.mjs", import.meta.url);
