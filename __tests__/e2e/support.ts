import { expect } from '@jest/globals'
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import type { ActionRun } from '../../stack/run-action.js'
import { REGISTRY_TOKEN_PREFIX } from '../../stack/stand-in/registry-tokens.js'
import topology from '../../stack/topology.json' with { type: 'json' }

/** What the e2e suites share: the registry credential, and the check that none is left behind. */

/** The registry's own password (stack/setup.sh made it): tests use it to read and seed the
 * registry directly; the stand-in never hands it out. */
export const registryPassword = readFileSync(
  path.join(topology.stateDir, 'registry-password'),
  'utf8'
).trim()

/** The same credential as docker stores it in a config.json `auths` entry. */
export const registryAuth = Buffer.from(`AWS:${registryPassword}`).toString('base64')

/** What every password the stand-in's GetAuthorizationToken hands out starts with, and the
 * start of its `auths` form (base64 of the 18 bytes "AWS:" + prefix: the same for every token). */
export const issuedTokenPrefix = REGISTRY_TOKEN_PREFIX
export const issuedTokenAuthPrefix = Buffer.from(`AWS:${REGISTRY_TOKEN_PREFIX}`).toString('base64')

/** Whether a text holds a registry credential: the registry's password or a token handed out. */
export function holdsRegistryCredential(text: string): boolean {
  return [registryPassword, registryAuth, issuedTokenPrefix, issuedTokenAuthPrefix].some(secret =>
    text.includes(secret)
  )
}

/** Every file under a directory, recursively. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir).flatMap(entry => {
    const full = path.join(dir, entry)
    const stat = statSync(full, { throwIfNoEntry: false })
    if (!stat) return []
    return stat.isDirectory() ? filesUnder(full) : [full]
  })
}

/** The registry credential must be in no log, output, summary or file the run left behind. */
export function expectNoCredentialLeft(run: ActionRun): void {
  // `::add-mask::` is how the runner learns a secret; it never shows that line, and masks the
  // value everywhere else. Every other line must be free of it.
  const shown = run.stdout
    .split('\n')
    .filter(line => !line.startsWith('::add-mask::'))
    .join('\n')
  // A run that pushed must have told the runner to mask the token before using it.
  if (run.exitCode === 0 && run.stdout.includes('::group::Push')) {
    // A token of the caller's own where the registries have the gate, else the registry's password.
    const masked = run.stdout.split('\n').filter(line => line.startsWith('::add-mask::'))
    expect(
      masked.some(line => line.startsWith(`::add-mask::${issuedTokenPrefix}`)) ||
        masked.includes(`::add-mask::${registryPassword}`)
    ).toBe(true)
  }
  for (const text of [shown, run.stderr, run.summary, JSON.stringify(run.outputs)]) {
    expect(holdsRegistryCredential(text)).toBe(false)
  }
  const left = [...filesUnder(run.runnerTemp), ...filesUnder(run.home)]
  for (const file of left) {
    expect(holdsRegistryCredential(readFileSync(file, 'utf8'))).toBe(false)
  }
  expect(left.filter(file => file.endsWith('config.json'))).toEqual([])
  const userConfig = path.join(os.homedir(), '.docker', 'config.json')
  if (existsSync(userConfig))
    expect(holdsRegistryCredential(readFileSync(userConfig, 'utf8'))).toBe(false)
}

/** The run succeeded (its log is the error when not) and left no registry credential behind. */
export function expectSucceeded(run: ActionRun): void {
  if (run.exitCode !== 0) throw new Error(`The run failed:\n${run.stdout}\n${run.stderr}`)
  expectNoCredentialLeft(run)
}

/** One function's entry in the action's `functions` output. */
export interface FunctionResult {
  readonly function: string
  readonly arn: string
  readonly region: string
  readonly account: string
  readonly status: string
  readonly deployed: boolean
  readonly codeSha256?: string
  readonly version?: string
  readonly alias?: string
  readonly settingsChanges?: string[]
  readonly plan?: string[]
  readonly error?: string
  readonly verify?: unknown
}

/** The action's `functions` output, one entry per function ([] when the run set none). */
export function functionsOf<Entry = FunctionResult>(run: ActionRun): Entry[] {
  return JSON.parse(run.outputs.functions ?? '[]') as Entry[]
}

/** The run failed with the error `id` (`::error::[ID]`), reporting deployed=false. */
export function expectFailure(run: ActionRun, id: string): void {
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toContain(`::error::[${id}]`)
  expect(run.outputs.deployed).toBe('false')
}

/**
 * Builds a one-platform image FROM the stand-in AWS base, labelled `label`, and pushes it to the
 * stack's registry under `reference` (an ECR name): a private base image a test can move. The
 * credential is written as the action writes it: no `docker login`, whose ping of a loopback
 * registry falls back to plain HTTP when it does not like the answer.
 */
export function publishPrivateBase(reference: string, label: string): void {
  const registry = reference.slice(0, reference.indexOf('/'))
  const config = mkdtempSync(path.join(os.tmpdir(), 'private-base-login-'))
  const docker = (args: string[], input?: string) =>
    execFileSync('docker', args, {
      env: { ...process.env, DOCKER_CONFIG: config },
      input,
      timeout: 120_000
    })
  try {
    writeFileSync(
      path.join(config, 'config.json'),
      JSON.stringify({ auths: { [registry]: { auth: registryAuth } } }),
      { mode: 0o600 }
    )
    // Built (not tagged from the base) so that either image store pushes one single-platform
    // manifest.
    docker(
      [
        'buildx',
        'build',
        '--load',
        '--provenance=false',
        '--sbom=false',
        `--platform=linux/${process.arch === 'x64' ? 'amd64' : process.arch}`,
        '--tag',
        reference,
        '-'
      ],
      `FROM public.ecr.aws/lambda/provided:al2023\nLABEL ${label}\n`
    )
    docker(['push', reference])
  } finally {
    rmSync(config, { recursive: true, force: true })
  }
}

/** The media types of a single-image manifest, as the classic and containerd stores push them. */
export const MANIFEST_TYPES: readonly string[] = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json'
]
/** The media types of an index (a manifest list), which Lambda refuses. */
export const INDEX_TYPES: readonly string[] = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json'
]

export interface ServedManifest {
  /** The registry's Docker-Content-Digest. */
  readonly digest: string
  /** The registry's Content-Type. */
  readonly mediaType: string
  readonly manifest: {
    readonly config?: { readonly digest?: string }
    readonly layers?: readonly { readonly digest: string }[]
    readonly manifests?: unknown
  }
}

/**
 * A manifest as the stack's registry serves it under its ECR name (`REGISTRY/NAME`, by tag or
 * digest), read with the registry's own credential and accepting `accept` (every single-image
 * and index type unless told); undefined when the registry has none.
 */
export async function servedManifest(
  repository: string,
  reference: string,
  accept: readonly string[] = [...MANIFEST_TYPES, ...INDEX_TYPES]
): Promise<ServedManifest | undefined> {
  const slash = repository.indexOf('/')
  const host = repository.slice(0, slash)
  const name = repository.slice(slash + 1)
  const response = await fetch(`https://${host}/v2/${name}/manifests/${reference}`, {
    headers: { authorization: `Basic ${registryAuth}`, accept: accept.join(', ') }
  })
  if (response.status === 404) return undefined
  expect(response.status).toBe(200)
  return {
    digest: response.headers.get('docker-content-digest') ?? '',
    mediaType: response.headers.get('content-type') ?? '',
    manifest: (await response.json()) as ServedManifest['manifest']
  }
}

/** The containers and networks of the engine whose names contain `prefix`: what a smoke test
 * left behind (the action names both lambda-smoke-PID-…). IDs, one a line; '' when none. */
export function engineLeftovers(prefix: string): { containers: string; networks: string } {
  const ids = (args: string[]) =>
    execFileSync('docker', [...args, '--quiet', '--filter', `name=${prefix}`], {
      encoding: 'utf8',
      timeout: 60_000
    }).trim()
  return { containers: ids(['ps', '--all']), networks: ids(['network', 'ls']) }
}

/** The registry that plays public.ecr.aws (stack/setup.sh; no auth). */
export const PUBLIC_REGISTRY = 'public.ecr.aws'

/**
 * A single-image manifest of the stack's public.ecr.aws as an index entry names it: its digest
 * (of the bytes served), media type and size.
 */
export async function publicManifest(
  repository: string,
  reference: string
): Promise<{ digest: string; mediaType: string; size: number }> {
  const response = await fetch(
    `https://${PUBLIC_REGISTRY}/v2/${repository}/manifests/${reference}`,
    { headers: { accept: MANIFEST_TYPES.join(', ') } }
  )
  expect(response.status).toBe(200)
  const body = Buffer.from(await response.arrayBuffer())
  return {
    digest: `sha256:${createHash('sha256').update(body).digest('hex')}`,
    mediaType: response.headers.get('content-type') ?? '',
    size: body.length
  }
}

/** A proxy in front of the engine's socket (/var/run/docker.sock), for a test to reach the engine
 * another way: by a unix socket a docker context names, or over TCP. */
export interface EngineProxy {
  /** Connections accepted so far. */
  readonly connections: number
  /** The TCP port it listens on (0 on a unix socket). */
  readonly port: number
  /** Closes it, and every connection still open: one left open by a failed run must not hold it. */
  readonly close: () => Promise<void>
}

export async function startEngineProxy(
  listen: { readonly path: string } | { readonly host: string; readonly port: number }
): Promise<EngineProxy> {
  let connections = 0
  const open = new Set<net.Socket>()
  // Half-open like the engine's own socket: docker closes its writing side of a hijacked
  // stream (build sessions, attach) and still reads the engine's answer.
  const server = net.createServer({ allowHalfOpen: true }, client => {
    connections += 1
    const engine = net.connect({ path: '/var/run/docker.sock', allowHalfOpen: true })
    open.add(client).add(engine)
    client.pipe(engine).pipe(client)
    const close = () => {
      client.destroy()
      engine.destroy()
    }
    client.on('error', close)
    engine.on('error', close)
    client.on('close', () => open.delete(client))
    engine.on('close', () => open.delete(engine))
  })
  await new Promise<void>(resolve =>
    'path' in listen
      ? server.listen(listen.path, resolve)
      : server.listen(listen.port, listen.host, resolve)
  )
  const address = server.address()
  return {
    get connections() {
      return connections
    },
    port: typeof address === 'object' && address ? address.port : 0,
    close: async () => {
      for (const socket of open) socket.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

/** A repository policy of reader statements (roles of `account`) whose compact JSON is just under
 * `size` characters. */
export function policyOfAbout(account: string, size: number): string {
  const statements: object[] = []
  const text = () => JSON.stringify({ Version: '2012-10-17', Statement: statements })
  for (let index = 0; text().length < size; index += 1) {
    statements.push({
      Sid: `Reader${index}`,
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${account}:role/reader-${index}` },
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
    })
  }
  statements.pop()
  return text()
}
