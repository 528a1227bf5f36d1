import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { PutLifecyclePolicyCommand } from '@aws-sdk/client-ecr'
import path from 'node:path'
import { repoRoot, runAction, type ActionRun } from '../../stack/run-action.js'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { clientsFor, type StandInClients } from '../../stack/stand-in/sdk-clients.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'
import { registryAuth } from './support.js'

/**
 * Issue 16 item 1, as a user meets it: images a function runs disappear from ECR (deleted, or
 * expired by a lifecycle rule), and the next cold start fails. The action, built and run as the
 * runner runs it, checks after the push and before the update; ECR's lifecycle preview is the
 * stand-in's model (stack/stand-in/lifecycle-rules.ts) over the real registry's images.
 */

const ACCOUNT = '111111111111'
const REGION = 'us-east-1'
const HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`
const fixture = path.join(repoRoot, '__tests__', 'fixtures', 'provided-multistage')

let standIn: StandIn
let control: StandInControl
let clients: StandInClients
let unique = 0

beforeAll(async () => {
  standIn = await startStandIn({ port: 0 })
  control = new StandInControl(standIn.url)
  clients = clientsFor(standIn.url, ACCOUNT)
})

afterAll(async () => {
  clients.ecr.destroy()
  clients.lambda.destroy()
  await standIn.close()
})

async function seed(prefix: string): Promise<{ name: string; repository: string }> {
  unique += 1
  const name = `${prefix}-${process.pid}-${unique}`
  await control.createRepository({ account: ACCOUNT, region: REGION, name })
  await control.createFunction({ account: ACCOUNT, region: REGION, name, packageType: 'Image' })
  return { name, repository: `${HOST}/${name}` }
}

/** A build whose image differs per `variant` (a build arg that lands in a layer). */
function deploy(inputs: Record<string, string>, variant?: string): Promise<ActionRun> {
  return runAction(
    {
      ...(variant
        ? { context: fixture, target: 'runtime', 'build-args': `VERSION=${variant}` }
        : {}),
      ...inputs
    },
    { standInUrl: standIn.url, account: ACCOUNT, region: REGION }
  )
}

/** Deletes a manifest from the registry, as `aws ecr batch-delete-image` would. */
async function deleteImage(name: string, digest: string): Promise<void> {
  const answer = await fetch(`https://${HOST}/v2/${name}/manifests/${digest}`, {
    method: 'DELETE',
    headers: { authorization: `Basic ${registryAuth}` }
  })
  if (answer.status !== 202) throw new Error(`DELETE ${digest}: ${answer.status}`)
}

async function putLifecyclePolicy(name: string, rules: unknown[]): Promise<void> {
  await clients.ecr.send(
    new PutLifecyclePolicyCommand({
      repositoryName: name,
      lifecyclePolicyText: JSON.stringify({ rules })
    })
  )
}

function expectSucceeded(run: ActionRun): void {
  if (run.exitCode !== 0) console.log(run.stdout)
  expect(run.exitCode).toBe(0)
}

function warnings(run: ActionRun, id: string): string[] {
  return run.stdout.split('\n').filter(line => line.startsWith(`::warning title=${id}`))
}

const ciRule = {
  rulePriority: 2,
  description: 'keep the newest CI build',
  selection: {
    tagStatus: 'tagged',
    tagPatternList: ['ci-*'],
    countType: 'imageCountMoreThan',
    countNumber: 1
  },
  action: { type: 'expire' }
}

describe('an image deleted from ECR', () => {
  it('is reported by the next deploy, which succeeds, with the published version that still runs it', async () => {
    const fn = await seed('deleted')
    const first = await deploy(
      {
        'function-name': fn.name,
        repository: fn.repository,
        tags: 'one',
        publish: 'true',
        alias: 'live'
      },
      `${fn.name}-1`
    )
    expectSucceeded(first)
    expect(warnings(first, 'image-deleted')).toEqual([])
    expect(first.summary).toContain('Images in ECR')
    const gone = first.outputs['image-digest']!
    await deleteImage(fn.name, gone)

    const second = await deploy(
      { 'function-name': fn.name, repository: fn.repository, tags: 'two' },
      `${fn.name}-2`
    )
    expectSucceeded(second)
    expect(second.outputs.deployed).toBe('true')
    const [current, version] = warnings(second, 'image-deleted')
    expect(current).toContain(
      `${fn.name}'s current image ${fn.repository}@${gone} is no longer in ECR`
    )
    expect(current).toContain('This deploy replaces it for $LATEST')
    expect(current).toContain('published version(s) 1 still run it')
    expect(version).toContain(`${fn.name} version 1 (alias live) runs ${fn.repository}@${gone}`)
    expect(second.summary).toContain('1 missing')
    expect(second.summary).toContain('warning image-deleted')
    expect(second.summary).toContain('the repository has no lifecycle policy')
  })
})

describe('a lifecycle policy', () => {
  it('that would expire the image being deployed is a warning naming the rule; the image replaced is not', async () => {
    const fn = await seed('lifecycle')
    await putLifecyclePolicy(fn.name, [ciRule])
    const first = await deploy(
      { 'function-name': fn.name, repository: fn.repository, tags: 'ci-1' },
      `${fn.name}-1`
    )
    expectSucceeded(first)
    expect(first.summary).toContain("ECR's lifecycle preview expires none of the images in use")
    const older = first.outputs['image-digest']!

    // The second build makes the first one the older ci-* image: the rule would expire it, but
    // after this deploy nothing runs it any more.
    const second = await deploy(
      { 'function-name': fn.name, repository: fn.repository, tags: 'ci-2' },
      `${fn.name}-2`
    )
    expectSucceeded(second)
    expect(warnings(second, 'image-expiring')).toEqual([])
    expect(second.summary).toContain("ECR's lifecycle preview expires none of the images in use")

    // Rolling back to the first image: the rule would expire what is being deployed.
    const rollback = await deploy({ 'function-name': fn.name, image: `${fn.repository}@${older}` })
    expectSucceeded(rollback)
    const [warning] = warnings(rollback, 'image-expiring')
    expect(warning).toContain(
      `would expire ${older}, which this run deploys to ${fn.name}: rule priority 2 ("keep the newest CI build")`
    )
    expect(rollback.summary).toContain('warning image-expiring')
    expect(rollback.summary).toContain('expires 1 image(s) in use')
  })
})

describe('deployed-tag', () => {
  it('moves to each deployed image, and a rule that spares it keeps a rollback safe', async () => {
    const fn = await seed('protect')
    const keepDeployed = {
      rulePriority: 1,
      description: 'keep what is deployed',
      selection: {
        tagStatus: 'tagged',
        tagPrefixList: ['deployed-'],
        countType: 'imageCountMoreThan',
        countNumber: 100
      },
      action: { type: 'expire' }
    }
    await putLifecyclePolicy(fn.name, [keepDeployed, ciRule])
    const tag = `deployed-${fn.name}`
    const first = await deploy(
      { 'function-name': fn.name, repository: fn.repository, tags: 'ci-1', 'deployed-tag': tag },
      `${fn.name}-1`
    )
    expectSucceeded(first)
    const one = first.outputs['image-digest']!
    expect((await control.registryManifest(ACCOUNT, REGION, fn.name, tag)).digest).toBe(one)

    const second = await deploy(
      { 'function-name': fn.name, repository: fn.repository, tags: 'ci-2', 'deployed-tag': tag },
      `${fn.name}-2`
    )
    expectSucceeded(second)
    const two = second.outputs['image-digest']!
    expect((await control.registryManifest(ACCOUNT, REGION, fn.name, tag)).digest).toBe(two)
    expect(second.stdout).toContain(`Tagged ${fn.repository}:${tag} (${two}), moved from ${one}.`)
    expect(second.summary).toContain(`moved from <code>${one}</code>`)

    // The first image has only ci-1 now, which rule 2 would expire; once deployed it carries
    // the tag again, and rule 1 spares it.
    const rollback = await deploy({
      'function-name': fn.name,
      image: `${fn.repository}@${one}`,
      'deployed-tag': tag
    })
    expectSucceeded(rollback)
    expect(warnings(rollback, 'image-expiring')).toEqual([])
    expect(rollback.summary).toContain("ECR's lifecycle preview expires none of the images in use")
    expect((await control.registryManifest(ACCOUNT, REGION, fn.name, tag)).digest).toBe(one)
  })
})
