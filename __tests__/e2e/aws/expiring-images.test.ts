import { describe, expect, it } from '@jest/globals'
import { PutLifecyclePolicyCommand } from '@aws-sdk/client-ecr'
import type { ActionRun } from '../../../stack/run-action.js'
import {
  DEFAULT_REGION,
  TOOLING_ACCOUNT,
  fixtureImage,
  registryHost,
  useSandbox,
  type FixtureImage,
  type Seeded
} from '../harness.js'
import { registryAuth } from '../support.js'

/**
 * Issue 16 item 1, as a user meets it: images a function runs disappear from ECR (deleted, or
 * expired by a lifecycle rule), and the next cold start fails. The action, run as the runner
 * runs it, checks after the push and before the update; ECR's lifecycle preview is the
 * stand-in's model (stack/stand-in/lifecycle-rules.ts) over the real registry's images.
 *
 * All of it is AWS-side: each deploy is of an image already in the registry (`image:`), put
 * there under the tag the test names, as a CI build would have pushed it; the suite runs once.
 */

const sandbox = useSandbox()

/** Two images of one fixture that differ in a layer (the build arg lands in the bootstrap). */
const generation = (version: '1' | '2'): Promise<FixtureImage> =>
  fixtureImage({
    fixture: 'provided-multistage',
    target: 'runtime',
    buildArgs: { VERSION: `expiring-${version}` }
  })

/** Puts a generation in the function's repository under a tag; REPOSITORY@DIGEST. */
async function pushed(fn: Seeded, version: '1' | '2', tag: string): Promise<string> {
  return sandbox.copyImage(await generation(version), fn.repository, tag)
}

const digestOf = (reference: string) => reference.slice(reference.indexOf('@') + 1)

/** Deletes a manifest from the registry, as `aws ecr batch-delete-image` would. */
async function deleteImage(name: string, digest: string): Promise<void> {
  const answer = await fetch(`https://${registryHost()}/v2/${name}/manifests/${digest}`, {
    method: 'DELETE',
    headers: { authorization: `Basic ${registryAuth}` }
  })
  if (answer.status !== 202) throw new Error(`DELETE ${digest}: ${answer.status}`)
}

async function putLifecyclePolicy(name: string, rules: unknown[]): Promise<void> {
  await sandbox.clients().ecr.send(
    new PutLifecyclePolicyCommand({
      repositoryName: name,
      lifecyclePolicyText: JSON.stringify({ rules })
    })
  )
}

async function registryDigest(fn: Seeded, tag: string): Promise<string> {
  return (await sandbox.control.registryManifest(TOOLING_ACCOUNT, DEFAULT_REGION, fn.name, tag))
    .digest
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
    const fn = await sandbox.seed({ label: 'deleted' })
    const firstImage = await pushed(fn, '1', 'one')
    const first = await sandbox.run({
      'function-name': fn.name,
      image: firstImage,
      publish: 'true',
      alias: 'live'
    })
    expectSucceeded(first)
    expect(first.outputs['image-digest']).toBe(digestOf(firstImage))
    expect(warnings(first, 'image-deleted')).toEqual([])
    expect(first.summary).toContain('Images in ECR')
    const gone = digestOf(firstImage)
    await deleteImage(fn.name, gone)

    const second = await sandbox.run({
      'function-name': fn.name,
      image: await pushed(fn, '2', 'two')
    })
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
    const fn = await sandbox.seed({ label: 'lifecycle' })
    await putLifecyclePolicy(fn.name, [ciRule])
    const older = await pushed(fn, '1', 'ci-1')
    const first = await sandbox.run({ 'function-name': fn.name, image: older })
    expectSucceeded(first)
    // One ci-* image, and the rule keeps one: nothing to preview.
    expect(first.summary).toContain('the lifecycle policy changes nothing now')

    // The second CI build makes the first one the older ci-* image: the rule would expire it,
    // but after this deploy nothing runs it any more.
    const second = await sandbox.run({
      'function-name': fn.name,
      image: await pushed(fn, '2', 'ci-2')
    })
    expectSucceeded(second)
    expect(warnings(second, 'image-expiring')).toEqual([])
    expect(second.summary).toContain("ECR's lifecycle preview expires none of the images in use")

    // Rolling back to the first image: the rule would expire what is being deployed.
    const rollback = await sandbox.run({ 'function-name': fn.name, image: older })
    expectSucceeded(rollback)
    const [warning] = warnings(rollback, 'image-expiring')
    expect(warning).toContain(
      `would expire ${digestOf(older)}, which this run deploys to ${fn.name}: rule priority 2 ("keep the newest CI build")`
    )
    expect(rollback.summary).toContain('warning image-expiring')
    expect(rollback.summary).toContain('expires 1 image(s) in use')
  })
})

describe('deployed-tag', () => {
  it('moves to each deployed image, and a rule that spares it keeps a rollback safe', async () => {
    const fn = await sandbox.seed({ label: 'protect' })
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
    const firstImage = await pushed(fn, '1', 'ci-1')
    const first = await sandbox.run({
      'function-name': fn.name,
      image: firstImage,
      'deployed-tag': tag
    })
    expectSucceeded(first)
    const one = digestOf(firstImage)
    expect(await registryDigest(fn, tag)).toBe(one)

    const secondImage = await pushed(fn, '2', 'ci-2')
    const second = await sandbox.run({
      'function-name': fn.name,
      image: secondImage,
      'deployed-tag': tag
    })
    expectSucceeded(second)
    const two = digestOf(secondImage)
    expect(two).not.toBe(one)
    expect(await registryDigest(fn, tag)).toBe(two)
    expect(second.stdout).toContain(`Tagged ${fn.repository}:${tag} (${two}), moved from ${one}.`)
    expect(second.summary).toContain(`moved from <code>${one}</code>`)

    // The first image has only ci-1 now, which rule 2 would expire; once deployed it carries
    // the tag again, and rule 1 spares it.
    const rollback = await sandbox.run({
      'function-name': fn.name,
      image: firstImage,
      'deployed-tag': tag
    })
    expectSucceeded(rollback)
    expect(warnings(rollback, 'image-expiring')).toEqual([])
    expect(rollback.summary).toContain("ECR's lifecycle preview expires none of the images in use")
    expect(await registryDigest(fn, tag)).toBe(one)
  })
})
