import { describe, expect, it } from '@jest/globals'
import { GetFunctionCommand } from '@aws-sdk/client-lambda'
import path from 'node:path'
import type { ActionRun } from '../../../stack/run-action.js'
import {
  DEFAULT_REGION,
  TOOLING_ACCOUNT,
  WORKLOAD_ACCOUNT,
  fixturesDir,
  registryImageArchitecture,
  useSandbox
} from '../harness.js'
import { expectFailure, expectNoCredentialLeft } from '../support.js'

/**
 * The action end to end: dist/index.js run as a runner runs it, building with the real Docker
 * engine, pushing to the real registry under the ECR hostname, and talking to the AWS stand-in
 * over the wire. Each test uses its own repository and function, so they cannot see each other.
 * What holds without a build (refusals before it, the policy merge, waiting for Lambda) is in
 * aws/deploy.test.ts.
 */

const sandbox = useSandbox()

function deploy(inputs: Record<string, string>, account = TOOLING_ACCOUNT): Promise<ActionRun> {
  return sandbox.run(
    { context: path.join(fixturesDir, 'provided-multistage'), target: 'runtime', ...inputs },
    { account }
  )
}

describe('deploying an image function', () => {
  it('builds, pushes and deploys an x86_64 multi-stage target by digest, then skips an unchanged redeploy', async () => {
    const fn = await sandbox.seed({ label: 'happy' })
    const first = await deploy({
      'function-name': fn.name,
      repository: fn.repository,
      tags: 'v1',
      'build-args': `VERSION=${fn.name}`
    })
    expect(first.exitCode).toBe(0)
    expect(first.outputs.deployed).toBe('true')
    expect(first.outputs.architecture).toBe('x86_64')
    expect(first.outputs['image-uri']).toMatch(new RegExp(`^${fn.repository}@sha256:[a-f0-9]{64}$`))
    expect(Number(first.outputs['image-size'])).toBeGreaterThan(0)
    const digest = first.outputs['image-digest']!
    expect(first.outputs['code-sha256']).toBe(digest.replace('sha256:', ''))
    expect(first.stdout).not.toContain('debug stage')

    const live = await sandbox
      .clients()
      .lambda.send(new GetFunctionCommand({ FunctionName: fn.name }))
    expect(live.Configuration?.CodeSha256).toBe(digest.replace('sha256:', ''))
    expect(live.Configuration?.LastUpdateStatus).toBe('Successful')
    expect(live.Code?.ImageUri).toBe(`${fn.repository}@${digest}`)
    expect(first.summary).toContain(digest)
    expect(first.summary).toContain('Largest layers')
    expectNoCredentialLeft(first)

    await sandbox.control.clearCalls()
    const second = await deploy({
      'function-name': fn.name,
      repository: fn.repository,
      tags: 'v1',
      'build-args': `VERSION=${fn.name}`
    })
    expect(second.exitCode).toBe(0)
    expect(second.outputs.deployed).toBe('false')
    expect(second.outputs['image-digest']).toBe(digest)
    expect(await sandbox.callsTo('UpdateFunctionCode')).toBe(0)
    expect(await sandbox.callsTo('SetRepositoryPolicy')).toBe(0)
    expectNoCredentialLeft(second)
  })

  it('builds arm64 for an arm64 function, running the RUN steps under emulation', async () => {
    const fn = await sandbox.seed({ label: 'arm', architecture: 'arm64' })
    const run = await deploy({
      'function-name': fn.functionArn,
      repository: fn.repository,
      'build-args': `VERSION=${fn.name}`
    })
    expect(run.exitCode).toBe(0)
    expect(run.outputs.architecture).toBe('arm64')
    expect(run.stdout).toContain('linux/arm64')
    expect(await registryImageArchitecture(sandbox, fn.name, run.outputs['image-digest']!)).toBe(
      'arm64'
    )
  })

  it('switches the function to the architecture asked for', async () => {
    const fn = await sandbox.seed({ label: 'switch', architecture: 'x86_64' })
    const run = await deploy({
      'function-name': fn.name,
      repository: fn.repository,
      architecture: 'arm64',
      'build-args': `VERSION=${fn.name}`
    })
    expect(run.exitCode).toBe(0)
    const live = await sandbox
      .clients()
      .lambda.send(new GetFunctionCommand({ FunctionName: fn.name }))
    expect(live.Configuration?.Architectures).toEqual(['arm64'])
  })
})

describe('refusing before anything is pushed', () => {
  it.each([
    [
      'an image over a lowered max-image-size',
      'provided-multistage',
      { 'max-image-size': '1kB', target: 'runtime' },
      'image-too-large'
    ],
    ['a relative entrypoint', 'relative-entrypoint', { target: '' }, 'entrypoint-not-absolute']
  ])('refuses %s', async (_name, fixture, extra, findingId) => {
    const fn = await sandbox.seed({ label: 'check' })
    await sandbox.control.clearCalls()
    const run = await deploy({
      'function-name': fn.name,
      repository: fn.repository,
      context: path.join(fixturesDir, fixture),
      'build-args': `VERSION=${fn.name}`,
      ...extra
    })
    expectFailure(run, 'image-checks-failed')
    expect(run.stdout).toContain(`title=${findingId} (Lambda image check)`)
    // No push, and no build cache written either. On the containerd store the build itself
    // logged in to read the registry cache: one token, and nothing written with it.
    expect(run.stdout).not.toContain('::group::Push')
    expect(run.stdout).not.toContain('::group::Export the build cache')
    const cacheLogin = process.env.LAMBDA_STACK_IMAGE_STORE === 'containerd' ? 1 : 0
    expect(await sandbox.callsTo('GetAuthorizationToken')).toBe(cacheLogin)
    expect(await sandbox.control.registryTags(TOOLING_ACCOUNT, DEFAULT_REGION, fn.name)).toEqual([])
    expectNoCredentialLeft(run)
  })
})

describe('repository policy', () => {
  it('grants another account and Lambda for it, so a cross-account function can pull', async () => {
    // The workload account pushes into the tooling account's repository: as on AWS, only what
    // the repository policy lets it (cross-account policy evaluation). The pull grant for the
    // workload account is left to the action.
    const workloadPushes = {
      Sid: 'WorkloadPushes',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${WORKLOAD_ACCOUNT}:root` },
      Action: [
        'ecr:DescribeRepositories',
        'ecr:BatchCheckLayerAvailability',
        'ecr:InitiateLayerUpload',
        'ecr:UploadLayerPart',
        'ecr:CompleteLayerUpload',
        'ecr:PutImage',
        'ecr:BatchGetImage',
        'ecr:GetRepositoryPolicy',
        'ecr:SetRepositoryPolicy'
      ]
    }
    const fn = await sandbox.seed({
      label: 'cross',
      repositoryAccount: TOOLING_ACCOUNT,
      functionAccount: WORKLOAD_ACCOUNT,
      policy: JSON.stringify({ Version: '2012-10-17', Statement: [workloadPushes] })
    })
    const run = await deploy(
      {
        'function-name': fn.functionArn,
        repository: fn.repository,
        'build-args': `VERSION=${fn.name}`
      },
      WORKLOAD_ACCOUNT
    )
    expect(run.exitCode).toBe(0)
    expect(run.outputs.deployed).toBe('true')
    const policy = JSON.parse(
      (await sandbox.control.repositoryPolicy(TOOLING_ACCOUNT, DEFAULT_REGION, fn.name))!
    ) as {
      Statement: { Sid: string; Principal: Record<string, string>; Condition?: unknown }[]
    }
    const bySid = Object.fromEntries(policy.Statement.map(statement => [statement.Sid, statement]))
    expect(bySid.LambdaECRImageCrossAccountRetrievalPolicy?.Principal).toEqual({
      AWS: `arn:aws:iam::${WORKLOAD_ACCOUNT}:root`
    })
    expect(bySid.LambdaECRImageRetrievalPolicy?.Condition).toEqual({
      StringLike: {
        'aws:sourceArn': `arn:aws:lambda:${DEFAULT_REGION}:${WORKLOAD_ACCOUNT}:function:*`
      }
    })
  })
})
