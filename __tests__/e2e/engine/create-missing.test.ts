import { describe, expect, it } from '@jest/globals'
import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr'
import { GetFunctionCommand } from '@aws-sdk/client-lambda'
import {
  EXECUTION_ROLE as ROLE,
  buildInputs as build,
  useDeployerThatMayPassRole
} from '../create-missing-support.js'
import {
  DEFAULT_REGION as REGION,
  TOOLING_ACCOUNT as ACCOUNT,
  registryHost,
  registryImageArchitecture,
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

const HOST = registryHost(ACCOUNT, REGION)

const sandbox = useSandbox()
useDeployerThatMayPassRole(sandbox)

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
    expect(await registryImageArchitecture(sandbox, name, digest)).toBe('arm64')
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
