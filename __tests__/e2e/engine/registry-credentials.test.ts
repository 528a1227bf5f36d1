import { afterAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync
} from 'node:fs'
import path from 'node:path'
import type { ActionRun } from '../../../stack/run-action.js'
import {
  TOOLING_ACCOUNT,
  DEFAULT_REGION,
  fixturesDir,
  registryHost,
  useSandbox,
  useWorkDir
} from '../harness.js'
import {
  expectNoCredentialLeft,
  holdsRegistryCredential,
  publishPrivateBase,
  registryAuth,
  registryPassword,
  servedManifest
} from '../support.js'

/**
 * Issue 24 item 9: a build that needs ECR (a private base image, the registry cache) runs with a
 * temporary DOCKER_CONFIG; it must reach every other registry as the user's own docker would
 * (their credsStore, credHelpers and proxies), give the ECR token to none of the user's
 * programs, and build a private ECR base from what the registry holds now, not from a stale
 * local copy.
 *
 * The stack has no authenticating registry the action would not log in to; the stack's ECR
 * registry named with its port (HOST:443) is one: the same server, but a name that is not an
 * ECR host, so only the user's docker config can get the build in (docker keys credentials by
 * that name). Each test builds FROM (or COPY --from) a private ECR image too, so the action
 * writes its temporary config on every image store (with or without a registry cache).
 */

const ACCOUNT = TOOLING_ACCOUNT
const HOST = registryHost(ACCOUNT, DEFAULT_REGION)
/** The same registry under a name the action does not take for ECR. */
const OTHER_HOST = `${HOST}:443`

const sandbox = useSandbox()
const work = useWorkDir('registry-credentials-')
/** The images publishPrivateBase left in the engine under their names. */
const published: string[] = []

afterAll(() => {
  // Untags these names only: an image another name still uses stays.
  if (published.length > 0) {
    execFileSync('docker', ['image', 'rm', '--force', ...published], { timeout: 60_000 })
  }
})

/** A program docker runs as a credential helper: the docker-credential-NAME protocol. */
interface CredentialProgram {
  readonly name: string
  /** Every call it got: the operation and what docker wrote to it (a server URL for `get`). */
  calls(): { operation: string; input: string }[]
}

/**
 * Writes docker-credential-NAME into `bin`: it records every call, answers `get` for
 * `answersFor` with the registry's credential, says "not found" for any other server, and
 * refuses to store or erase anything.
 */
function credentialProgram(bin: string, name: string, answersFor: string): CredentialProgram {
  const log = path.join(bin, `${name}.calls`)
  const answer = JSON.stringify({
    ServerURL: answersFor,
    Username: 'AWS',
    Secret: registryPassword
  })
  const script = [
    '#!/bin/sh',
    'input=$(cat)',
    `printf '%s\\t%s\\n' "$1" "$input" >> '${log}'`,
    'case "$1" in',
    `  get) if [ "$input" = '${answersFor}' ] || [ "$input" = 'https://${answersFor}' ]; then`,
    `         printf '%s' '${answer}'; exit 0; fi`,
    "       echo 'credentials not found in native keychain'; exit 1 ;;",
    "  list) echo '{}' ;;",
    '  *) echo "refused: $1" >&2; exit 1 ;;',
    'esac',
    ''
  ].join('\n')
  const file = path.join(bin, `docker-credential-${name}`)
  writeFileSync(file, script)
  chmodSync(file, 0o700)
  return {
    name,
    calls: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter(line => line !== '')
            .map(line => {
              const [operation = '', input = ''] = line.split('\t')
              return { operation, input }
            })
        : []
  }
}

/** A user's docker config directory holding `config`, as their workflow left it. */
function userDockerConfig(dir: string, config: object): string {
  mkdirSync(dir, { recursive: true })
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2))
  return dir
}

/** A private ECR repository of this account holding a one-label image under `tag`. */
async function privateImage(name: string, tag: string, label: string): Promise<string> {
  await sandbox.control.createRepository({ account: ACCOUNT, region: DEFAULT_REGION, name })
  const reference = `${HOST}/${name}:${tag}`
  published.push(reference)
  publishPrivateBase(reference, label)
  return reference
}

/** A build context with the Dockerfile given and the fixtures' bootstrap. */
function buildContext(dir: string, dockerfile: string): string {
  mkdirSync(dir, { recursive: true })
  copyFileSync(
    path.join(fixturesDir, 'base-from-build-arg', 'bootstrap'),
    path.join(dir, 'bootstrap')
  )
  writeFileSync(path.join(dir, 'Dockerfile'), dockerfile)
  return dir
}

/** The labels of an image in the stack's registry (REGISTRY/NAME@DIGEST), read with its own credential. */
async function registryImageLabels(image: string): Promise<Record<string, string>> {
  const at = image.indexOf('@')
  const repository = image.slice(0, at)
  const served = await servedManifest(repository, image.slice(at + 1))
  const configDigest = served?.manifest.config?.digest
  if (!configDigest) throw new Error(`${image} has no single-image manifest in the registry`)
  const slash = repository.indexOf('/')
  const response = await fetch(
    `https://${repository.slice(0, slash)}/v2/${repository.slice(slash + 1)}/blobs/${configDigest}`,
    { headers: { authorization: `Basic ${registryAuth}` } }
  )
  expect(response.status).toBe(200)
  const config = (await response.json()) as { config?: { Labels?: Record<string, string> } }
  return config.config?.Labels ?? {}
}

function succeeded(run: ActionRun): void {
  if (run.exitCode !== 0) throw new Error(`The run failed:\n${run.stdout}\n${run.stderr}`)
}

/** The action's PATH with the test's credential programs first. */
function pathWith(bin: string): string {
  return `${bin}:${process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`
}

describe('registries the action does not log in to, during a build that needs ECR', () => {
  it("are reached through the user's credsStore, which is never asked about ECR", async () => {
    const { name, repository } = await sandbox.seed({ label: 'creds-store' })
    const tools = await privateImage(`${name}-tools`, 'v1', `tools=${name}`)
    const other = await privateImage(`${name}-other`, 'v1', `other-registry=${name}`)
    const bin = path.join(work.dir, name, 'bin')
    mkdirSync(bin, { recursive: true })
    const store = credentialProgram(bin, `e2estore-${process.pid}`, OTHER_HOST)
    // As `docker login` with a credsStore leaves it: an empty entry, the secret in the store.
    const config = userDockerConfig(path.join(work.dir, name, 'docker'), {
      auths: { [OTHER_HOST]: {} },
      credsStore: store.name
    })
    const before = readFileSync(path.join(config, 'config.json'), 'utf8')
    const context = buildContext(
      path.join(work.dir, name, 'context'),
      [
        `FROM ${tools} AS tools`,
        // The base from the registry only the store can let in.
        `FROM ${other.replace(HOST, OTHER_HOST)}`,
        'COPY --from=tools /etc/os-release /opt/tools-os-release',
        'COPY bootstrap /var/runtime/bootstrap',
        'CMD ["function.handler"]',
        ''
      ].join('\n')
    )

    const run = await sandbox.run(
      { 'function-name': name, repository, context, tags: 'v1' },
      { env: { DOCKER_CONFIG: config, PATH: pathWith(bin) } }
    )
    succeeded(run)
    // Built on the image behind the store's credential: its label is in the deployed image.
    expect((await registryImageLabels(run.outputs['image-uri']!))['other-registry']).toBe(name)
    const calls = store.calls()
    expect(calls).toContainEqual({ operation: 'get', input: OTHER_HOST })
    // The ECR registry's token came from the temporary config: the store was never asked
    // about that registry, and nothing was stored in or erased from it.
    expect(calls.filter(call => call.input.replace(/^https:\/\//, '') === HOST)).toEqual([])
    expect(calls.filter(call => call.operation !== 'get' && call.operation !== 'list')).toEqual([])
    expect(readFileSync(path.join(config, 'config.json'), 'utf8')).toBe(before)
    expectNoCredentialLeft(run)
  })

  it("are reached through the user's credHelpers, and their helper for ECR is not used", async () => {
    const { name, repository } = await sandbox.seed({ label: 'cred-helpers' })
    const other = await privateImage(`${name}-other`, 'v1', `other-registry=${name}`)
    const bin = path.join(work.dir, name, 'bin')
    mkdirSync(bin, { recursive: true })
    const helper = credentialProgram(bin, `e2ehelper-${process.pid}`, OTHER_HOST)
    // Their helper for the ECR registry itself (amazon-ecr-credential-helper, say) would answer
    // nothing here; the action's token for that registry must win.
    const config = userDockerConfig(path.join(work.dir, name, 'docker'), {
      credHelpers: { [OTHER_HOST]: helper.name, [HOST]: helper.name }
    })
    const context = buildContext(
      path.join(work.dir, name, 'context'),
      [
        `FROM ${other.replace(HOST, OTHER_HOST)} AS other`,
        `FROM ${other}`,
        'COPY --from=other /etc/os-release /opt/other-os-release',
        'COPY bootstrap /var/runtime/bootstrap',
        'CMD ["function.handler"]',
        ''
      ].join('\n')
    )

    const run = await sandbox.run(
      { 'function-name': name, repository, context, tags: 'v1' },
      { env: { DOCKER_CONFIG: config, PATH: pathWith(bin) } }
    )
    succeeded(run)
    const calls = helper.calls()
    expect(calls).toContainEqual({ operation: 'get', input: OTHER_HOST })
    expect(calls.filter(call => call.input.replace(/^https:\/\//, '') === HOST)).toEqual([])
    expectNoCredentialLeft(run)
  })

  it("get the user's proxies: the build's proxy variables are theirs", async () => {
    const { name, repository } = await sandbox.seed({ label: 'proxies' })
    const base = await privateImage(`${name}-base`, 'v1', `base=${name}`)
    // A no-proxy list only: a value the build can show, with no proxy to break it.
    const noProxy = `${name}.internal,.example.invalid`
    const config = userDockerConfig(path.join(work.dir, name, 'docker'), {
      proxies: { default: { noProxy } }
    })
    const context = buildContext(
      path.join(work.dir, name, 'context'),
      [
        `FROM ${base}`,
        'COPY bootstrap /var/runtime/bootstrap',
        // The proxy variables are not part of the step's cache key: a unique step keeps an
        // earlier build's answer out.
        `RUN echo "$NO_PROXY" > /proxy-seen # ${name}`,
        'CMD ["function.handler"]',
        ''
      ].join('\n')
    )

    const run = await sandbox.run(
      { 'function-name': name, repository, context, tags: 'v1' },
      { env: { DOCKER_CONFIG: config } }
    )
    succeeded(run)
    const container = execFileSync('docker', ['create', `${repository}:v1`], {
      encoding: 'utf8',
      timeout: 60_000
    }).trim()
    try {
      const copy = path.join(work.dir, name, 'proxy-seen')
      execFileSync('docker', ['cp', `${container}:/proxy-seen`, copy], { timeout: 60_000 })
      expect(readFileSync(copy, 'utf8').trim()).toBe(noProxy)
    } finally {
      execFileSync('docker', ['rm', '--force', container], { timeout: 60_000 })
    }
    expect(holdsRegistryCredential(readFileSync(path.join(config, 'config.json'), 'utf8'))).toBe(
      false
    )
    expectNoCredentialLeft(run)
  })
})

describe('a private ECR base image', () => {
  it('is built on as the registry has it now, not as a stale local copy has it', async () => {
    const { name, repository } = await sandbox.seed({ label: 'stale-base' })
    const base = await privateImage(`${name}-base`, 'al2023', `base-version=1`)
    // The engine keeps the first version while the tag moves on in the registry, as on a
    // runner that built on the base before it was republished.
    const stale = `${HOST}/${name}-base:stale`
    execFileSync('docker', ['tag', base, stale], { timeout: 60_000 })
    publishPrivateBase(base, 'base-version=2')
    execFileSync('docker', ['tag', stale, base], { timeout: 60_000 })
    execFileSync('docker', ['image', 'rm', stale], { timeout: 60_000 })
    const current = await servedManifest(`${HOST}/${name}-base`, 'al2023')
    const context = buildContext(
      path.join(work.dir, name, 'context'),
      [
        `FROM ${base}`,
        'COPY bootstrap /var/runtime/bootstrap',
        'CMD ["function.handler"]',
        ''
      ].join('\n')
    )

    const run = await sandbox.run({ 'function-name': name, repository, context, tags: 'v1' })
    succeeded(run)
    expect(run.outputs['base-image']).toBe(base)
    expect(run.outputs['base-image-digest']).toBe(current?.digest)
    // The label only the registry's version has: the stale copy has the same layers (a label
    // changes the config alone), so the base-layer check could not tell them apart.
    expect((await registryImageLabels(run.outputs['image-uri']!))['base-version']).toBe('2')
    expectNoCredentialLeft(run)
  })
})
