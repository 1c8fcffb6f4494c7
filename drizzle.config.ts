import { defineConfig } from "drizzle-kit";

/** drizzle-kit writes flat `migrations/0000_name.sql` files that wrangler applies. */
export default defineConfig({
  dialect: "sqlite",
  schema: ["./src/config/schema.ts", "./src/observability/schema.ts"],
  out: "./migrations",
});
