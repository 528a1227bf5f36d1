import { describe, expect, it } from '@jest/globals'
import { GetFunctionCommand } from '@aws-sdk/client-lambda'
import {
  EXECUTION_ROLE as ROLE,
  EXECUTION_ROLE_ARN as ROLE_ARN,
  allowDeployer,
  buildInputs,
  useDeployerThatMayPassRole
} from '../create-missing-support.js'
import {
  DEFAULT_REGION as REGION,
  TOOLING_ACCOUNT as ACCOUNT,
  fixtureImage,
  registryHost,
  useSandbox
} from '../harness.js'
import { expectFailure, expectNoCredentialLeft, functionsOf } from '../support.js'

/**
 * The opt-ins that create what is missing, on what AWS does: create-function-role creates a
 * function function-name names that does not exist (CreateFunction from an image already in ECR,
 * then waited for until Active). Without the opt-ins, a missing function or repository stays an
 * error that names the opt-in, raised before anything is built: those runs are given build
 * inputs, and the run has no engine (aws/), so a build they started would fail the test.
 * Creating a function for an image the action builds (arm64) and creating a repository (which a
 * deploy-only image cannot be in before it exists) are in engine/create-missing.test.ts.
 */

const HOST = registryHost(ACCOUNT, REGION)

const sandbox = useSandbox()
useDeployerThatMayPassRole(sandbox)

/** A repository that holds the fixture image, and no function of that name: REPOSITORY@DIGEST. */
async function repositoryWithImage(name: string): Promise<string> {
  await sandbox.control.createRepository({ account: ACCOUNT, region: REGION, name })
  return sandbox.copyImage(
    await fixtureImage({ fixture: 'provided-multistage', target: 'runtime' }),
    `${HOST}/${name}`
  )
}

describe('create-function-role', () => {
  it('creates a missing function from the deployed image on x86_64 and waits until it is Active', async () => {
    const name = sandbox.uniqueName('create-fn')
    const image = await repositoryWithImage(name)
    const digest = image.slice(image.indexOf('@') + 1)
    // Long enough that the new function is still Pending when CreateFunction has answered.
    await sandbox.control.setUpdateDelay(1500)
    await sandbox.control.clearCalls()
    const run = await sandbox.run({
      'function-name': name,
      image,
      'create-function-role': ROLE,
      'create-function-memory': '512',
      'create-function-timeout': '30'
    })
    expect(run.exitCode).toBe(0)
    expect(run.outputs.deployed).toBe('true')
    expect(functionsOf(run)).toEqual([
      expect.objectContaining({ function: name, status: 'created', codeSha256: digest.slice(7) })
    ])
    expect(run.summary).toContain('created')

    const live = await sandbox.clients().lambda.send(new GetFunctionCommand({ FunctionName: name }))
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
    expect(live.Code?.ImageUri).toBe(image)
    // The waiter saw it Pending at least once before Active.
    expect(await sandbox.callsTo('GetFunction')).toBeGreaterThan(2)
    expectNoCredentialLeft(run)

    // The next run finds the function and leaves it alone: same inputs, same image.
    const again = await sandbox.run({
      'function-name': name,
      image,
      'create-function-role': ROLE
    })
    expect(again.exitCode).toBe(0)
    expect(functionsOf(again)[0]?.status).toBe('unchanged')
  })

  it('without create-function-role refuses a missing function before building, naming the opt-in', async () => {
    const name = sandbox.uniqueName('create-typo')
    await sandbox.control.createRepository({ account: ACCOUNT, region: REGION, name })
    const before = await sandbox.control.state()
    const run = await sandbox.run({
      ...buildInputs(name),
      'function-name': name,
      repository: `${HOST}/${name}`
    })
    expectFailure(run, 'function-not-found')
    expect(run.stdout).toContain('create-function-role')
    expect(run.stdout).not.toContain('::group::Build')
    expect(await sandbox.control.state()).toEqual(before)
  })

  it('fails naming iam:PassRole when the deploying role may not pass the execution role, creating nothing', async () => {
    const name = sandbox.uniqueName('create-passrole')
    const image = await repositoryWithImage(name)
    await allowDeployer(sandbox, { passRole: false })
    const run = await sandbox.run({ 'function-name': name, image, 'create-function-role': ROLE })
    expectFailure(run, 'access-denied')
    expect(run.stdout).toContain('iam:PassRole')
    expect((await sandbox.control.state()).functions.map(fn => fn.name)).not.toContain(name)
  })

  it('dry-run says what it would create and changes nothing', async () => {
    const name = sandbox.uniqueName('create-dry')
    const image = await repositoryWithImage(name)
    const before = await sandbox.control.state()
    const run = await sandbox.run({
      'function-name': name,
      image,
      'create-function-role': ROLE,
      'dry-run': 'true'
    })
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain(`would create: PackageType Image, x86_64, role ${ROLE_ARN}`)
    expect(functionsOf(run)[0]?.status).toBe('planned')
    expect(await sandbox.control.state()).toEqual(before)
  })
})

describe('create-repository', () => {
  it('without create-repository refuses a missing repository given by URI, naming the opt-in', async () => {
    const fn = await sandbox.seed({ label: 'create-norepo', noRepository: true })
    const run = await sandbox.run({
      ...buildInputs(fn.name),
      'function-name': fn.name,
      repository: fn.repository
    })
    expectFailure(run, 'repository-not-found')
    expect(run.stdout).toContain('create-repository: true')
    expect((await sandbox.control.state()).repositories.map(r => r.name)).not.toContain(fn.name)
  })

  it('dry-run with both opt-ins plans the repository and the function and creates neither', async () => {
    const name = sandbox.uniqueName('create-dryboth')
    const before = await sandbox.control.state()
    const run = await sandbox.run({
      ...buildInputs(name),
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
    expect(await sandbox.control.state()).toEqual(before)
  })
})
