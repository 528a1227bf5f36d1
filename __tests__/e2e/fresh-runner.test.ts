import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { repoRoot, runAction, type ActionRun } from '../../stack/run-action.js'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'
import { expectNoCredentialLeft, publishPrivateBase, registryAuth } from './support.js'

/**
 * rebuild: if-inputs-changed (the default) through the real engine and registry: a run whose
 * inputs the repository already holds an image of builds and pushes nothing, even on an engine
 * that has neither the image nor any build cache (what the next job on a fresh runner has);
 * every input that changes the image makes it build, and a .dockerignored file does not. And the
 * registry build cache (containerd store): a fresh runner rebuilds only the steps after a change.
 */

const ACCOUNT = '111111111111'
const REGION = 'us-east-1'
const HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`
const PUBLIC_BASE = 'public.ecr.aws/lambda/provided:al2023'
const STORE = process.env.LAMBDA_STACK_IMAGE_STORE ?? 'classic'

let standIn: StandIn
let control: StandInControl
let work: string
let unique = 0

beforeAll(async () => {
  standIn = await startStandIn({ port: 0 })
  control = new StandInControl(standIn.url)
  work = mkdtempSync(path.join(os.tmpdir(), 'fresh-runner-'))
})

afterAll(async () => {
  await standIn.close()
  rmSync(work, { recursive: true, force: true })
})

function docker(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}) {
  return execFileSync('docker', args, {
    encoding: 'utf8',
    env: options.env ?? process.env,
    input: options.input,
    timeout: 120_000
  })
}

/** A function, its repository, and a build context of its own that a test may change. */
async function seed(label: string): Promise<{ name: string; repository: string; context: string }> {
  unique += 1
  const name = `inputs-${label}-${process.pid}-${unique}`
  await control.createRepository({ account: ACCOUNT, region: REGION, name })
  await control.createFunction({
    account: ACCOUNT,
    region: REGION,
    name,
    packageType: 'Image',
    architectures: ['x86_64']
  })
  const context = path.join(work, name)
  cpSync(path.join(repoRoot, '__tests__', 'fixtures', 'base-from-build-arg'), context, {
    recursive: true
  })
  writeFileSync(path.join(context, 'Dockerfile'), DOCKERFILE)
  writeFileSync(path.join(context, '.dockerignore'), 'notes.md\n')
  writeFileSync(path.join(context, 'notes.md'), 'not part of the image\n')
  return { name, repository: `${HOST}/${name}`, context }
}

const DOCKERFILE = [
  `ARG BASE=${PUBLIC_BASE}`,
  'FROM ${BASE}',
  'ARG GREETING=hello',
  'LABEL greeting=${GREETING}',
  'COPY bootstrap /var/runtime/bootstrap',
  'CMD ["function.handler"]',
  ''
].join('\n')

function deploy(
  fn: { name: string; repository: string; context: string },
  inputs: Record<string, string> = {}
): Promise<ActionRun> {
  return runAction(
    {
      'function-name': fn.name,
      repository: fn.repository,
      context: fn.context,
      tags: 'v1',
      ...inputs
    },
    { standInUrl: standIn.url, account: ACCOUNT, region: REGION }
  )
}

function expectSucceeded(run: ActionRun): void {
  if (run.exitCode !== 0) throw new Error(`The run failed:\n${run.stdout}\n${run.stderr}`)
  expectNoCredentialLeft(run)
}

const built = (run: ActionRun) => run.stdout.includes('::group::Build ')
const pushed = (run: ActionRun) => run.stdout.includes('::group::Push to ')

/** What a fresh runner's engine holds of this repository's images, and any build cache. */
function forgetEverything(repository: string): void {
  const images = docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', repository])
    .split('\n')
    .filter(line => line !== '' && !line.endsWith(':<none>'))
  if (images.length > 0) docker(['image', 'rm', '--force', ...images])
  docker(['builder', 'prune', '--all', '--force'])
}

/** UpdateFunctionCode calls since the last clearCalls (this suite's stand-in is its own). */
async function updateCalls(): Promise<number> {
  return (await control.calls()).filter(call => call.operation === 'UpdateFunctionCode').length
}

/** A manifest as the stack's registry serves it under the ECR name, or undefined if absent. */
async function registryManifest(
  repository: string,
  reference: string
): Promise<{ digest: string; layers: string[] } | undefined> {
  const name = repository.slice(HOST.length + 1)
  const response = await fetch(`https://${HOST}/v2/${name}/manifests/${reference}`, {
    headers: {
      authorization: `Basic ${registryAuth}`,
      accept: [
        'application/vnd.oci.image.manifest.v1+json',
        'application/vnd.docker.distribution.manifest.v2+json'
      ].join(', ')
    }
  })
  if (response.status === 404) return undefined
  expect(response.status).toBe(200)
  const manifest = (await response.json()) as { layers?: { digest: string }[] }
  return {
    digest: response.headers.get('docker-content-digest') ?? '',
    layers: (manifest.layers ?? []).map(layer => layer.digest)
  }
}

/** The manifest digest a tag names in the registry. */
async function tagDigest(repository: string, tag: string): Promise<string | undefined> {
  return (await registryManifest(repository, tag))?.digest
}

describe('rebuild: if-inputs-changed (the default)', () => {
  it('builds and pushes nothing when the repository holds an image of the same inputs, on an engine without the image or any build cache', async () => {
    const fn = await seed('fresh-runner')
    const first = await deploy(fn)
    expectSucceeded(first)
    expect(built(first)).toBe(true)
    expect(first.outputs.built).toBe('true')
    const digest = first.outputs['image-digest']!
    const inputsDigest = first.outputs['inputs-digest']!
    expect(inputsDigest).toMatch(/^sha256:[0-9a-f]{64}$/)
    // The image records its inputs, and the repository names it by them.
    const tag = `inputs-${inputsDigest.slice('sha256:'.length)}`
    expect(await tagDigest(fn.repository, tag)).toBe(digest)

    forgetEverything(fn.repository)
    await control.clearCalls()
    const second = await deploy(fn, { tags: 'v2' })
    expectSucceeded(second)
    expect(built(second)).toBe(false)
    expect(pushed(second)).toBe(false)
    expect(second.outputs.built).toBe('false')
    expect(second.outputs['inputs-digest']).toBe(inputsDigest)
    expect(second.outputs['image-digest']).toBe(digest)
    expect(second.outputs.deployed).toBe('false')
    expect(await updateCalls()).toBe(0)
    expect(second.stdout).toContain(`The repository holds ${tag}, built from these same inputs`)
    expect(second.summary).toContain('skipped: the repository holds')
    // The run's own tag is added to the image, without a push.
    expect(await tagDigest(fn.repository, 'v2')).toBe(digest)
    const calls = (await control.calls()).map(call => call.operation)
    expect(calls).toContain('PutImage')
    // And nothing was loaded into the engine.
    expect(docker(['image', 'ls', '--quiet', fn.repository]).trim()).toBe('')
  })

  it('deploys the image of these inputs to a function that runs another one, still without building', async () => {
    const fn = await seed('other-image')
    const first = await deploy(fn)
    expectSucceeded(first)
    const changed = await deploy(fn, { 'build-args': 'GREETING=bonjour' })
    expectSucceeded(changed)
    expect(built(changed)).toBe(true)
    // Back to the first inputs: the repository holds their image, which is deployed again.
    await control.clearCalls()
    const back = await deploy(fn)
    expectSucceeded(back)
    expect(built(back)).toBe(false)
    expect(back.outputs['image-digest']).toBe(first.outputs['image-digest'])
    expect(back.outputs.deployed).toBe('true')
    expect(await updateCalls()).toBe(1)
  })

  interface Change {
    readonly label: string
    /** Changes the context (or not) and returns the inputs that differ from the first run. */
    readonly change: (fn: { context: string }) => Record<string, string>
    readonly builds: boolean
  }
  it.each<Change>([
    {
      label: 'a changed file in the context',
      change: fn => {
        writeFileSync(path.join(fn.context, 'bootstrap'), '#!/bin/sh\necho changed\n', {
          mode: 0o755
        })
        return {}
      },
      builds: true
    },
    {
      label: 'a changed build argument',
      change: () => ({ 'build-args': 'GREETING=hola' }),
      builds: true
    },
    {
      label: 'a changed file that .dockerignore leaves out',
      change: fn => {
        writeFileSync(path.join(fn.context, 'notes.md'), 'edited\n')
        return {}
      },
      builds: false
    },
    { label: 'rebuild: always', change: () => ({ rebuild: 'always' }), builds: true }
  ])('$label: builds is $builds', async ({ change, builds }) => {
    const fn = await seed('change')
    expectSucceeded(await deploy(fn))
    const run = await deploy(fn, change(fn))
    expectSucceeded(run)
    expect(built(run)).toBe(builds)
    expect(run.outputs.built).toBe(String(builds))
  })

  it('builds when the base image moved to another digest, with nothing else changed', async () => {
    const fn = await seed('moved-base')
    // A private base in ECR: this test can move its tag.
    await control.createRepository({ account: ACCOUNT, region: REGION, name: `${fn.name}-base` })
    const base = `${HOST}/${fn.name}-base:al2023`
    const publishBase = (generation: string) => publishPrivateBase(base, `generation=${generation}`)
    publishBase('1')
    const first = await deploy(fn, { 'build-args': `BASE=${base}` })
    expectSucceeded(first)
    expect(built(first)).toBe(true)
    const same = await deploy(fn, { 'build-args': `BASE=${base}` })
    expectSucceeded(same)
    expect(built(same)).toBe(false)

    publishBase('2')
    const moved = await deploy(fn, { 'build-args': `BASE=${base}` })
    expectSucceeded(moved)
    expect(built(moved)).toBe(true)
    expect(moved.outputs['inputs-digest']).not.toBe(first.outputs['inputs-digest'])
    expect(moved.outputs['base-image-digest']).not.toBe(first.outputs['base-image-digest'])
  })
})

describe('the registry build cache (registry-cache: true, the default)', () => {
  /** A RUN step whose output differs on every run: only a cache hit gives the same layer. */
  const CACHED_DOCKERFILE = [
    `FROM ${PUBLIC_BASE} AS build`,
    'RUN mkdir -p /out && date +%s%N > /out/stamp',
    `FROM ${PUBLIC_BASE}`,
    'COPY --from=build /out/stamp /var/task/stamp',
    'COPY bootstrap /var/runtime/bootstrap',
    'CMD ["function.handler"]',
    ''
  ].join('\n')

  async function layers(repository: string, digest: string): Promise<string[]> {
    return (await registryManifest(repository, digest))!.layers
  }

  it(`on the ${STORE} store: a one-line change on a fresh runner ${STORE === 'classic' ? 'rebuilds every step (no cache can be exported)' : 'rebuilds only the steps after it'}`, async () => {
    const fn = await seed('cache')
    writeFileSync(path.join(fn.context, 'Dockerfile'), CACHED_DOCKERFILE)
    const first = await deploy(fn)
    expectSucceeded(first)
    forgetEverything(fn.repository)
    writeFileSync(path.join(fn.context, 'bootstrap'), '#!/bin/sh\necho "one line changed"\n', {
      mode: 0o755
    })
    const second = await deploy(fn)
    expectSucceeded(second)
    expect(second.outputs.built).toBe('true')
    const before = await layers(fn.repository, first.outputs['image-digest']!)
    const after = await layers(fn.repository, second.outputs['image-digest']!)
    // The last layer is the changed file's.
    expect(after.at(-1)).not.toBe(before.at(-1))
    if (STORE === 'classic') {
      expect(second.stdout).toContain('No registry build cache')
      // The RUN step ran again: its stamp layer is new.
      expect(after.at(-2)).not.toBe(before.at(-2))
    } else {
      expect(second.stdout).toContain(`Build cache: ${fn.repository}:buildcache-x86_64`)
      expect(second.stdout).toMatch(/importing cache manifest from [^\n]*buildcache-x86_64/)
      // The RUN step came from the cache in the repository: the same stamp layer.
      expect(after.slice(0, -1)).toEqual(before.slice(0, -1))
      expect(await tagDigest(fn.repository, 'buildcache-x86_64')).toMatch(/^sha256:/)
    }
  })
})
