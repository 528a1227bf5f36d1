import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createHash } from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import type { ActionRun } from '../../../stack/run-action.js'
import {
  DEFAULT_REGION,
  TOOLING_ACCOUNT,
  fixturesDir,
  registryHost,
  useSandbox,
  useWorkDir
} from '../harness.js'
import { expectSucceeded, publishPrivateBase, registryAuth } from '../support.js'

/**
 * rebuild: if-inputs-changed (issue 24 item 2): the inputs digest covers every input that can
 * change the image, or the run builds and says which instruction made it build. Each input here
 * is changed between two deploys by the test itself, so the truth is known from how the fixture
 * was made: the served file changed, the mounted image moved, the builder-platform image moved.
 *
 * The ADD fetch is made by BuildKit (in the engine's network namespace), not by a container: the
 * test's HTTP server listens on 127.0.0.1, which the engine's own builder reaches.
 */

const sandbox = useSandbox()
const work = useWorkDir('inputs-digest-')

/** The file the HTTP server serves at /fetched.txt; a test changes it between deploys. */
let served = 'first\n'
let server: Server | undefined
let serverUrl = ''

beforeAll(async () => {
  server = createServer((request, response) => {
    if (request.url !== '/fetched.txt') {
      response.writeHead(404).end()
      return
    }
    response.writeHead(200, { 'content-type': 'text/plain' }).end(served)
  })
  await new Promise<void>(resolve => server!.listen(0, '127.0.0.1', resolve))
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fetched.txt`
})

afterAll(async () => {
  await new Promise<void>(resolve => (server ? server.close(() => resolve()) : resolve()))
})

/** A copy of a fixture with its @NAME@ placeholders written, as the build context of one test. */
function context(fixture: string, name: string, values: Record<string, string>): string {
  const dir = path.join(work.dir, name)
  cpSync(path.join(fixturesDir, fixture), dir, { recursive: true })
  const dockerfile = path.join(dir, 'Dockerfile')
  let text = readFileSync(dockerfile, 'utf8')
  for (const [key, value] of Object.entries(values)) text = text.replaceAll(`@${key}@`, value)
  writeFileSync(dockerfile, text)
  return dir
}

function deploy(
  fn: { name: string; repository: string },
  dir: string,
  inputs: Record<string, string> = {}
): Promise<ActionRun> {
  return sandbox.run({
    'function-name': fn.name,
    repository: fn.repository,
    context: dir,
    tags: 'v1',
    ...inputs
  })
}

const built = (run: ActionRun) => run.outputs.built

/** Line of the first Dockerfile line containing `text`, counted in the fixture as written. */
function fixtureLine(fixture: string, text: string): number {
  const lines = readFileSync(path.join(fixturesDir, fixture, 'Dockerfile'), 'utf8').split('\n')
  return lines.findIndex(line => line.includes(text)) + 1
}

/**
 * Pushes a one-file image (/generation holding `generation`) for `platform` to `reference`, in
 * the sandbox's private registry: what a test mounts or copies from and then moves.
 */
function publishGenerationImage(reference: string, generation: string, platform: string): void {
  const registry = reference.slice(0, reference.indexOf('/'))
  const root = mkdtempSync(path.join(os.tmpdir(), 'inputs-digest-image-'))
  const config = path.join(root, 'config')
  const build = path.join(root, 'context')
  mkdirSync(config)
  mkdirSync(build)
  const docker = (args: string[]) =>
    execFileSync('docker', args, {
      env: { ...process.env, DOCKER_CONFIG: config },
      timeout: 120_000
    })
  try {
    writeFileSync(
      path.join(config, 'config.json'),
      JSON.stringify({ auths: { [registry]: { auth: registryAuth } } }),
      { mode: 0o600 }
    )
    writeFileSync(path.join(build, 'generation'), `${generation}\n`)
    writeFileSync(path.join(build, 'Dockerfile'), 'FROM scratch\nCOPY generation /generation\n')
    docker([
      'buildx',
      'build',
      '--load',
      '--provenance=false',
      '--sbom=false',
      `--platform=${platform}`,
      '--tag',
      reference,
      build
    ])
    docker(['push', reference])
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

/** Points `reference` at an index of the images `amd64` and `arm64` name (imagetools, registry-side). */
function publishIndex(reference: string, amd64: string, arm64: string): void {
  const registry = reference.slice(0, reference.indexOf('/'))
  const config = mkdtempSync(path.join(os.tmpdir(), 'inputs-digest-index-'))
  try {
    writeFileSync(
      path.join(config, 'config.json'),
      JSON.stringify({ auths: { [registry]: { auth: registryAuth } } }),
      { mode: 0o600 }
    )
    execFileSync('docker', ['buildx', 'imagetools', 'create', '--tag', reference, amd64, arm64], {
      env: { ...process.env, DOCKER_CONFIG: config },
      timeout: 120_000
    })
  } finally {
    rmSync(config, { recursive: true, force: true })
  }
}

async function privateRepository(name: string): Promise<string> {
  await sandbox.control.createRepository({
    account: TOOLING_ACCOUNT,
    region: DEFAULT_REGION,
    name
  })
  return `${registryHost()}/${name}`
}

describe('ADD of a URL (BuildKit fetches it on every build)', () => {
  const fixture = 'inputs-digest-add-url'

  it.each<{ label: string; name: string; source: (url: string) => string; kind: RegExp }>([
    {
      label: 'a literal URL',
      name: 'literal',
      source: url => url,
      kind: /fetches a file whose content is known only by fetching it/
    },
    {
      label: 'a URL given as a build argument',
      name: 'build-arg',
      source: () => '${SOURCE_URL}',
      kind: /names \$\{SOURCE_URL\}, a variable that may name a URL/
    }
  ])(
    '$label: after the served file changed, the redeploy builds, and the notice names the ADD by file and line',
    async ({ name, source, kind }) => {
      const fn = await sandbox.seed({ label: `add-url-${name}` })
      const dir = context(fixture, fn.name, { SOURCE: source(serverUrl), ADD_FLAGS: '' })
      const inputs = { 'build-args': `SOURCE_URL=${serverUrl}` }
      served = `first ${fn.name}\n`
      const first = await deploy(fn, dir, inputs)
      expectSucceeded(first)
      expect(built(first)).toBe('true')

      served = `second ${fn.name}\n`
      const second = await deploy(fn, dir, inputs)
      expectSucceeded(second)
      expect(built(second)).toBe('true')
      // The image holds the other file, so it is another image.
      expect(second.outputs['image-digest']).not.toBe(first.outputs['image-digest'])
      const line = fixtureLine(fixture, 'ADD --chmod=644 @ADD_FLAGS@')
      const notice = second.stdout
        .split('\n')
        .find(text => text.startsWith('::notice ') && text.includes(`Dockerfile:${line} `))
      expect(notice).toMatch(kind)
      expect(notice).toContain(`line=${line}`)
    }
  )

  it('ADD --checksum pins the file: an unchanged redeploy reuses the image without building', async () => {
    const fn = await sandbox.seed({ label: 'add-url-checksum' })
    served = `pinned ${fn.name}\n`
    const checksum = `sha256:${createSha256(served)}`
    const dir = context(fixture, fn.name, {
      SOURCE: serverUrl,
      ADD_FLAGS: `--checksum=${checksum}`
    })
    const first = await deploy(fn, dir)
    expectSucceeded(first)
    expect(built(first)).toBe('true')
    const again = await deploy(fn, dir)
    expectSucceeded(again)
    expect(built(again)).toBe('false')
    expect(again.outputs['image-digest']).toBe(first.outputs['image-digest'])
  })
})

describe('RUN --mount=...,from=IMAGE', () => {
  it('builds when the mounted image moved, and reuses while it stays', async () => {
    const fn = await sandbox.seed({ label: 'mount-from' })
    // The base is private in the same registry, so the build logs in there either way.
    const base = `${await privateRepository(`${fn.name}-base`)}:al2023`
    publishPrivateBase(base, 'generation=1')
    const tools = `${await privateRepository(`${fn.name}-tools`)}:v1`
    const platform = `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`
    publishGenerationImage(tools, '1', platform)
    const dir = context('inputs-digest-mount', fn.name, { TOOLS: tools })
    const inputs = { 'build-args': `BASE=${base}` }

    const first = await deploy(fn, dir, inputs)
    expectSucceeded(first)
    expect(built(first)).toBe('true')
    const same = await deploy(fn, dir, inputs)
    expectSucceeded(same)
    expect(built(same)).toBe('false')

    publishGenerationImage(tools, '2', platform)
    const moved = await deploy(fn, dir, inputs)
    expectSucceeded(moved)
    expect(built(moved)).toBe('true')
    expect(moved.outputs['inputs-digest']).not.toBe(first.outputs['inputs-digest'])
    expect(moved.outputs['image-digest']).not.toBe(first.outputs['image-digest'])
  })
})

describe('FROM --platform=$BUILDPLATFORM', () => {
  it('builds when the image of the builder’s platform moved, for a function of the other architecture', async () => {
    // The engine builds on this machine's platform; the function is arm64 on x86_64 and the
    // other way round, so the two platforms differ and only the builder's entry of the index moves.
    const builder = process.arch === 'x64' ? 'amd64' : 'arm64'
    const other = builder === 'amd64' ? 'arm64' : 'amd64'
    const fn = await sandbox.seed({
      label: 'build-platform',
      architecture: other === 'arm64' ? 'arm64' : 'x86_64'
    })
    const repository = await privateRepository(`${fn.name}-tools`)
    const tools = `${repository}:v1`
    publishGenerationImage(`${repository}:${other}`, 'other', `linux/${other}`)
    const publish = (generation: string) => {
      publishGenerationImage(
        `${repository}:${builder}-${generation}`,
        generation,
        `linux/${builder}`
      )
      const [amd64, arm64] =
        builder === 'amd64'
          ? [`${repository}:${builder}-${generation}`, `${repository}:${other}`]
          : [`${repository}:${other}`, `${repository}:${builder}-${generation}`]
      publishIndex(tools, amd64, arm64)
    }
    publish('1')
    const dir = context('inputs-digest-build-platform', fn.name, {})
    const inputs = { 'build-args': `TOOLS=${tools}` }

    const first = await deploy(fn, dir, inputs)
    expectSucceeded(first)
    expect(built(first)).toBe('true')
    const same = await deploy(fn, dir, inputs)
    expectSucceeded(same)
    expect(built(same)).toBe('false')

    // Only the builder's image moves; the function's platform's entry stays as it was.
    publish('2')
    const moved = await deploy(fn, dir, inputs)
    expectSucceeded(moved)
    expect(built(moved)).toBe('true')
    expect(moved.outputs['image-digest']).not.toBe(first.outputs['image-digest'])
  })
})

function createSha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
