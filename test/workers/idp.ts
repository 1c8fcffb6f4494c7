/**
 * A test identity provider inside workerd: real RS256/ES256 keys from jose,
 * its JWKS (and OIDC discovery document) served through the test fetch
 * router (`outbound.ts`), and tokens signed with those keys. The issuers are
 * trusted through OAUTH_ISSUERS in vitest.config.ts.
 */
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";
import { route } from "./outbound";

export interface TestIdp {
  issuer: string;
  /** Signs a token with the published key (claims override the defaults). */
  sign(claims: JWTPayload, options?: { kid?: string; alg?: string; key?: CryptoKey }): Promise<string>;
  /** A key pair that is not published (unknown `kid`). */
  stray: CryptoKey;
  /** JWKS requests served so far. */
  jwksFetches(): number;
  close(): void;
}

/** Starts the provider at `issuer` with its JWKS at `jwksPath` (and discovery when `discovery`). */
export async function startIdp(issuer: string, options: { jwksPath: string; discovery?: boolean }): Promise<TestIdp> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const stray = (await generateKeyPair("RS256")).privateKey;
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  const origin = new URL(issuer).origin;
  let fetches = 0;
  const closers = [
    route(`${origin}${options.jwksPath}`, () => {
      fetches += 1;
      return Response.json({ keys: [jwk] });
    }),
  ];
  if (options.discovery) {
    closers.push(
      route(`${issuer}/.well-known/openid-configuration`, () =>
        Response.json({ issuer, jwks_uri: `${origin}${options.jwksPath}`, authorization_endpoint: `${issuer}/auth` }),
      ),
    );
  }
  return {
    issuer,
    stray,
    jwksFetches: () => fetches,
    async sign(claims, opts = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, sub: "alice", iat: now, exp: now + 600, scope: "mcp", ...claims })
        .setProtectedHeader({ alg: opts.alg ?? "RS256", kid: opts.kid ?? "k1", typ: "at+jwt" })
        .sign(opts.key ?? privateKey);
    },
    close: () => {
      for (const close of closers) close();
    },
  };
}
