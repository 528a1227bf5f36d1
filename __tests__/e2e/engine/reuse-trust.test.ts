import { describe, expect, it } from '@jest/globals'
import { UpdateFunctionCodeCommand } from '@aws-sdk/client-lambda'
import { cpSync } from 'node:fs'
import path from 'node:path'
import type { ActionRun } from '../../../stack/run-action.js'
import type { RepositorySeed } from '../../../stack/stand-in/control-types.js'
import { built, pushed } from '../fresh-runner-support.js'
import {
  DEFAULT_REGION,
  TOOLING_ACCOUNT,
  fixtureImage,
  fixturesDir,
  registryHost,
  useSandbox,
  useWorkDir
} from '../harness.js'
import { expectSucceeded } from '../support.js'

/**
 * What an inputs tag (`inputs-HEX`) is trusted for, through the real engine and registry: the
 * image it names stands for a build only when that image's own config says it was built from
 * these inputs (the label io.github.lambda-image-deploy.inputs-digest). A tag moved onto another
 * image is a notice and a build, on the deploy path and on the scheduled refresh's shortcut; an
 * immutable inputs tag that another run already put on an image of the same inputs is that image,
 * deployed instead of failing on the tag. Whether an image is reused is decided from the registry
 * alone, before the engine is asked anything, so a fresh runner (an emptied engine) decides the
 * same: no prune is needed here. Each outcome rests on what the engine builds and pushes, which
 * differs by image store: the suite runs on each.
 */

const sandbox = useSandbox()
const work = useWorkDir('reuse-trust-')

const INPUTS_LABEL = 'io.github.lambda-image-deploy.inputs-digest'
const REVISION_LABEL = 'org.opencontainers.image.revision'
const EU = 'eu-west-1'

/**
 * The foreign image: built from the same Dockerfile by plain `docker buildx build` (the
 * harness's fixture build), not by the action, so it carries no inputs label, and with another
 * greeting, so it is another image than any the action builds here.
 */
const foreignImage = () =>
  fixtureImage({ fixture: 'inputs-changed', buildArgs: { GREETING: 'moved-tag' } })

interface Fn {
  readonly name: string
  readonly repository: string
  readonly context: string
}

async function seed(label: string, repository: Partial<RepositorySeed> = {}): Promise<Fn> {
  const seeded = await sandbox.seed({ label: `trust-${label}`, repository })
  const context = path.join(work.dir, seeded.name)
  cpSync(path.join(fixturesDir, 'inputs-changed'), context, { recursive: true })
  return { name: seeded.name, repository: seeded.repository, context }
}

function deploy(fn: Fn, inputs: Record<string, string> = {}): Promise<ActionRun> {
  return sandbox.run({
    'function-name': fn.name,
    repository: fn.repository,
    context: fn.context,
    tags: 'v1',
    ...inputs
  })
}

const inputsTagOf = (run: ActionRun) =>
  `inputs-${run.outputs['inputs-digest']!.replace(/^sha256:/, '')}`

async function labelsOf(
  name: string,
  reference: string,
  region = DEFAULT_REGION
): Promise<Record<string, string>> {
  const image = await sandbox.control.registryManifest(TOOLING_ACCOUNT, region, name, reference)
  return (image.config as { config?: { Labels?: Record<string, string> } }).config?.Labels ?? {}
}

async function deployedImage(name: string, region = DEFAULT_REGION): Promise<string | undefined> {
  const state = await sandbox.control.state()
  return state.functions.find(f => f.name === name && f.region === region)?.code.imageUri
}

const digestIn = (imageUri: string | undefined) => imageUri?.slice(imageUri.indexOf('@') + 1)

describe('a moved inputs tag', () => {
  it('is not reused: a redeploy of unchanged sources builds, and deploys an image of these inputs', async () => {
    const fn = await seed('moved')
    const first = await deploy(fn)
    expectSucceeded(first)
    const inputsDigest = first.outputs['inputs-digest']!
    const tag = inputsTagOf(first)

    // Someone with push rights moves the inputs tag onto another image.
    const foreign = await sandbox.copyImage(await foreignImage(), fn.repository, tag)
    const foreignDigest = digestIn(foreign)!
    expect(await labelsOf(fn.name, tag)).not.toHaveProperty([INPUTS_LABEL])

    const again = await deploy(fn)
    expectSucceeded(again)
    expect(again.outputs['inputs-digest']).toBe(inputsDigest)
    expect(again.stdout).toContain(
      `${fn.repository}:${tag} names ${foreignDigest}, which was not built from these inputs`
    )
    expect(again.stdout).toMatch(/::notice::.*which was not built from these inputs/)
    expect(built(again)).toBe(true)
    expect(again.outputs.built).toBe('true')
    expect(pushed(again)).toBe(true)
    const running = await deployedImage(fn.name)
    expect(digestIn(running)).not.toBe(foreignDigest)
    expect(again.outputs['image-digest']).not.toBe(foreignDigest)
    expect((await labelsOf(fn.name, digestIn(running)!))[INPUTS_LABEL]).toBe(inputsDigest)
    // The push put the tag back on an image of these inputs.
    expect((await labelsOf(fn.name, tag))[INPUTS_LABEL]).toBe(inputsDigest)
  })

  it('does not answer a scheduled refresh: the deployed image it names is not taken as built from these sources', async () => {
    const fn = await seed('refresh')
    const first = await deploy(fn)
    expectSucceeded(first)
    const inputsDigest = first.outputs['inputs-digest']!
    const tag = inputsTagOf(first)

    // The tag moved onto another image, and the function runs that image.
    const foreign = await sandbox.copyImage(await foreignImage(), fn.repository, tag)
    await sandbox
      .clients()
      .lambda.send(new UpdateFunctionCodeCommand({ FunctionName: fn.name, ImageUri: foreign }))
    expect(await deployedImage(fn.name)).toBe(foreign)

    const refresh = await deploy(fn, { rebuild: 'if-base-changed' })
    expectSucceeded(refresh)
    expect(refresh.stdout).not.toContain('it was built from these sources')
    expect(refresh.stdout).toContain(
      `${fn.repository}:${tag} names ${digestIn(foreign)}, the image ${fn.name} runs, but that image was not built from these inputs`
    )
    // The foreign image records no base (a plain docker build): the refresh rebuilds, and
    // builds rather than reuse the image the tag names.
    expect(refresh.outputs.deployed).toBe('true')
    expect(built(refresh)).toBe(true)
    const running = await deployedImage(fn.name)
    expect(running).not.toBe(foreign)
    expect((await labelsOf(fn.name, digestIn(running)!))[INPUTS_LABEL]).toBe(inputsDigest)
  })
})

describe('an immutable inputs tag that another run already put on an image of the same inputs', () => {
  it('is the run’s image in that repository: deployed, not refused', async () => {
    // Two repositories (two regions), both IMMUTABLE. Job A, another run of the same sources on
    // another runner (another commit: another image config), deployed to the first region only;
    // job B then finds the inputs tag in one repository but not in the other, so it builds, and
    // meets A's image under the immutable inputs tag, as a job racing A does.
    const name = sandbox.uniqueName('trust-race')
    const repositories = [DEFAULT_REGION, EU].map(
      region => `${registryHost(TOOLING_ACCOUNT, region)}/${name}`
    )
    const functions: string[] = []
    for (const region of [DEFAULT_REGION, EU]) {
      await sandbox.control.createRepository({
        account: TOOLING_ACCOUNT,
        region,
        name,
        imageTagMutability: 'IMMUTABLE'
      })
      await sandbox.control.createFunction({
        account: TOOLING_ACCOUNT,
        region,
        name,
        packageType: 'Image',
        architectures: ['x86_64']
      })
      functions.push(`arn:aws:lambda:${region}:${TOOLING_ACCOUNT}:function:${name}`)
    }
    const context = path.join(work.dir, name)
    cpSync(path.join(fixturesDir, 'inputs-changed'), context, { recursive: true })
    const revisionA = 'a'.repeat(40)
    const revisionB = 'b'.repeat(40)

    const jobA = await sandbox.run(
      { 'function-name': functions[0]!, repository: repositories[0]!, context, tags: 'job-a' },
      { env: { GITHUB_SHA: revisionA } }
    )
    expectSucceeded(jobA)
    const inputsDigest = jobA.outputs['inputs-digest']!
    const tag = inputsTagOf(jobA)
    const imageA = await sandbox.control.registryManifest(
      TOOLING_ACCOUNT,
      DEFAULT_REGION,
      name,
      tag
    )

    const jobB = await sandbox.run(
      {
        'function-name': functions.join('\n'),
        repository: repositories.join('\n'),
        context,
        tags: 'job-b'
      },
      { env: { GITHUB_SHA: revisionB } }
    )
    expectSucceeded(jobB)
    expect(jobB.outputs['inputs-digest']).toBe(inputsDigest)
    expect(built(jobB)).toBe(true)
    expect(jobB.stdout).not.toContain('image-tag-immutable')
    expect(jobB.stdout).toContain(
      `${repositories[0]}:${tag} is immutable and already names ${imageA.digest}`
    )

    // The first region runs A's image, which now carries B's tag too; B's build went nowhere there.
    expect(await deployedImage(name, DEFAULT_REGION)).toBe(`${repositories[0]}@${imageA.digest}`)
    expect((await labelsOf(name, 'job-b'))[REVISION_LABEL]).toBe(revisionA)
    expect(
      (await sandbox.control.registryManifest(TOOLING_ACCOUNT, DEFAULT_REGION, name, tag)).digest
    ).toBe(imageA.digest)
    // The second region runs B's own build: these inputs, B's commit.
    const second = await deployedImage(name, EU)
    expect(second?.startsWith(`${repositories[1]}@`)).toBe(true)
    const secondLabels = await labelsOf(name, digestIn(second)!, EU)
    expect(secondLabels[INPUTS_LABEL]).toBe(inputsDigest)
    expect(secondLabels[REVISION_LABEL]).toBe(revisionB)
  })
})
