import { describe, expect, it } from '@jest/globals'
import path from 'node:path'
import type { ActionRun } from '../../../stack/run-action.js'
import { DEFAULT_REGION, TOOLING_ACCOUNT, fixturesDir, useSandbox } from '../harness.js'
import { expectSucceeded } from '../support.js'

/**
 * The round trips of a deploy that builds, counted in the stand-in's call log and the action's
 * log: the repository is described once per run however it is named, and the image is pushed
 * once per repository; its other tags are written with PutImage of the manifest that push left
 * in ECR, so each tag names the digest that was pushed and deployed.
 */

const sandbox = useSandbox()

function deploy(inputs: Record<string, string>): Promise<ActionRun> {
  return sandbox.run({
    context: path.join(fixturesDir, 'provided-multistage'),
    target: 'runtime',
    ...inputs
  })
}

/** The `docker push` runs into a repository, as the action logs each ("Pushing REFERENCE"). */
const dockerPushes = (run: ActionRun, repositoryUri: string) =>
  run.stdout.split('\n').filter(line => line.startsWith(`Pushing ${repositoryUri}:`)).length

async function digestOf(name: string, tag: string): Promise<string> {
  return (await sandbox.control.registryManifest(TOOLING_ACCOUNT, DEFAULT_REGION, name, tag)).digest
}

describe('reads that do not depend on each other', () => {
  it('looks a repository given by name up while the function is read', async () => {
    const fn = await sandbox.seed({ label: 'round-trips-parallel' })
    await sandbox.control.clearCalls()
    // GetFunction answers 2 s late: in a sequence, it would be logged before the account and
    // repository reads, which need nothing from it.
    await sandbox.control.injectFaults([
      { service: 'lambda', operation: 'GetFunction', kind: 'slow', times: 1, delayMs: 2000 }
    ])
    const run = await deploy({
      'function-name': fn.name,
      repository: fn.name,
      tags: 'v1',
      'build-args': `VERSION=${fn.name}`
    })
    expectSucceeded(run)
    expect((await sandbox.control.faults()).map(fault => fault.fired)).toEqual([1])
    const answered = (await sandbox.control.calls()).map(call => call.operation)
    expect(answered.indexOf('DescribeRepositories')).toBeGreaterThanOrEqual(0)
    expect(answered.indexOf('DescribeRepositories')).toBeLessThan(answered.indexOf('GetFunction'))
  })
})

describe('a deploy that builds', () => {
  it('describes a repository given by name once, pushes once and writes the other tags with PutImage', async () => {
    const fn = await sandbox.seed({ label: 'round-trips' })
    await sandbox.control.clearCalls()
    const run = await deploy({
      'function-name': fn.name,
      repository: fn.name,
      tags: 'v1,latest',
      'build-args': `VERSION=${fn.name}`
    })
    expectSucceeded(run)
    const digest = run.outputs['image-digest']!
    const inputsTag = `inputs-${run.outputs['inputs-digest']!.replace('sha256:', '')}`
    expect(await sandbox.callsTo('DescribeRepositories')).toBe(1)
    expect(dockerPushes(run, fn.repository)).toBe(1)
    // The inputs tag is pushed first; v1 and latest are added to what that push left.
    expect(await sandbox.callsTo('PutImage')).toBe(2)
    expect(run.stdout).toMatch(new RegExp(`Tagged \\S+:v1 \\(${digest}\\): PutImage`))
    expect(run.stdout).toMatch(new RegExp(`Tagged \\S+:latest \\(${digest}\\): PutImage`))
    for (const tag of [inputsTag, 'v1', 'latest']) {
      expect(await digestOf(fn.name, tag)).toBe(digest)
    }
    expect(run.outputs['image-uri']).toBe(`${fn.repository}@${digest}`)
  })

  it('describes a repository given by URI once', async () => {
    const fn = await sandbox.seed({ label: 'round-trips-uri' })
    await sandbox.control.clearCalls()
    const run = await deploy({
      'function-name': fn.name,
      repository: fn.repository,
      tags: 'v1',
      'build-args': `VERSION=${fn.name}`
    })
    expectSucceeded(run)
    expect(await sandbox.callsTo('DescribeRepositories')).toBe(1)
    expect(dockerPushes(run, fn.repository)).toBe(1)
    expect(await sandbox.callsTo('PutImage')).toBe(1)
    expect(await digestOf(fn.name, 'v1')).toBe(run.outputs['image-digest'])
  })

  it('describes a missing repository once when create-repository creates it', async () => {
    const fn = await sandbox.seed({ label: 'round-trips-create', noRepository: true })
    await sandbox.control.clearCalls()
    const run = await deploy({
      'function-name': fn.name,
      repository: fn.name,
      tags: 'v1',
      'create-repository': 'true',
      'create-repository-tag-mutability': 'IMMUTABLE',
      'build-args': `VERSION=${fn.name}`
    })
    expectSucceeded(run)
    expect(await sandbox.callsTo('DescribeRepositories')).toBe(1)
    expect(await sandbox.callsTo('CreateRepository')).toBe(1)
    expect(dockerPushes(run, fn.repository)).toBe(1)
    expect(await digestOf(fn.name, 'v1')).toBe(run.outputs['image-digest'])
  })
})
