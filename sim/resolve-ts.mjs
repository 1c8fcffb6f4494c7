// Module resolution hook for `npm run sim`: `./x` means `./x.ts` or `./x/index.ts` in this project.
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    if (!specifier.startsWith(".") || specifier.endsWith(".ts")) throw err;
    for (const candidate of [`${specifier}.ts`, `${specifier}/index.ts`]) {
      try {
        return await next(candidate, context);
      } catch {
        // try the next form
      }
    }
    throw err;
  }
}
