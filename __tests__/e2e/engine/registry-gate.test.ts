import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { ensureAlias } from '../../../stack/registry-fault-proxy.js'
import { startRegistryGate, type RegistryGate } from '../../../stack/registry-gate.js'
import topology from '../../../stack/topology.json' with { type: 'json' }
import { useSandbox } from '../harness.js'
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
 * The registry gate (stack/registry-gate.ts) with the real docker CLI and engine: docker's
 * requests carry the token GetAuthorizationToken handed to one principal, and the gate lets
 * through exactly what that principal's identity policy allows, refusing the rest in ECR's words.
 * What docker sends differs by image store, so this suite runs on each; the gate's answers to
 * plain reads of an image already in the registry are tested once, in e2e/aws/registry-gate.
 *
 * stack/setup.sh runs the gate on every ECR registry's own name; this suite starts one of its
 * own on an alias (the registry's name + `.cn`, as the fault suite does) in front of the same
 * registry, so it does not depend on how the shared stack was set up.
 */

const execFileAsync = promisify(execFile)
const ALIAS = `${REGISTRY.host}.cn`
const ALIAS_IP = '127.0.0.42'
const BASE = 'public.ecr.aws/lambda/provided:al2023-linux-amd64'

const sandbox = useSandbox({ perPrincipalRegistryTokens: true })
let gate: RegistryGate
let dockerConfig: string
let token: string
let name = ''
const built: string[] = []

async function docker(...args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await execFileAsync('docker', args, {
      env: { ...process.env, DOCKER_CONFIG: dockerConfig },
      // A wedged engine fails the command that met it, not the whole suite at jest's limit.
      timeout: 150_000
    })
    return { ok: true, output: stdout + stderr }
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string }
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` }
  }
}

function registryGet(pathname: string, accept?: string): Promise<Response> {
  return fetch(`https://${ALIAS}${pathname}`, {
    headers: {
      authorization: `Basic ${Buffer.from(`AWS:${token}`).toString('base64')}`,
      ...(accept ? { accept } : {})
    }
  })
}

/** On this suite's repositories: NAME and NAME-*. */
const allow = (...actions: string[]) => allowOn(`${repositoryArn(name)}*`, ...actions)

beforeAll(async () => {
  name = sandbox.uniqueName('gate')
  const tls = ensureAlias(ALIAS, ALIAS_IP, topology.stateDir)
  // In front of the registry's own name and port 443: the registry itself where the stack has no
  // gate, the stack's gate otherwise (which passes the registry's password on unchanged).
  gate = await startRegistryGate({
    listen: { ip: ALIAS_IP, port: 443 },
    upstream: { host: REGISTRY.host, ip: REGISTRY.ip, port: 443 },
    tls
  })
  await sandbox.control.createRepository({ account: ACCOUNT, region: REGION, name })
  await sandbox.control.setIdentityPolicies(USER, allow(...PUSH, 'ecr:BatchGetImage'))
  token = await userToken(sandbox)
  dockerConfig = mkdtempSync(path.join(os.tmpdir(), 'gate-docker-'))
  writeFileSync(
    path.join(dockerConfig, 'config.json'),
    JSON.stringify({ auths: { [ALIAS]: { auth: Buffer.from(`AWS:${token}`).toString('base64') } } })
  )
  // A fresh engine (or the containerd store's own data-root) holds no base yet; the stack's
  // stand-in public registry serves it without credentials.
  const pulled = await docker('pull', BASE)
  if (!pulled.ok) throw new Error(`docker pull ${BASE} failed:\n${pulled.output}`)
})

afterAll(async () => {
  await docker('image', 'rm', `${ALIAS}/${name}:v1`, `${ALIAS}/${name}-other:v1`, ...built)
  rmSync(dockerConfig, { recursive: true, force: true })
  await gate?.close()
})

describe('the registry gate', () => {
  it('lets docker push what the identity policy allows, and reads the manifest back', async () => {
    expect((await docker('tag', BASE, `${ALIAS}/${name}:v1`)).ok).toBe(true)
    const pushed = await docker('push', `${ALIAS}/${name}:v1`)
    expect(pushed.output).not.toContain('denied')
    expect(pushed.ok).toBe(true)
    const manifest = await registryGet(
      `/v2/${name}/manifests/v1`,
      'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json'
    )
    expect(manifest.status).toBe(200)
    expect(gate.decisions()).toBeGreaterThan(0)
  })

  it('makes docker push fail with denied: ... when an upload action is missing', async () => {
    await sandbox.control.setIdentityPolicies(
      USER,
      allow(...PUSH.filter(action => action !== 'ecr:InitiateLayerUpload'), 'ecr:BatchGetImage')
    )
    const other = `${name}-other`
    await sandbox.control.createRepository({ account: ACCOUNT, region: REGION, name: other })
    expect((await docker('tag', BASE, `${ALIAS}/${other}:v1`)).ok).toBe(true)
    const pushed = await docker('push', `${ALIAS}/${other}:v1`)
    expect(pushed.ok).toBe(false)
    // The classic store's pusher says "denied: MESSAGE", the containerd store's "error from
    // registry: MESSAGE"; the message is ECR's either way.
    expect(pushed.output).toMatch(/(denied|error from registry): User: /)
    expect(pushed.output).toContain(
      `User: ${USER} is not authorized to perform: ecr:InitiateLayerUpload on resource: ${repositoryArn(other)}`
    )
  })

  it.each(PUSH.filter(action => action !== LAYER_CHECK))(
    'makes a push of a new layer fail without %s',
    async action => {
      await sandbox.control.setIdentityPolicies(
        USER,
        allow(...PUSH.filter(candidate => candidate !== action), 'ecr:BatchGetImage')
      )
      const repository = `${name}-${action.slice('ecr:'.length).toLowerCase()}`
      await sandbox.control.createRepository({ account: ACCOUNT, region: REGION, name: repository })
      // A layer no repository has, so that docker must upload it (not mount it).
      const context = mkdtempSync(path.join(os.tmpdir(), 'gate-build-'))
      writeFileSync(path.join(context, 'unique'), `${repository} ${Date.now()}\n`)
      writeFileSync(path.join(context, 'Dockerfile'), `FROM ${BASE}\nCOPY unique /unique\n`)
      const image = `${ALIAS}/${repository}:v1`
      built.push(image)
      try {
        const build = await docker(
          'buildx',
          'build',
          '--load',
          '--provenance=false',
          '-t',
          image,
          context
        )
        expect(build.output).not.toMatch(/ERROR/)
      } finally {
        rmSync(context, { recursive: true, force: true })
      }
      const pushed = await docker('push', image)
      expect(pushed.ok).toBe(false)
      expect(pushed.output).toContain(`is not authorized to perform: ${action} on resource`)
    }
  )
})
