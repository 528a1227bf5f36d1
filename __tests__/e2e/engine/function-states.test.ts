import { describe, expect, it } from '@jest/globals'
import path from 'node:path'
import {
  DEFAULT_REGION as REGION,
  TOOLING_ACCOUNT as ACCOUNT,
  fixturesDir,
  useSandbox
} from '../harness.js'
import { policyOfAbout as policyOfAboutFor } from '../support.js'

/**
 * Issue 13, where the action builds: a repository policy that would outgrow ECR's limit is
 * refused before the built image is pushed (through the real engine and registry). Function
 * states (Pending, Inactive, Failed, a failed last update), the policy's dry-run and layout, and
 * an image whose layer Lambda cannot use are what AWS does with an image already in ECR:
 * aws/function-states.test.ts.
 */

const sandbox = useSandbox()

/** A policy of reader statements whose compact JSON is just under `size` characters. */
const policyOfAbout = (size: number) => policyOfAboutFor(ACCOUNT, size)

describe('a repository policy that would outgrow ECR’s 10,240 characters', () => {
  const policy = policyOfAbout(10_150)

  it('is refused before the push, leaving the registry and the policy as they were', async () => {
    expect(policy.length).toBeLessThanOrEqual(10_240)
    const fn = await sandbox.seed({ label: 'states-policy-size', policy })
    await sandbox.control.clearCalls()
    const run = await sandbox.run({
      'function-name': fn.name,
      repository: fn.repository,
      context: path.join(fixturesDir, 'provided-multistage'),
      target: 'runtime',
      tags: 'states',
      'wait-timeout': '60'
    })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('repository-policy-too-large')
    expect(run.stdout).toMatch(/would be 10,\d{3} characters/)
    expect(run.stdout).toContain('manage-repository-policy: false')
    expect(run.stdout).not.toContain('::group::Push')
    expect(await sandbox.control.registryTags(ACCOUNT, REGION, fn.name)).toEqual([])
    expect(await sandbox.callsTo('SetRepositoryPolicy')).toBe(0)
    expect(await sandbox.callsTo('UpdateFunctionCode')).toBe(0)
    expect(await sandbox.control.repositoryPolicy(ACCOUNT, REGION, fn.name)).toBe(policy)
  })
})
