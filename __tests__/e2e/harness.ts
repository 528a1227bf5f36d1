import { afterAll, beforeAll, expect } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { LambdaClient } from '@aws-sdk/client-lambda'
import { repoRoot, runAction, type ActionRun, type RunOptions } from '../../stack/run-action.js'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import type { FunctionSeed, RepositorySeed } from '../../stack/stand-in/control-types.js'
import { RegistryClient } from '../../stack/stand-in/registry-client.js'
import { clientsFor, type StandInClients } from '../../stack/stand-in/sdk-clients.js'
import { startStandIn, type StandIn, type StandInOptions } from '../../stack/stand-in/server.js'
import { registryEndpoint } from '../../stack/stand-in/topology.js'
import topology from '../../stack/topology.json' with { type: 'json' }
import { registryAuth } from './support.js'

/**
 * The e2e harness, as BuildKit's integration tests have one: each suite gets a sandbox (its own
 * stand-in on a free port, its control client, names no other suite uses) and never builds its
 * own; fixture images are built once per content and shared by every suite.
 *
 * Where a suite lives says what it depends on (jest.config.js): suites under e2e/aws run once,
 * and the action they run has no Docker engine. `run` enforces that: it points the action's
 * DOCKER_HOST at a socket nothing listens on, and fails the test, naming the fix, when the
 * action tried to reach the engine.
 */

export const TOOLING_ACCOUNT = '111111111111'
export const WORKLOAD_ACCOUNT = '222222222222'
export const DEFAULT_REGION = 'us-east-1'
export const fixturesDir = path.join(repoRoot, '__tests__', 'fixtures')

/** Whether the running test lives under __tests__/e2e/aws: its action gets no engine. */
export function suiteHasNoEngine(testPath = expect.getState().testPath ?? ''): boolean {
  return testPath.split(path.sep).join('/').includes('/__tests__/e2e/aws/')
}
/** Where the action of an AWS-only suite looks for an engine: nothing listens there. */
export const NO_ENGINE_SOCKET = '/run/lambda-image-deploy-e2e/aws-suites-have-no-docker-engine.sock'

export function registryHost(account = TOOLING_ACCOUNT, region = DEFAULT_REGION): string {
  return `${account}.dkr.ecr.${region}.amazonaws.com`
}

export interface SeedOptions {
  /** Names the repository and function after the test (made unique). */
  readonly label: string
  readonly region?: string
  readonly repositoryAccount?: string
  /** Default: the repository's account. */
  readonly functionAccount?: string
  readonly architecture?: 'x86_64' | 'arm64'
  readonly packageType?: 'Image' | 'Zip'
  readonly policy?: string
  /** Seed no repository (the function only). */
  readonly noRepository?: boolean
  /** The repository holds this image (copied in registry-side) and the function runs it. */
  readonly image?: FixtureImage
  readonly repository?: Partial<Omit<RepositorySeed, 'account' | 'region' | 'name'>>
  readonly function?: Partial<Omit<FunctionSeed, 'account' | 'region' | 'name'>>
}

export interface Seeded {
  readonly name: string
  readonly region: string
  readonly repositoryAccount: string
  readonly functionAccount: string
  /** ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME */
  readonly repository: string
  readonly functionArn: string
  /** REPOSITORY@sha256:… when seeded with an image. */
  readonly image?: string
  readonly digest?: string
}

export interface Sandbox {
  readonly standIn: StandIn
  readonly url: string
  readonly control: StandInControl
  /** SDK clients for an account (one attempt, so faults reach the test); destroyed after the suite. */
  clients(account?: string, region?: string): StandInClients
  /** A name no other test, suite or worker uses: LABEL-PID-N, lower case. */
  uniqueName(label: string): string
  seed(options: SeedOptions): Promise<Seeded>
  /** Copies an image into a repository of this sandbox's registries; REPOSITORY@DIGEST. */
  copyImage(image: FixtureImage, repository: string, tag?: string): Promise<string>
  /** The action, as a runner runs it, against this sandbox's stand-in. */
  run(inputs: Record<string, string>, options?: Partial<RunOptions>): Promise<ActionRun>
  /** Operations called since the last clearCalls, by name. */
  callsTo(operation: string): Promise<number>
}

/** A sandbox for the suite; its parts are there from beforeAll to afterAll. */
export function useSandbox(options: StandInOptions = {}): Sandbox {
  let standIn: StandIn | undefined
  let control: StandInControl | undefined
  const clients = new Map<string, StandInClients>()
  let unique = 0
  const live = () => {
    if (!standIn || !control) throw new Error('The sandbox is used outside a test or hook')
    return { standIn, control }
  }

  beforeAll(async () => {
    standIn = await startStandIn({ port: 0, ...options })
    control = new StandInControl(standIn.url)
  })
  afterAll(async () => {
    for (const set of clients.values()) {
      for (const client of Object.values(set)) (client as { destroy(): void }).destroy()
    }
    clients.clear()
    await standIn?.close()
  })

  const sandbox: Sandbox = {
    get standIn() {
      return live().standIn
    },
    get url() {
      return live().standIn.url
    },
    get control() {
      return live().control
    },
    clients(account = TOOLING_ACCOUNT, region = DEFAULT_REGION) {
      const key = `${account} ${region}`
      let set = clients.get(key)
      if (!set) {
        set = clientsFor(live().standIn.url, account, { region })
        clients.set(key, set)
      }
      return set
    },
    uniqueName(label) {
      unique += 1
      return `${label}-${process.pid}-${unique}`.toLowerCase().replace(/[^a-z0-9-]/g, '-')
    },
    async seed(seedOptions) {
      const { control: ctl } = live()
      const name = sandbox.uniqueName(seedOptions.label)
      const region = seedOptions.region ?? DEFAULT_REGION
      const repositoryAccount = seedOptions.repositoryAccount ?? TOOLING_ACCOUNT
      const functionAccount = seedOptions.functionAccount ?? repositoryAccount
      const repository = `${registryHost(repositoryAccount, region)}/${name}`
      if (!seedOptions.noRepository) {
        await ctl.createRepository({
          ...seedOptions.repository,
          account: repositoryAccount,
          region,
          name,
          policy: seedOptions.policy ?? seedOptions.repository?.policy
        })
      }
      const image = seedOptions.image
        ? await sandbox.copyImage(seedOptions.image, repository, 'seeded')
        : undefined
      const digest = image?.slice(image.indexOf('@') + 1)
      await ctl.createFunction({
        packageType: seedOptions.packageType ?? 'Image',
        architectures: [seedOptions.architecture ?? seedOptions.image?.architecture ?? 'x86_64'],
        ...(image ? { imageUri: image, codeSha256: digest!.replace('sha256:', '') } : {}),
        ...seedOptions.function,
        account: functionAccount,
        region,
        name
      })
      return {
        name,
        region,
        repositoryAccount,
        functionAccount,
        repository,
        functionArn: `arn:aws:lambda:${region}:${functionAccount}:function:${name}`,
        image,
        digest
      }
    },
    async copyImage(image, repository, tag) {
      const digest = await copyImage(image, repository, tag ?? 'copied')
      return `${repository}@${digest}`
    },
    run(inputs, runOptions = {}) {
      return runInSandbox(live().standIn.url, inputs, runOptions)
    },
    async callsTo(operation) {
      return (await live().control.calls()).filter(call => call.operation === operation).length
    }
  }
  return sandbox
}

/** The action against a stand-in; in an AWS-only suite, with no engine to reach. */
export async function runInSandbox(
  standInUrl: string,
  inputs: Record<string, string>,
  options: Partial<RunOptions> = {}
): Promise<ActionRun> {
  const env = { ...options.env }
  const noEngine = suiteHasNoEngine()
  if (noEngine) env.DOCKER_HOST = `unix://${NO_ENGINE_SOCKET}`
  const run = await runAction(inputs, {
    account: TOOLING_ACCOUNT,
    region: DEFAULT_REGION,
    ...options,
    standInUrl,
    env
  })
  if (noEngine) assertNoEngineReached(run)
  return run
}

/** Thrown when an AWS-only suite's action tried to use the engine. */
export class EngineUseInAwsSuite extends Error {
  override name = 'EngineUseInAwsSuite'
}

/** The guard of the store matrix: an AWS-only suite's action must not have tried the engine. */
export function assertNoEngineReached(run: Pick<ActionRun, 'stdout' | 'stderr'>): void {
  if (`${run.stdout}\n${run.stderr}`.includes(NO_ENGINE_SOCKET)) {
    throw new EngineUseInAwsSuite(
      'This suite is declared AWS-only (it lives in __tests__/e2e/aws, which runs once and gives ' +
        'the action no Docker engine), but the action tried to reach the engine, so what it ' +
        'tests depends on the image store. Deploy an image already in the registry (`image:` ' +
        'with sandbox.seed({ image: await fixtureImage(...) })), or move the test to ' +
        '__tests__/e2e/engine, which runs on every image store.'
    )
  }
}

// ---------------------------------------------------------------------------------------------
// Fixture images: built once per content, kept in the stack's registry, shared by every suite.

export interface FixtureSpec {
  /** A directory under __tests__/fixtures. */
  readonly fixture: string
  readonly architecture?: 'x86_64' | 'arm64'
  readonly target?: string
  readonly buildArgs?: Readonly<Record<string, string>>
}

export interface FixtureImage {
  /** REGISTRY/e2e-fixtures/NAME@sha256:… */
  readonly reference: string
  readonly repository: string
  readonly digest: string
  readonly architecture: 'x86_64' | 'arm64'
}

const FIXTURE_REPOSITORY_PREFIX = 'e2e-fixtures'
const fixtureRegistry = registryEndpoint(TOOLING_ACCOUNT, DEFAULT_REGION)!
const registry = new RegistryClient(topology.stateDir)
const built = new Map<string, Promise<FixtureImage>>()

/**
 * The image of a fixture, built for one architecture the first time any suite (or run) asks for
 * that content, and kept in the registry under a tag named by the content's hash: the fixture's
 * files, the build settings and the stand-in base images (stack/base-images.sh's list).
 */
export function fixtureImage(spec: FixtureSpec): Promise<FixtureImage> {
  const architecture = spec.architecture ?? 'x86_64'
  const key = contentKey(spec, architecture)
  let image = built.get(key)
  if (!image) {
    image = buildFixture(spec, architecture, key)
    built.set(key, image)
  }
  return image
}

function contentKey(spec: FixtureSpec, architecture: string): string {
  const hash = createHash('sha256')
  hash.update(JSON.stringify([spec.fixture, architecture, spec.target, spec.buildArgs ?? {}]))
  const dir = path.join(fixturesDir, spec.fixture)
  for (const file of filesOf(dir)) {
    hash.update(`\0${path.relative(dir, file)}\0`)
    hash.update(readFileSync(file))
  }
  const bases = path.join(topology.stateDir, 'base-images', 'images.txt')
  if (existsSync(bases)) hash.update(readFileSync(bases))
  return hash.digest('hex').slice(0, 20)
}

function filesOf(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap(entry => {
      const full = path.join(dir, entry)
      return statSync(full).isDirectory() ? filesOf(full) : [full]
    })
}

async function buildFixture(
  spec: FixtureSpec,
  architecture: 'x86_64' | 'arm64',
  key: string
): Promise<FixtureImage> {
  const repository = `${FIXTURE_REPOSITORY_PREFIX}/${spec.fixture}`
  const tag = `${architecture}-${key}`
  const host = fixtureRegistry.host
  const existing = await registry.digestOf(fixtureRegistry, repository, tag)
  const result = (digest: string): FixtureImage => ({
    reference: `${host}/${repository}@${digest}`,
    repository: `${host}/${repository}`,
    digest,
    architecture
  })
  if (existing) return result(existing)

  // Another worker may be building the same content: one build, the others wait for its tag.
  const lock = path.join(topology.stateDir, 'e2e-fixture-locks', `${key}.lock`)
  mkdirSync(path.dirname(lock), { recursive: true })
  for (let waited = 0; ; waited += 1) {
    try {
      mkdirSync(lock)
      break
    } catch {
      if (waited > 600) rmSync(lock, { recursive: true, force: true })
      await new Promise(resolve => setTimeout(resolve, 500))
      const done = await registry.digestOf(fixtureRegistry, repository, tag)
      if (done) return result(done)
    }
  }
  const config = mkdtempSync(path.join(os.tmpdir(), 'e2e-fixture-login-'))
  try {
    writeFileSync(
      path.join(config, 'config.json'),
      JSON.stringify({ auths: { [host]: { auth: registryAuth } } }),
      { mode: 0o600 }
    )
    const docker = (args: string[]) =>
      execFileSync('docker', args, {
        env: { ...process.env, DOCKER_CONFIG: config },
        timeout: 600_000,
        stdio: ['ignore', 'pipe', 'pipe']
      }).toString()
    const reference = `${host}/${repository}:${tag}`
    docker([
      'buildx',
      'build',
      '--load',
      '--provenance=false',
      '--sbom=false',
      `--platform=linux/${architecture === 'x86_64' ? 'amd64' : 'arm64'}`,
      ...(spec.target ? ['--target', spec.target] : []),
      ...Object.entries(spec.buildArgs ?? {}).flatMap(([name, value]) => [
        '--build-arg',
        `${name}=${value}`
      ]),
      '--tag',
      reference,
      path.join(fixturesDir, spec.fixture)
    ])
    const pushed = docker(['push', reference])
    const digest = /digest: (sha256:[a-f0-9]{64})/.exec(pushed)?.[1]
    if (!digest) throw new Error(`docker push ${reference} printed no digest:\n${pushed}`)
    docker(['image', 'rm', reference])
    return result(digest)
  } finally {
    rmSync(config, { recursive: true, force: true })
    rmSync(lock, { recursive: true, force: true })
  }
}

/** Copies a fixture image into REGISTRY/NAME under a tag, registry-side; the digest. */
export async function copyImage(
  image: FixtureImage,
  repository: string,
  tag: string
): Promise<string> {
  const to = parseRepository(repository)
  return registry.copyImage(
    {
      endpoint: fixtureRegistry,
      repository: image.repository.slice(image.repository.indexOf('/') + 1),
      reference: image.digest
    },
    { endpoint: to.endpoint, repository: to.name, reference: tag }
  )
}

function parseRepository(repository: string) {
  const match = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/(.+)$/.exec(repository)
  const endpoint = match && registryEndpoint(match[1]!, match[2]!)
  if (!match || !endpoint) throw new Error(`${repository} is not a repository of the stack`)
  return { endpoint, name: match[3]! }
}

/** A Lambda client with one attempt, for assertions on the stand-in's state. */
export function lambdaClientFor(sandbox: Sandbox, account = TOOLING_ACCOUNT): LambdaClient {
  return sandbox.clients(account).lambda
}

/** A scratch directory for the suite (made in beforeAll, removed in afterAll): `work.dir`. */
export function useWorkDir(prefix: string): { readonly dir: string } {
  let dir: string | undefined
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), prefix))
  })
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })
  return {
    get dir() {
      if (!dir) throw new Error('The work directory is used outside a test or hook')
      return dir
    }
  }
}

/** The architecture in the config of an image in a sandbox's registry (ACCOUNT/REGION/NAME@DIGEST). */
export async function registryImageArchitecture(
  sandbox: Sandbox,
  name: string,
  digest: string,
  account = TOOLING_ACCOUNT,
  region = DEFAULT_REGION
): Promise<string | undefined> {
  return (await sandbox.control.registryManifest(account, region, name, digest)).config.architecture
}

/**
 * An image seeded once for the suite (in beforeAll): a repository of its own holding the fixture
 * image, and a function running it; `.image` is REPOSITORY@DIGEST.
 */
export function useSeededImage(
  sandbox: Sandbox,
  label: string,
  spec: FixtureSpec = { fixture: 'provided-multistage', target: 'runtime' }
): { readonly image: string } {
  let image: string | undefined
  beforeAll(async () => {
    image = (await sandbox.seed({ label, image: await fixtureImage(spec) })).image
  })
  return {
    get image() {
      if (!image) throw new Error('The seeded image is used outside a test or hook')
      return image
    }
  }
}
