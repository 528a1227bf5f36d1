import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr'
import { GetFunctionCommand } from '@aws-sdk/client-lambda'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { repoRoot, runAction, type ActionRun } from '../../stack/run-action.js'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { clientsFor, type StandInClients } from '../../stack/stand-in/sdk-clients.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'
import { expectNoCredentialLeft } from './support.js'

/**
 * The opt-ins that create what is missing, end to end: create-function-role creates a function
 * function-name names that does not exist (CreateFunction from the pushed digest, then waited for
 * until Active), create-repository creates a missing repository in the workflow's own account.
 * Without them, a missing function or repository stays an error that names the opt-in.
 */

const ACCOUNT = '111111111111'
const REGION = 'us-east-1'
const DEPLOYER = `arn:aws:iam::${ACCOUNT}:user/stand-in`
const ROLE = 'lambda-exec'
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/${ROLE}`
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

beforeEach(async () => {
  await control.setUpdateDelay(0)
  await allowDeployer({ passRole: true })
})

/** The README's policy for this feature, placeholders filled in for the execution role. */
function readmePassRole(): unknown {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8')
  const start = readme.indexOf('### Creating a missing function or repository')
  const block = /```json\n([\s\S]*?)```/.exec(readme.slice(start))?.[1] ?? ''
  const policy = JSON.parse(
    block
      .replace(/\bEXECUTION_ROLE\b/g, ROLE)
      .replace(/\bACCOUNT\b/g, ACCOUNT)
      .replace(/\bREGION\b/g, REGION)
  ) as { Statement: { Sid: string }[] }
  const statement = policy.Statement.find(candidate => candidate.Sid === 'PassExecutionRole')
  if (start < 0 || !statement) throw new Error('README: no PassExecutionRole statement')
  return statement
}

/** The stand-in's default administrator policy has no iam:*; creating a function needs PassRole,
 * as the README's statement grants it. */
async function allowDeployer({ passRole }: { passRole: boolean }): Promise<void> {
  const statements: unknown[] = [
    { Effect: 'Allow', Action: ['ecr:*', 'lambda:*', 'sts:*'], Resource: '*' }
  ]
  if (passRole) statements.push(readmePassRole())
  await control.setIdentityPolicies(DEPLOYER, {
    Deployer: { Version: '2012-10-17', Statement: statements }
  })
}

function nextName(prefix: string): string {
  unique += 1
  return `create-${prefix}-${process.pid}-${unique}`
}

function deploy(inputs: Record<string, string>): Promise<ActionRun> {
  return runAction(
    {
      context: fixture,
      target: 'runtime',
      'build-args': `VERSION=${inputs['function-name']}`,
      ...inputs
    },
    { standInUrl: standIn.url, account: ACCOUNT, region: REGION }
  )
}

interface FunctionEntry {
  readonly function: string
  readonly status: string
  readonly codeSha256: string
  readonly plan?: string[]
  readonly error?: string
}

function functionsOf(run: ActionRun): FunctionEntry[] {
  return JSON.parse(run.outputs.functions ?? '[]') as FunctionEntry[]
}

function expectFailure(run: ActionRun, id: string): void {
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toContain(`::error::[${id}]`)
  expect(run.outputs.deployed).toBe('false')
}

describe('create-function-role', () => {
  it('creates a missing function from the pushed digest on the built architecture and waits until it is Active', async () => {
    const name = nextName('fn')
    await control.createRepository({ account: ACCOUNT, region: REGION, name })
    // Long enough that the new function is still Pending when CreateFunction has answered.
    await control.setUpdateDelay(1500)
    const run = await deploy({
      'function-name': name,
      repository: `${HOST}/${name}`,
      'create-function-role': ROLE,
      'create-function-memory': '512',
      'create-function-timeout': '30'
    })
    expect(run.exitCode).toBe(0)
    expect(run.outputs.deployed).toBe('true')
    const digest = run.outputs['image-digest']!
    expect(functionsOf(run)).toEqual([
      expect.objectContaining({ function: name, status: 'created', codeSha256: digest.slice(7) })
    ])
    expect(run.summary).toContain('created')

    const live = await clients.lambda.send(new GetFunctionCommand({ FunctionName: name }))
    expect(live.Configuration).toEqual(
      expect.objectContaining({
        State: 'Active',
        PackageType: 'Image',
        CodeSha256: digest.slice(7),
        Architectures: ['x86_64'],
        Role: ROLE_ARN,
        MemorySize: 512,
        Timeout: 30
      })
    )
    expect(live.Code?.ImageUri).toBe(`${HOST}/${name}@${digest}`)
    const calls = await control.calls()
    // The waiter saw it Pending at least once before Active.
    expect(calls.filter(call => call.operation === 'GetFunction').length).toBeGreaterThan(2)
    expectNoCredentialLeft(run)

    // The next run finds the function and leaves it alone: same inputs, same image.
    const again = await deploy({
      'function-name': name,
      repository: `${HOST}/${name}`,
      'create-function-role': ROLE
    })
    expect(again.exitCode).toBe(0)
    expect(functionsOf(again)[0]?.status).toBe('unchanged')
  })

  it('creates an arm64 function from an arm64 image when architecture asks for arm64', async () => {
    const name = nextName('arm')
    await control.createRepository({ account: ACCOUNT, region: REGION, name })
    const run = await deploy({
      'function-name': name,
      repository: `${HOST}/${name}`,
      'create-function-role': ROLE,
      architecture: 'arm64'
    })
    expect(run.exitCode).toBe(0)
    const digest = run.outputs['image-digest']!
    const manifest = await control.registryManifest(ACCOUNT, REGION, name, digest)
    expect(manifest.config.architecture).toBe('arm64')
    const live = await clients.lambda.send(new GetFunctionCommand({ FunctionName: name }))
    expect(live.Configuration?.Architectures).toEqual(['arm64'])
    expect(live.Configuration?.CodeSha256).toBe(digest.slice(7))
  })

  it('without create-function-role refuses a missing function before building, naming the opt-in', async () => {
    const name = nextName('typo')
    await control.createRepository({ account: ACCOUNT, region: REGION, name })
    const before = await control.state()
    const run = await deploy({ 'function-name': name, repository: `${HOST}/${name}` })
    expectFailure(run, 'function-not-found')
    expect(run.stdout).toContain('create-function-role')
    expect(run.stdout).not.toContain('::group::Build')
    expect(await control.state()).toEqual(before)
  })

  it('fails naming iam:PassRole when the deploying role may not pass the execution role, creating nothing', async () => {
    const name = nextName('passrole')
    await control.createRepository({ account: ACCOUNT, region: REGION, name })
    await allowDeployer({ passRole: false })
    const run = await deploy({
      'function-name': name,
      repository: `${HOST}/${name}`,
      'create-function-role': ROLE
    })
    expectFailure(run, 'access-denied')
    expect(run.stdout).toContain('iam:PassRole')
    expect((await control.state()).functions.map(fn => fn.name)).not.toContain(name)
  })

  it('dry-run says what it would create and changes nothing', async () => {
    const name = nextName('dry')
    await control.createRepository({ account: ACCOUNT, region: REGION, name })
    const before = await control.state()
    const run = await deploy({
      'function-name': name,
      repository: `${HOST}/${name}`,
      'create-function-role': ROLE,
      'dry-run': 'true'
    })
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain(`would create: PackageType Image, x86_64, role ${ROLE_ARN}`)
    expect(functionsOf(run)[0]?.status).toBe('planned')
    expect(await control.state()).toEqual(before)
  })
})

describe('create-repository', () => {
  it('creates a missing repository given by name with scan on push and the chosen tag mutability, then deploys to it', async () => {
    const name = nextName('repo')
    await control.createFunction({ account: ACCOUNT, region: REGION, name, packageType: 'Image' })
    const run = await deploy({
      'function-name': name,
      repository: name,
      tags: 'v1',
      'create-repository': 'true',
      'create-repository-tag-mutability': 'IMMUTABLE'
    })
    expect(run.exitCode).toBe(0)
    expect(run.summary).toContain('Repository created')
    const found = await clients.ecr.send(
      new DescribeRepositoriesCommand({ repositoryNames: [name] })
    )
    expect(found.repositories?.[0]).toEqual(
      expect.objectContaining({
        imageTagMutability: 'IMMUTABLE',
        imageScanningConfiguration: { scanOnPush: true }
      })
    )
    const live = await clients.lambda.send(new GetFunctionCommand({ FunctionName: name }))
    expect(live.Configuration?.CodeSha256).toBe(run.outputs['image-digest']!.slice(7))
  })

  it('without create-repository refuses a missing repository given by URI, naming the opt-in', async () => {
    const name = nextName('norepo')
    await control.createFunction({ account: ACCOUNT, region: REGION, name, packageType: 'Image' })
    const run = await deploy({ 'function-name': name, repository: `${HOST}/${name}` })
    expectFailure(run, 'repository-not-found')
    expect(run.stdout).toContain('create-repository: true')
    expect((await control.state()).repositories.map(r => r.name)).not.toContain(name)
  })

  it('dry-run with both opt-ins plans the repository and the function and creates neither', async () => {
    const name = nextName('dryboth')
    const before = await control.state()
    const run = await deploy({
      'function-name': name,
      repository: `${HOST}/${name}`,
      'create-repository': 'true',
      'create-function-role': ROLE,
      'dry-run': 'true'
    })
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain(`would create the repository ${HOST}/${name}`)
    expect(run.stdout).toContain('would create: PackageType Image')
    expect(run.stdout).not.toContain('::group::Build')
    expect(await control.state()).toEqual(before)
  })
})
