import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { RegistryHttp } from '../../../src/adapters/registry-http.js'
import { OCI_IMAGE_INDEX as OCI_INDEX } from '../../../src/domain/lambda-limits.js'
import {
  startTokenAuthPublicRegistry,
  type TokenAuthRegistry
} from '../../../stack/public-token-registry.js'
import { PUBLIC_REGISTRY, publicManifest } from '../support.js'

/**
 * The registry client against the stack's public.ecr.aws: the registry stack/setup.sh runs on
 * :443 (no auth) and a token-auth door to the same storage (stack/public-token-registry.ts), which
 * wants the anonymous Bearer flow as the real public.ecr.aws does. Node's fetch trusts the stack's
 * CA only through NODE_EXTRA_CA_CERTS (scripts/test.sh sources stack.env, which sets it).
 * Nothing here reaches the engine or depends on its image store: the suite runs once.
 */

const PUBLIC = PUBLIC_REGISTRY
const BASE = 'lambda/provided'
const tag = `refresh-e2e-${process.pid}`
let tokenRegistry: TokenAuthRegistry
const pushed: string[] = []

beforeAll(async () => {
  expect(process.env.NODE_EXTRA_CA_CERTS).toBeTruthy()
  tokenRegistry = await startTokenAuthPublicRegistry()
})

afterAll(async () => {
  for (const digest of pushed) {
    await fetch(`https://${PUBLIC}/v2/${BASE}/manifests/${digest}`, { method: 'DELETE' })
  }
  await tokenRegistry.close()
})

/** PUTs an index under `tag` whose linux/amd64 entry is `amd64` (an existing manifest). */
async function putIndex(amd64: { digest: string; mediaType: string; size: number }) {
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [{ ...amd64, platform: { os: 'linux', architecture: 'amd64' } }],
    annotations: { 'lambda-image-deploy.test': `${process.pid}-${amd64.digest}` }
  })
  const response = await fetch(`https://${PUBLIC}/v2/${BASE}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': OCI_INDEX },
    body
  })
  expect(response.status).toBe(201)
  pushed.push(`sha256:${createHash('sha256').update(body).digest('hex')}`)
}

const manifestOf = (reference: string) => publicManifest(BASE, reference)

describe('resolvePlatformDigest against the stack public.ecr.aws', () => {
  it('resolves each platform of the multi-arch base in one request (the unchanged path)', async () => {
    const registry = new RegistryHttp()
    const amd64 = await registry.resolvePlatformDigest(`${PUBLIC}/${BASE}:al2023`, 'linux/amd64')
    const arm64 = await registry.resolvePlatformDigest(`${PUBLIC}/${BASE}:al2023`, 'linux/arm64')
    expect(amd64.requests).toBe(1)
    expect(arm64.requests).toBe(1)
    expect(amd64.digest).not.toBe(arm64.digest)
    expect(amd64.digest).toBe((await manifestOf('al2023-linux-amd64')).digest)
    expect(arm64.digest).toBe((await manifestOf('al2023-linux-arm64')).digest)
  })

  it('does the anonymous token flow where the registry asks for it, and gets the same digest', async () => {
    const registry = new RegistryHttp()
    const before = tokenRegistry.tokenRequests()
    const viaToken = await registry.resolvePlatformDigest(
      `${tokenRegistry.host}/${BASE}:al2023`,
      'linux/arm64'
    )
    expect(viaToken).toMatchObject({ requests: 2, tokenRequests: 1 })
    expect(tokenRegistry.tokenRequests()).toBe(before + 1)
    const plain = await new RegistryHttp().resolvePlatformDigest(
      `${PUBLIC}/${BASE}:al2023`,
      'linux/arm64'
    )
    expect(viaToken.digest).toBe(plain.digest)
    // The token is kept for the run: the next resolve is the 1-request unchanged path.
    const again = await registry.resolvePlatformDigest(
      `${tokenRegistry.host}/${BASE}:al2023`,
      'linux/arm64'
    )
    expect(again).toMatchObject({ requests: 1, tokenRequests: 0 })
  })

  it('sees a new digest once the tag is moved to another image', async () => {
    const first = await manifestOf('al2023-linux-amd64')
    const second = await manifestOf('al2-linux-amd64')
    expect(first.digest).not.toBe(second.digest)
    await putIndex(first)
    const registry = new RegistryHttp()
    const before = await registry.resolvePlatformDigest(
      `${tokenRegistry.host}/${BASE}:${tag}`,
      'linux/amd64'
    )
    await putIndex(second)
    const after = await registry.resolvePlatformDigest(
      `${tokenRegistry.host}/${BASE}:${tag}`,
      'linux/amd64'
    )
    expect([before.digest, after.digest]).toEqual([first.digest, second.digest])
  })

  it('reports an unknown tag as base-image-not-found through the token flow', async () => {
    await expect(
      new RegistryHttp().resolvePlatformDigest(
        `${tokenRegistry.host}/${BASE}:no-such-tag`,
        'linux/amd64'
      )
    ).rejects.toMatchObject({ id: 'base-image-not-found' })
  })

  it('reports a platform the index lacks as base-image-platform-missing', async () => {
    await putIndex(await manifestOf('al2023-linux-amd64'))
    await expect(
      new RegistryHttp().resolvePlatformDigest(`${PUBLIC}/${BASE}:${tag}`, 'linux/arm64')
    ).rejects.toMatchObject({ id: 'base-image-platform-missing' })
  })
})
