import { beforeEach, describe, expect, it } from '@jest/globals'
import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr'
import { GetFunctionCommand } from '@aws-sdk/client-lambda'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { repoRoot } from '../../../stack/run-action.js'
import {
  DEFAULT_REGION as REGION,
  TOOLING_ACCOUNT as ACCOUNT,
  fixturesDir,
  registryHost,
  useSandbox
} from '../harness.js'

/**
 * The opt-ins that create what is missing, where the action builds the image: create-function-role
 * creates the function for an image the action builds (on the architecture asked for), and
 * create-repository creates a missing repository in the workflow's own account and pushes to it
 * (a deploy-only image cannot be in a repository that does not exist yet). Creating a function
 * from an image already in ECR, and the refusals and dry-runs that stop before any build, are in
 * aws/create-missing.test.ts.
 */

const DEPLOYER = `arn:aws:iam::${ACCOUNT}:user/stand-in`
const ROLE = 'lambda-exec'
const HOST = registryHost(ACCOUNT, REGION)
const fixture = path.join(fixturesDir, 'provided-multistage')

const sandbox = useSandbox()

beforeEach(async () => {
  await sandbox.control.setUpdateDelay(0)
  await allowDeployerToPassRole()
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
async function allowDeployerToPassRole(): Promise<void> {
  await sandbox.control.setIdentityPolicies(DEPLOYER, {
    Deployer: {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['ecr:*', 'lambda:*', 'sts:*'], Resource: '*' },
        readmePassRole()
      ]
    }
  })
}

function build(name: string): Record<string, string> {
  return { context: fixture, target: 'runtime', 'build-args': `VERSION=${name}` }
}

describe('create-function-role', () => {
  it('creates an arm64 function from an arm64 image when architecture asks for arm64', async () => {
    const name = sandbox.uniqueName('create-arm')
    await sandbox.control.createRepository({ account: ACCOUNT, region: REGION, name })
    const run = await sandbox.run({
      ...build(name),
      'function-name': name,
      repository: `${HOST}/${name}`,
      'create-function-role': ROLE,
      architecture: 'arm64'
    })
    expect(run.exitCode).toBe(0)
    const digest = run.outputs['image-digest']!
    const manifest = await sandbox.control.registryManifest(ACCOUNT, REGION, name, digest)
    expect(manifest.config.architecture).toBe('arm64')
    const live = await sandbox.clients().lambda.send(new GetFunctionCommand({ FunctionName: name }))
    expect(live.Configuration?.Architectures).toEqual(['arm64'])
    expect(live.Configuration?.CodeSha256).toBe(digest.slice(7))
  })
})

describe('create-repository', () => {
  it('creates a missing repository given by name with scan on push and the chosen tag mutability, then deploys to it', async () => {
    const fn = await sandbox.seed({ label: 'create-repo', noRepository: true })
    const run = await sandbox.run({
      ...build(fn.name),
      'function-name': fn.name,
      repository: fn.name,
      tags: 'v1',
      'create-repository': 'true',
      'create-repository-tag-mutability': 'IMMUTABLE'
    })
    expect(run.exitCode).toBe(0)
    expect(run.summary).toContain('Repository created')
    const found = await sandbox
      .clients()
      .ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [fn.name] }))
    expect(found.repositories?.[0]).toEqual(
      expect.objectContaining({
        imageTagMutability: 'IMMUTABLE',
        imageScanningConfiguration: { scanOnPush: true }
      })
    )
    const live = await sandbox
      .clients()
      .lambda.send(new GetFunctionCommand({ FunctionName: fn.name }))
    expect(live.Configuration?.CodeSha256).toBe(run.outputs['image-digest']!.slice(7))
  })
})
