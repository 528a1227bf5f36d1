import { describe, expect, it } from '@jest/globals'
import { PutLifecyclePolicyCommand } from '@aws-sdk/client-ecr'
import { GetAliasCommand } from '@aws-sdk/client-lambda'
import type { ActionRun } from '../../../stack/run-action.js'
import {
  DEFAULT_REGION,
  TOOLING_ACCOUNT,
  fixtureImage,
  useSandbox,
  type FixtureImage,
  type Seeded
} from '../harness.js'

/**
 * Issue 26 item 3 and issue 25 item 4, as a user meets them. ECR's archive storage class
 * (November 2025): a lifecycle rule can transition an image to ARCHIVE, and an archived image
 * cannot be pulled, by Lambda neither, until it is restored. The stand-in models transition rules
 * and archived images (stack/stand-in/ecr-archive.ts, lifecycle-rules.ts); the test archives an
 * image through the stand-in's control API, as a rule or `aws ecr update-image-storage-class`
 * would. The lifecycle preview runs only when the repository has a policy that can change
 * something, and ends at its time limit even when a poll hangs.
 *
 * All AWS-side: each deploy is of an image already in the registry (`image:`); the suite runs once.
 */

const sandbox = useSandbox()

/** Two images of one fixture that differ in a layer (the build arg lands in the bootstrap); the
 * same two the expiring-images suite uses, so no new build. */
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

async function putLifecyclePolicy(name: string, rules: unknown[]): Promise<void> {
  await sandbox.clients().ecr.send(
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

/** A function whose alias live serves version 1, which runs generation 1 (tag v1). */
async function onVersionOne(label: string): Promise<{ fn: Seeded; first: string }> {
  const fn = await sandbox.seed({ label })
  const first = await pushed(fn, '1', 'v1')
  const run = await sandbox.run({
    'function-name': fn.name,
    image: first,
    publish: 'true',
    alias: 'live'
  })
  expectSucceeded(run)
  expect(run.outputs.version).toBe('1')
  return { fn, first }
}

const archiveAfterThirtyDaysUnpulled = {
  rulePriority: 1,
  description: 'archive images not pulled for 30 days',
  selection: {
    tagStatus: 'any',
    countType: 'sinceImagePulled',
    countUnit: 'days',
    countNumber: 30
  },
  action: { type: 'transition', targetStorageClass: 'archive' }
}

const DAY_MS = 24 * 60 * 60 * 1000

describe('a transition rule', () => {
  it('that would archive the image a version serves is a warning naming the version, its alias and the rule', async () => {
    const { fn, first } = await onVersionOne('transition')
    // Lambda pulled generation 1 when version 1 was made, 40 days ago, and never since: Lambda
    // pulls only on create, update and re-optimization, so a pull-based rule reaches it.
    await sandbox.control.recordPull(
      TOOLING_ACCOUNT,
      DEFAULT_REGION,
      fn.name,
      digestOf(first),
      Date.now() - 40 * DAY_MS
    )
    await putLifecyclePolicy(fn.name, [archiveAfterThirtyDaysUnpulled])
    const second = await sandbox.run({
      'function-name': fn.name,
      image: await pushed(fn, '2', 'v2')
    })
    expectSucceeded(second)
    const [warning, ...others] = warnings(second, 'image-transitioning')
    expect(others).toEqual([])
    expect(warning).toContain(
      `would archive ${digestOf(first)}, which ${fn.name} version 1 (alias live) runs: rule priority 1 ("archive images not pulled for 30 days")`
    )
    expect(warning).toContain('a rollback to it fails')
    expect(second.summary).toContain('warning image-transitioning')
    expect(second.summary).toContain("ECR's lifecycle preview archives 1 image(s) in use")
  })
})

describe('an archived image', () => {
  it('behind the version an alias serves refuses a rollout (its rollback) before anything changes, naming the restore', async () => {
    const { fn, first } = await onVersionOne('rollback')
    const archived = digestOf(first)
    await sandbox.control.archiveImage(TOOLING_ACCOUNT, DEFAULT_REGION, fn.name, archived)
    const alarm = `${fn.name}-errors`
    await sandbox.control.createAlarm({
      account: TOOLING_ACCOUNT,
      region: DEFAULT_REGION,
      name: alarm,
      state: 'OK',
      reason: 'no errors'
    })
    const second = await pushed(fn, '2', 'v2')
    const updatesBefore = await sandbox.callsTo('UpdateFunctionCode')
    const publishesBefore = await sandbox.callsTo('PublishVersion')
    const run = await sandbox.run({
      'function-name': fn.name,
      image: second,
      publish: 'true',
      alias: 'live',
      rollout: 'canary 10% 1m',
      'rollout-alarms': alarm
    })
    expect(run.exitCode).not.toBe(0)
    expect(run.stdout).toContain(
      `version 1, which alias live serves now and a rollback goes back to, runs ${fn.repository}@${archived}, which is archived`
    )
    expect(run.stdout).toContain(`${fn.name} was not changed`)
    expect(run.stdout).toContain(
      `aws ecr update-image-storage-class --registry-id ${TOOLING_ACCOUNT} --repository-name ${fn.name} --image-id imageDigest=${archived} --target-storage-class STANDARD`
    )
    // Before any change: no code update, no version, the alias where it was.
    expect(await sandbox.callsTo('UpdateFunctionCode')).toBe(updatesBefore)
    expect(await sandbox.callsTo('PublishVersion')).toBe(publishesBefore)
    const live = await sandbox
      .clients()
      .lambda.send(new GetAliasCommand({ FunctionName: fn.name, Name: 'live' }))
    expect(live.FunctionVersion).toBe('1')
    expect(live.RoutingConfig?.AdditionalVersionWeights).toBeUndefined()
    // The retention check, before it, reported the archived image as archived, not deleted.
    expect(warnings(run, 'image-archived').join('\n')).toContain(
      `${fn.name} version 1 (alias live) runs ${fn.repository}@${archived}, which is archived`
    )
    expect(warnings(run, 'image-deleted')).toEqual([])
  })
})

describe('an archived image given as `image`', () => {
  it('is refused before any change, naming it and the restore, not as a missing image', async () => {
    const fn = await sandbox.seed({ label: 'deploy-only' })
    const reference = await pushed(fn, '1', 'v1')
    const archived = digestOf(reference)
    await sandbox.control.archiveImage(TOOLING_ACCOUNT, DEFAULT_REGION, fn.name, archived)
    const updatesBefore = await sandbox.callsTo('UpdateFunctionCode')
    const run = await sandbox.run({ 'function-name': fn.name, image: reference })
    expect(run.exitCode).not.toBe(0)
    expect(run.stdout).toContain('[image-archived]')
    expect(run.stdout).toContain(`${fn.repository}@${archived}`)
    expect(run.stdout).toContain('Nothing was changed.')
    expect(run.stdout).toContain('--target-storage-class STANDARD')
    expect(run.stdout).not.toContain('[pushed-image-missing]')
    expect(await sandbox.callsTo('UpdateFunctionCode')).toBe(updatesBefore)
  })
})

describe('the lifecycle preview', () => {
  it('is not started when the repository has no lifecycle policy', async () => {
    const fn = await sandbox.seed({ label: 'no-policy' })
    const before = await sandbox.callsTo('StartLifecyclePolicyPreview')
    const run = await sandbox.run({ 'function-name': fn.name, image: await pushed(fn, '1', 'v1') })
    expectSucceeded(run)
    expect(await sandbox.callsTo('StartLifecyclePolicyPreview')).toBe(before)
    expect(run.summary).toContain('the repository has no lifecycle policy')
  })

  it('is not started when no rule of the policy can change anything now', async () => {
    const fn = await sandbox.seed({ label: 'unchanged' })
    // One image; the rule keeps ten.
    await putLifecyclePolicy(fn.name, [
      {
        rulePriority: 1,
        description: 'keep ten images',
        selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 10 },
        action: { type: 'expire' }
      }
    ])
    const before = await sandbox.callsTo('StartLifecyclePolicyPreview')
    const run = await sandbox.run({ 'function-name': fn.name, image: await pushed(fn, '1', 'v1') })
    expectSucceeded(run)
    expect(await sandbox.callsTo('StartLifecyclePolicyPreview')).toBe(before)
    expect(run.summary).toContain('the lifecycle policy changes nothing now')
  })

  it('ends at its 30 s limit when a poll hangs, and the deploy goes on with a notice', async () => {
    const fn = await sandbox.seed({ label: 'hang' })
    await pushed(fn, '1', 'ci-1')
    await putLifecyclePolicy(fn.name, [
      {
        rulePriority: 1,
        description: 'keep the newest CI build',
        selection: {
          tagStatus: 'tagged',
          tagPatternList: ['ci-*'],
          countType: 'imageCountMoreThan',
          countNumber: 1
        },
        action: { type: 'expire' }
      }
    ])
    // The first poll answers after 50 s: well beyond the limit.
    await sandbox.control.injectFault({
      service: 'ecr',
      operation: 'GetLifecyclePolicyPreview',
      kind: 'slow',
      delayMs: 50_000
    })
    const started = Date.now()
    const run = await sandbox.run({
      'function-name': fn.name,
      image: await pushed(fn, '2', 'ci-2')
    })
    const took = Date.now() - started
    expectSucceeded(run)
    expect(run.outputs.deployed).toBe('true')
    expect(run.stdout).toContain('did not complete within 30 s')
    expect(run.summary).toContain('the lifecycle policy could not be evaluated')
    // The limit is 30 s and the rest of the deploy takes seconds; a wait for the hanging poll's
    // answer would take 50 s.
    expect(took).toBeGreaterThanOrEqual(30_000)
    expect(took).toBeLessThan(45_000)
  }, 120_000)
})
