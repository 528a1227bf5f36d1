import { describe, expect, it } from '@jest/globals'
import { GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr'
import { execFile, execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import type { ActionRun } from '../../../stack/run-action.js'
import type { RepositorySeed } from '../../../stack/stand-in/control-client.js'
import {
  DEFAULT_REGION,
  TOOLING_ACCOUNT,
  fixturesDir,
  registryHost,
  useSandbox,
  useWorkDir
} from '../harness.js'
import { expectSucceeded } from '../support.js'

/**
 * Repositories whose tags are immutable, through the real engine and the registry under the ECR
 * name (whose gate refuses a manifest PUT under an existing immutable tag, as ECR's registry
 * does): a rerun of an unchanged image pushes nothing and leaves its tags alone; a changed image
 * under an existing immutable tag fails before anything is pushed or deployed; a tag an exclusion
 * filter covers moves. Each outcome rests on what the engine builds and what its push sends, which
 * differ by image store: the suite runs on each.
 */

const HOST = registryHost()
const PUBLIC_BASE = 'public.ecr.aws/lambda/provided:al2023'

const sandbox = useSandbox()
const work = useWorkDir('immutable-tags-')

interface Seeded {
  name: string
  repository: string
  context: string
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

async function seed(
  label: string,
  mutability: Pick<RepositorySeed, 'imageTagMutability' | 'imageTagMutabilityExclusionFilters'>
): Promise<Seeded> {
  const { name, repository } = await sandbox.seed({
    label: `immutable-${label}`,
    architecture: 'x86_64',
    repository: mutability
  })
  const context = path.join(work.dir, name)
  cpSync(path.join(fixturesDir, 'base-from-build-arg'), context, { recursive: true })
  writeFileSync(path.join(context, 'Dockerfile'), DOCKERFILE)
  return { name, repository, context }
}

function deploy(fn: Seeded, inputs: Record<string, string>): Promise<ActionRun> {
  return sandbox.run({
    'function-name': fn.name,
    repository: fn.repository,
    context: fn.context,
    ...inputs
  })
}

const dockerPushed = (run: ActionRun) => run.stdout.includes('::group::Push to ')

async function digestOf(fn: Seeded, tag: string): Promise<string> {
  return (await sandbox.control.registryManifest(TOOLING_ACCOUNT, DEFAULT_REGION, fn.name, tag))
    .digest
}

async function tagsOf(fn: Seeded): Promise<string[]> {
  return sandbox.control.registryTags(TOOLING_ACCOUNT, DEFAULT_REGION, fn.name)
}

async function deployedImage(fn: Seeded): Promise<string | undefined> {
  const state = await sandbox.control.state()
  return state.functions.find(f => f.name === fn.name)?.code.imageUri
}

describe('an IMMUTABLE repository', () => {
  it('takes a rerun of an unchanged image without pushing, leaving its tags alone and saying so', async () => {
    const fn = await seed('rerun', { imageTagMutability: 'IMMUTABLE' })
    const first = await deploy(fn, { tags: 'abc123', rebuild: 'always' })
    expectSucceeded(first)
    expect(dockerPushed(first)).toBe(true)
    const digest = await digestOf(fn, 'abc123')
    expect(first.outputs['image-uri']).toBe(`${fn.repository}@${digest}`)

    await sandbox.control.clearCalls()
    // rebuild: always builds again: the same image (same config), which ECR would refuse to push.
    const again = await deploy(fn, { tags: 'abc123', rebuild: 'always' })
    expectSucceeded(again)
    expect(again.stdout).toContain('::group::Build ')
    expect(dockerPushed(again)).toBe(false)
    expect(await sandbox.callsTo('PutImage')).toBe(0)
    expect(again.stdout).toContain(`${fn.repository}:abc123 names this image already (${digest})`)
    expect(again.summary).toContain('Tag left as it is')
    expect(again.summary).toContain(`${fn.repository}:abc123`)
    expect(again.outputs['image-uri']).toBe(`${fn.repository}@${digest}`)
    expect(await digestOf(fn, 'abc123')).toBe(digest)
    expect(await deployedImage(fn)).toBe(`${fn.repository}@${digest}`)
  })

  it('reuses an image of unchanged inputs without writing its existing tags again', async () => {
    const fn = await seed('reuse', { imageTagMutability: 'IMMUTABLE' })
    expectSucceeded(await deploy(fn, { tags: 'abc123' }))
    const tagsBefore = await tagsOf(fn)

    await sandbox.control.clearCalls()
    const again = await deploy(fn, { tags: 'abc123' })
    expectSucceeded(again)
    expect(again.stdout).not.toContain('::group::Build ')
    expect(dockerPushed(again)).toBe(false)
    expect(await sandbox.callsTo('PutImage')).toBe(0)
    expect(again.summary).toContain('Tag left as it is')
    expect(await tagsOf(fn)).toEqual(tagsBefore)
  })

  it('fails before pushing or deploying anything when an existing tag names another image', async () => {
    const fn = await seed('conflict', { imageTagMutability: 'IMMUTABLE' })
    expectSucceeded(await deploy(fn, { tags: 'v1', 'build-args': 'GREETING=hello' }))
    const digest = await digestOf(fn, 'v1')
    const tagsBefore = await tagsOf(fn)
    const deployedBefore = await deployedImage(fn)

    await sandbox.control.clearCalls()
    const changed = await deploy(fn, { tags: 'v1', 'build-args': 'GREETING=changed' })
    expect(changed.exitCode).not.toBe(0)
    expect(changed.stdout).toContain('[image-tag-immutable]')
    expect(changed.stdout).toContain(`${fn.repository}:v1 (${digest})`)
    expect(changed.stdout).toContain('commit SHA')
    expect(changed.summary).toContain('image-tag-immutable')
    expect(dockerPushed(changed)).toBe(false)
    expect(await sandbox.callsTo('PutImage')).toBe(0)
    expect(await sandbox.callsTo('UpdateFunctionCode')).toBe(0)
    expect(await sandbox.callsTo('SetRepositoryPolicy')).toBe(0)
    // Not even the new inputs tag reached the repository.
    expect(await tagsOf(fn)).toEqual(tagsBefore)
    expect(await digestOf(fn, 'v1')).toBe(digest)
    expect(await deployedImage(fn)).toBe(deployedBefore)
  })
})

describe('an IMMUTABLE_WITH_EXCLUSION repository', () => {
  it('moves a tag its exclusion filter covers, and keeps the others', async () => {
    const fn = await seed('exclusion', {
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [{ filter: 'latest', filterType: 'WILDCARD' }]
    })
    expectSucceeded(await deploy(fn, { tags: 'first,latest', 'build-args': 'GREETING=hello' }))
    const first = await digestOf(fn, 'first')

    const next = await deploy(fn, { tags: 'second,latest', 'build-args': 'GREETING=next' })
    expectSucceeded(next)
    expect(dockerPushed(next)).toBe(true)
    const second = await digestOf(fn, 'second')
    expect(second).not.toBe(first)
    expect(await digestOf(fn, 'latest')).toBe(second)
    expect(await digestOf(fn, 'first')).toBe(first)
    expect(await deployedImage(fn)).toBe(`${fn.repository}@${second}`)
  })
})

describe('the registry under the ECR name', () => {
  it('refuses docker’s own manifest PUT of an existing immutable tag, even of the same image, in ECR’s words', async () => {
    const fn = await seed('gate', { imageTagMutability: 'IMMUTABLE' })
    const first = await deploy(fn, { tags: 'abc123', rebuild: 'always' })
    expectSucceeded(first)
    const digest = await digestOf(fn, 'abc123')
    // What the action now avoids: without the check, the same push fails as moby/buildkit#3776.
    const config = mkdtempSync(path.join(os.tmpdir(), 'immutable-docker-'))
    try {
      // As the action logs docker in: a config file with the token (no `docker login`).
      const auth = Buffer.from(`AWS:${await ecrPassword()}`).toString('base64')
      writeFileSync(
        path.join(config, 'config.json'),
        JSON.stringify({ auths: { [HOST]: { auth } } })
      )
      // Not execFileSync: the stand-in that answers the gate runs in this process.
      const output = await promisify(execFile)(
        'docker',
        ['--config', config, 'push', `${fn.repository}:abc123`],
        { encoding: 'utf8', timeout: 120_000 }
      ).then(
        () => 'pushed',
        (error: { stdout?: string; stderr?: string }) =>
          `${error.stdout ?? ''}${error.stderr ?? ''}`
      )
      if (engineUsesContainerdStore()) {
        // The containerd store's push asks for the manifest first (HEAD, 200) and sends no PUT
        // for one the registry already has, so there is nothing for ECR to refuse.
        expect(output).toBe('pushed')
      } else {
        expect(output).toContain(
          `tag invalid: The image tag 'abc123' already exists in the '${fn.name}' repository and cannot be overwritten because the tag is immutable.`
        )
      }
      expect(await digestOf(fn, 'abc123')).toBe(digest)
    } finally {
      rmSync(config, { recursive: true, force: true })
    }
  })
})

/** The engine's image store: the containerd store reports its snapshotter as the driver type. */
function engineUsesContainerdStore(): boolean {
  return execFileSync('docker', ['info', '--format', '{{json .DriverStatus}}'], {
    encoding: 'utf8'
  }).includes('io.containerd.snapshotter')
}

/** A registry password the stand-in issued, as GetAuthorizationToken hands it out. */
async function ecrPassword(): Promise<string> {
  const answer = await sandbox.clients().ecr.send(new GetAuthorizationTokenCommand({}))
  const token = answer.authorizationData?.[0]?.authorizationToken ?? ''
  return Buffer.from(token, 'base64').toString('utf8').slice('AWS:'.length)
}
