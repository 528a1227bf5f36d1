import { randomBytes } from 'node:crypto'
import { ECR_TOKEN_LIFETIME_MS } from './aws-wording.js'
import type { Caller } from './sigv4.js'

/**
 * Registry passwords handed out by GetAuthorizationToken, one per call and caller, so that the
 * registry gate (stack/registry-gate.ts) can ask which principal a docker request comes from
 * and authorize it as that principal, as ECR does with the tokens it hands out. A token names
 * the stand-in's port, because the registries are shared by every stand-in on the machine and the
 * gate must ask the one that issued it.
 *
 * "AWS:" + the prefix is 18 bytes, so the base64 of a docker `auths` entry starts with the same
 * 24 characters for every token: tests look for either form in logs and files.
 */

export const REGISTRY_TOKEN_PREFIX = 'standin-token.'

/** Every answer of the registry gate carries this header, so that setup.sh and the stand-in can
 * tell a gated registry from a bare one. */
export const GATE_HEADER = 'x-stand-in-registry-gate'

export interface IssuedToken {
  readonly caller: Caller
  /** Epoch ms; ECR tokens last 12 hours (GetAuthorizationToken API reference). */
  readonly expiresAt: number
}

export class RegistryTokens {
  private readonly issued = new Map<string, IssuedToken>()

  issue(caller: Caller, standInPort: number, now = Date.now()): string {
    const token = `${REGISTRY_TOKEN_PREFIX}${standInPort}.${randomBytes(24).toString('base64url')}`
    this.issued.set(token, { caller, expiresAt: now + ECR_TOKEN_LIFETIME_MS })
    return token
  }

  /** The live token's holder; undefined when it is unknown or expired. */
  holder(token: string, now = Date.now()): IssuedToken | undefined {
    const found = this.issued.get(token)
    return found && found.expiresAt > now ? found : undefined
  }

  clear(): void {
    this.issued.clear()
  }
}

/** The port of the stand-in that issued a token, or undefined when it is not one. */
export function issuerPort(token: string): number | undefined {
  if (!token.startsWith(REGISTRY_TOKEN_PREFIX)) return undefined
  const port = Number(token.slice(REGISTRY_TOKEN_PREFIX.length).split('.')[0])
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined
}
