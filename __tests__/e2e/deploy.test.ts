import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda'
import path from 'node:path'
import { credentialsFor, repoRoot, runAction, type ActionRun } from '../../stack/run-action.js'
import { expectNoCredentialLeft } from './support.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'
import { StandInControl } from '../../stack/stand-in/control-client.js'

/**
 * The action end to end: dist/index.js run as a runner runs it, building with the real Docker
 * engine, pushing to the real registry under the ECR hostname, and talking to the AWS stand-in
 * over the wire. Each test uses its own repository and function, so they cannot see each other.
 */

const TOOLING = '111111111111'
const WORKLOAD = '222222222222'
const REGION = 'us-east-1'
const fixtures = path.join(repoRoot, '__tests__', 'fixtures')

let standIn: StandIn
let control: StandInControl
let unique = 0

beforeAll(async () => {
  standIn = await startStandIn({ port: 0 })
  control = new StandInControl(standIn.url)
})

afterAll(async () => {
  for (const client of lambdaClients.values()) client.destroy()
  await standIn.close()
})

beforeEach(async () => {
  await control.setUpdateDelay(0)
})

function registryHost(account: string, region = REGION): string {
  return `${account}.dkr.ecr.${region}.amazonaws.com`
}

/** A fresh repository and Image function, named after the test. */
async function seed(options: {
  name: string
  architecture?: 'x86_64' | 'arm64'
  packageType?: 'Image' | 'Zip'
  functionAccount?: string
  repositoryAccount?: string
  policy?: string
}) {
  unique += 1
  const name = `${options.name}-${process.pid}-${unique}`
  const repositoryAccount = options.repositoryAccount ?? TOOLING
  const functionAccount = options.functionAccount ?? repositoryAccount
  await control.createRepository({
    account: repositoryAccount,
    region: REGION,
    name,
    policy: options.policy
  })
  await control.createFunction({
    account: functionAccount,
    region: REGION,
    name,
    packageType: options.packageType ?? 'Image',
    architectures: [options.architecture ?? 'x86_64']
  })
  return {
    name,
    repository: `${registryHost(repositoryAccount)}/${name}`,
    functionArn: `arn:aws:lambda:${REGION}:${functionAccount}:function:${name}`,
    functionAccount
  }
}

function deploy(inputs: Record<string, string>, account = TOOLING): Promise<ActionRun> {
  return runAction(
    { context: path.join(fixtures, 'provided-multistage'), target: 'runtime', ...inputs },
    { standInUrl: standIn.url, account, region: REGION }
  )
}

const lambdaClients = new Map<string, LambdaClient>()

function lambdaClient(account: string): LambdaClient {
  let client = lambdaClients.get(account)
  if (!client) {
    client = new LambdaClient({
      region: REGION,
      endpoint: standIn.url,
      credentials: credentialsFor(account),
      maxAttempts: 1
    })
    lambdaClients.set(account, client)
  }
  return client
}

async function callsTo(operation: string): Promise<number> {
  return (await control.calls()).filter(call => call.operation === operation).length
}

function expectFailure(run: ActionRun, id: string): void {
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toContain(`::error::[${id}]`)
  expect(run.outputs.deployed).toBe('false')
}

describe('deploying an image function', () => {
  it('builds, pushes and deploys an x86_64 multi-stage target by digest, then skips an unchanged redeploy', async () => {
    const fn = await seed({ name: 'happy' })
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

    const live = await lambdaClient(TOOLING).send(new GetFunctionCommand({ FunctionName: fn.name }))
    expect(live.Configuration?.CodeSha256).toBe(digest.replace('sha256:', ''))
    expect(live.Configuration?.LastUpdateStatus).toBe('Successful')
    expect(live.Code?.ImageUri).toBe(`${fn.repository}@${digest}`)
    expect(first.summary).toContain(digest)
    expect(first.summary).toContain('Largest layers')
    expectNoCredentialLeft(first)

    await control.clearCalls()
    const second = await deploy({
      'function-name': fn.name,
      repository: fn.repository,
      tags: 'v1',
      'build-args': `VERSION=${fn.name}`
    })
    expect(second.exitCode).toBe(0)
    expect(second.outputs.deployed).toBe('false')
    expect(second.outputs['image-digest']).toBe(digest)
    expect(await callsTo('UpdateFunctionCode')).toBe(0)
    expect(await callsTo('SetRepositoryPolicy')).toBe(0)
    expectNoCredentialLeft(second)
  })

  it('builds arm64 for an arm64 function, running the RUN steps under emulation', async () => {
    const fn = await seed({ name: 'arm', architecture: 'arm64' })
    const run = await deploy({
      'function-name': fn.functionArn,
      repository: fn.repository,
      'build-args': `VERSION=${fn.name}`
    })
    expect(run.exitCode).toBe(0)
    expect(run.outputs.architecture).toBe('arm64')
    expect(run.stdout).toContain('linux/arm64')
    const manifest = await control.registryManifest(
      TOOLING,
      REGION,
      fn.name,
      run.outputs['image-digest']!
    )
    expect(manifest.config.architecture).toBe('arm64')
  })

  it('switches the function to the architecture asked for', async () => {
    const fn = await seed({ name: 'switch', architecture: 'x86_64' })
    const run = await deploy({
      'function-name': fn.name,
      repository: fn.repository,
      architecture: 'arm64',
      'build-args': `VERSION=${fn.name}`
    })
    expect(run.exitCode).toBe(0)
    const live = await lambdaClient(TOOLING).send(new GetFunctionCommand({ FunctionName: fn.name }))
    expect(live.Configuration?.Architectures).toEqual(['arm64'])
  })
})

describe('refusing before anything is built', () => {
  it.each([
    [
      'a repository in another region',
      () => ({ repository: `${registryHost(TOOLING, 'eu-west-1')}/app` }),
      'repository-region-mismatch'
    ],
    ['an unknown architecture', () => ({ architecture: 'aarch64' }), 'invalid-architecture'],
    [
      'a function that does not exist',
      () => ({ 'function-name': 'no-such-function' }),
      'function-not-found'
    ]
  ])('refuses %s', async (_name, override, id) => {
    const fn = await seed({ name: 'refuse' })
    const before = await control.state()
    const run = await deploy({ 'function-name': fn.name, repository: fn.repository, ...override() })
    expectFailure(run, id)
    expect(run.stdout).not.toContain('::group::Build')
    expect(await control.state()).toEqual(before)
  })

  it('refuses a Zip function', async () => {
    const fn = await seed({ name: 'zip', packageType: 'Zip' })
    const run = await deploy({ 'function-name': fn.name, repository: fn.repository })
    expectFailure(run, 'function-not-image')
    expect(run.stdout).not.toContain('::group::Build')
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
    const fn = await seed({ name: 'check' })
    await control.clearCalls()
    const run = await deploy({
      'function-name': fn.name,
      repository: fn.repository,
      context: path.join(fixtures, fixture),
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
    expect(await callsTo('GetAuthorizationToken')).toBe(cacheLogin)
    expect(await control.registryTags(TOOLING, REGION, fn.name)).toEqual([])
    expectNoCredentialLeft(run)
  })
})

describe('repository policy', () => {
  const unrelated = {
    Sid: 'KeepMe',
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${TOOLING}:role/ci` },
    Action: ['ecr:PutImage'],
    Condition: { StringEquals: { 'aws:PrincipalTag/team': 'platform' } }
  }

  it('keeps unrelated statements when it adds the Lambda grant, and does not write an unchanged policy', async () => {
    const fn = await seed({
      name: 'policy',
      policy: JSON.stringify({ Version: '2012-10-17', Statement: [unrelated] })
    })
    const run = await deploy({
      'function-name': fn.name,
      repository: fn.repository,
      'build-args': `VERSION=${fn.name}`
    })
    expect(run.exitCode).toBe(0)
    const policy = JSON.parse((await control.repositoryPolicy(TOOLING, REGION, fn.name))!) as {
      Statement: { Sid: string; Principal: unknown }[]
    }
    expect(policy.Statement[0]).toEqual(unrelated)
    expect(policy.Statement.map(statement => statement.Sid)).toEqual([
      'KeepMe',
      'LambdaECRImageRetrievalPolicy'
    ])

    await control.clearCalls()
    const again = await deploy({
      'function-name': fn.name,
      repository: fn.repository,
      'build-args': `VERSION=${fn.name}-2`
    })
    expect(again.exitCode).toBe(0)
    expect(again.outputs.deployed).toBe('true')
    expect(await callsTo('SetRepositoryPolicy')).toBe(0)
  })

  it('grants another account and Lambda for it, so a cross-account function can pull', async () => {
    // The workload account pushes into the tooling account's repository: as on AWS, only what
    // the repository policy lets it (cross-account policy evaluation). The pull grant for the
    // workload account is left to the action.
    const workloadPushes = {
      Sid: 'WorkloadPushes',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${WORKLOAD}:root` },
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
    const fn = await seed({
      name: 'cross',
      repositoryAccount: TOOLING,
      functionAccount: WORKLOAD,
      policy: JSON.stringify({ Version: '2012-10-17', Statement: [workloadPushes] })
    })
    const run = await deploy(
      {
        'function-name': fn.functionArn,
        repository: fn.repository,
        'build-args': `VERSION=${fn.name}`
      },
      WORKLOAD
    )
    expect(run.exitCode).toBe(0)
    expect(run.outputs.deployed).toBe('true')
    const policy = JSON.parse((await control.repositoryPolicy(TOOLING, REGION, fn.name))!) as {
      Statement: { Sid: string; Principal: Record<string, string>; Condition?: unknown }[]
    }
    const bySid = Object.fromEntries(policy.Statement.map(statement => [statement.Sid, statement]))
    expect(bySid.LambdaECRImageCrossAccountRetrievalPolicy?.Principal).toEqual({
      AWS: `arn:aws:iam::${WORKLOAD}:root`
    })
    expect(bySid.LambdaECRImageRetrievalPolicy?.Condition).toEqual({
      StringLike: { 'aws:sourceArn': `arn:aws:lambda:${REGION}:${WORKLOAD}:function:*` }
    })
  })
})

describe('waiting for Lambda', () => {
  it('waits for an update already in progress, then deploys', async () => {
    const fn = await seed({ name: 'busy' })
    await control.setUpdateDelay(3000)
    const first = await deploy({
      'function-name': fn.name,
      repository: fn.repository,
      'build-args': `VERSION=${fn.name}`,
      wait: 'false'
    })
    expect(first.exitCode).toBe(0)
    const busy = await lambdaClient(TOOLING).send(new GetFunctionCommand({ FunctionName: fn.name }))
    expect(busy.Configuration?.LastUpdateStatus).toBe('InProgress')

    const second = await deploy({
      'function-name': fn.name,
      repository: fn.repository,
      'build-args': `VERSION=${fn.name}-2`
    })
    expect(second.exitCode).toBe(0)
    expect(second.stdout).toContain('in progress; waiting')
    expect(second.outputs.deployed).toBe('true')
  })

  it('fails with Lambda’s reason when the update fails', async () => {
    const fn = await seed({ name: 'fails' })
    await control.injectFault({
      service: 'lambda',
      operation: 'UpdateFunctionCode',
      kind: 'update-failed',
      times: 1,
      reason: 'The image manifest or layer media type is not supported.'
    })
    const run = await deploy({
      'function-name': fn.name,
      repository: fn.repository,
      'build-args': `VERSION=${fn.name}`
    })
    expectFailure(run, 'function-update-failed')
    expect(run.stdout).toContain('media type is not supported')
  })
})
