import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import net from 'node:net'
import { startRegistryGate, type RegistryGate } from '../../../stack/registry-gate.js'
import { fixtureImage, useSandbox } from '../harness.js'
import {
  ACCOUNT,
  LAYER_CHECK,
  PUSH,
  REGION,
  REGISTRY,
  USER,
  allowOn,
  repositoryArn,
  userToken
} from '../registry-gate-support.js'

/**
 * The registry gate (stack/registry-gate.ts) as an HTTP client meets it: requests carry the
 * token GetAuthorizationToken handed to one principal, and the gate lets through exactly what
 * that principal's identity policy allows, refusing the rest in ECR's words. What docker push
 * sends through the gate depends on the image store and is tested in e2e/engine/registry-gate;
 * these reads of an image already in the registry do not, and run once.
 *
 * The gate is this suite's own, on the registry's own name and address but a free port (with the
 * registries' certificate, which names every ECR host), in front of the registry: it depends
 * neither on how the shared stack was set up nor on names or ports another suite uses.
 */

const MANIFEST_TYPES =
  'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json'

const sandbox = useSandbox({ perPrincipalRegistryTokens: true })
let gate: RegistryGate
let origin = ''
let token = ''
let name = ''

/** A port nothing listens on at `ip` now. */
function freePort(ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, ip, () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

const basic = (password: string) => `Basic ${Buffer.from(`AWS:${password}`).toString('base64')}`

function registryGet(pathname: string, accept?: string): Promise<Response> {
  return fetch(`${origin}${pathname}`, {
    headers: { authorization: basic(token), ...(accept ? { accept } : {}) }
  })
}

/** The config blob of the image in the suite's repository, read as the holder of `token`. */
async function configDigest(): Promise<string> {
  const manifest = await registryGet(`/v2/${name}/manifests/v1`, MANIFEST_TYPES)
  expect(manifest.status).toBe(200)
  return ((await manifest.json()) as { config: { digest: string } }).config.digest
}

const allow = (...actions: string[]) => allowOn(repositoryArn(name), ...actions)

beforeAll(async () => {
  const port = await freePort(REGISTRY.ip)
  gate = await startRegistryGate({
    listen: { ip: REGISTRY.ip, port },
    upstream: { host: REGISTRY.host, ip: REGISTRY.ip, port: 443 }
  })
  origin = `https://${REGISTRY.host}:${port}`
  name = sandbox.uniqueName('gate')
  await sandbox.control.createRepository({ account: ACCOUNT, region: REGION, name })
  // The image docker would have pushed, put in registry-side under the tag v1.
  await sandbox.copyImage(
    await fixtureImage({ fixture: 'provided-multistage', target: 'runtime' }),
    `${REGISTRY.host}/${name}`,
    'v1'
  )
  await sandbox.control.setIdentityPolicies(USER, allow(...PUSH, 'ecr:BatchGetImage'))
  token = await userToken(sandbox)
})

afterAll(async () => {
  await gate?.close()
})

describe('the registry gate', () => {
  it('hands out a token of the caller’s own, not the registry password', () => {
    expect(token).toMatch(new RegExp(`^standin-token\\.${sandbox.standIn.port}\\.`))
  })

  it('refuses a blob without ecr:GetDownloadUrlForLayer, in ECR’s words', async () => {
    const config = await configDigest()
    const blob = await registryGet(`/v2/${name}/blobs/${config}`)
    expect(blob.status).toBe(403)
    expect(await blob.json()).toEqual({
      errors: [
        {
          code: 'DENIED',
          message: `User: ${USER} is not authorized to perform: ecr:GetDownloadUrlForLayer on resource: ${repositoryArn(name)} because no identity-based policy allows the ecr:GetDownloadUrlForLayer action`,
          detail: null
        }
      ]
    })
    expect(gate.decisions()).toBeGreaterThan(0)
    await sandbox.control.setIdentityPolicies(
      USER,
      allow(...PUSH, 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer')
    )
    expect((await registryGet(`/v2/${name}/blobs/${config}`)).status).toBe(200)
  })

  it('refuses the layer check without ecr:BatchCheckLayerAvailability, which docker passes over', async () => {
    await sandbox.control.setIdentityPolicies(
      USER,
      allow(...PUSH.filter(candidate => candidate !== LAYER_CHECK), 'ecr:BatchGetImage')
    )
    const head = await fetch(`${origin}/v2/${name}/blobs/${await configDigest()}`, {
      method: 'HEAD',
      headers: { authorization: basic(token) }
    })
    expect(head.status).toBe(403)
  })

  it('answers 401 for a token no stand-in handed out', async () => {
    const forged = `standin-token.${sandbox.standIn.port}.not-issued`
    const answer = await fetch(`${origin}/v2/${name}/manifests/v1`, {
      headers: { authorization: basic(forged) }
    })
    expect(answer.status).toBe(401)
    expect(answer.headers.get('www-authenticate')).toMatch(/^Basic realm=/)
  })
})
