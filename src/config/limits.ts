/**
 * Bounds on everything the configuration can hold (security by default:
 * every body, list and cache is bounded). Documented in the README.
 */
export const LIMITS = {
  /** Largest admin API request body, in bytes. */
  bodyBytes: 1024 * 1024,
  backends: 500,
  servers: 500,
  tokens: 1000,
  plugins: 100,
  teams: 200,
  membersPerTeam: 1000,
  headersPerBackend: 32,
  headerValueBytes: 4096,
  toolsPerServer: 1000,
  /** Tool overrides per virtual server, arguments per override, characters per description. */
  toolOverridesPerServer: 1000,
  argumentsPerOverride: 64,
  overrideDescriptionChars: 8192,
} as const;
