import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { repoRoot, runAction, runCli, type ActionRun } from '../../stack/run-action.js'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'
import { publishPrivateBase } from './support.js'

/**
 * Fleets in the reusable refresh workflow (issue 17), end to end: the groups job's command
 * (`group-functions`, the bundled CLI) asks the stand-in's GetFunction what each function runs,
 * and the refresh job runs the bundled action once per group with all of its functions, as the
 * workflow's matrix does. The real engine builds and the real registry receives the image; the
 * base is a private ECR image the test moves, so `rebuild: if-base-changed` has something to see.
 */

const ACCOUNT = '111111111111'
const REGION = 'us-east-1'
const HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`
// The base is built for the engine's own platform; the functions run on it.
const ARCHITECTURE = process.arch === 'arm64' ? 'arm64' : 'x86_64'
const context = path.join(repoRoot, '__tests__', 'fixtures', 'base-from-build-arg')

let standIn: StandIn
let control: StandInControl

beforeAll(async () => {
  standIn = await startStandIn({ port: 0 })
  control = new StandInControl(standIn.url)
})

afterAll(async () => {
  await standIn.close()
})

interface Fleet {
  readonly groups: readonly {
    readonly image: string
    readonly architecture: string
    readonly functions: readonly string[]
  }[]
}

/** The groups job's step: the command, its JSON on one line. */
async function groupFunctions(functionNames: string): Promise<Fleet> {
  const run = await runCli(['group-functions', functionNames, '--region', REGION], {
    standInUrl: standIn.url,
    account: ACCOUNT,
    region: REGION
  })
  if (run.exitCode !== 0) throw new Error(`group-functions failed:\n${run.stderr}`)
  expect(run.stdout.trimEnd().split('\n')).toHaveLength(1)
  return JSON.parse(run.stdout) as Fleet
}

async function createImageFunction(name: string): Promise<void> {
  await control.createFunction({
    account: ACCOUNT,
    region: REGION,
    name,
    packageType: 'Image',
    architectures: [ARCHITECTURE]
  })
}

const count = (text: string, line: string): number =>
  text.split('\n').filter(candidate => candidate.startsWith(line)).length

function expectSuccess(run: ActionRun): void {
  if (run.exitCode !== 0) throw new Error(`The run failed:\n${run.stdout}\n${run.stderr}`)
}

describe('a fleet of functions in the reusable refresh workflow', () => {
  it('is grouped by image and rebuilt once per group, all functions of a group on one digest', async () => {
    const repositoryName = `fleet-${process.pid}`
    const repository = `${HOST}/${repositoryName}`
    const base = `${HOST}/fleet-base-${process.pid}:al2023`
    await control.createRepository({ account: ACCOUNT, region: REGION, name: repositoryName })
    await control.createRepository({
      account: ACCOUNT,
      region: REGION,
      name: `fleet-base-${process.pid}`
    })
    publishPrivateBase(base, 'generation=1')
    const fleet = ['a', 'b', 'c'].map(letter => `fleet-${letter}-${process.pid}`)
    const solo = `fleet-solo-${process.pid}`
    for (const name of [...fleet, solo]) await createImageFunction(name)
    const build = { repository, context, 'build-args': `BASE=${base}` }
    const asUser = { standInUrl: standIn.url, account: ACCOUNT, region: REGION }

    // How the fleet got there: one deploy to the three, another image (its own label) to solo.
    const fleetDeploy = await runAction(
      { ...build, 'function-name': fleet.join('\n'), rebuild: 'always', tags: 'v1' },
      asUser
    )
    expectSuccess(fleetDeploy)
    const soloDeploy = await runAction(
      { ...build, 'function-name': solo, labels: 'variant=solo', rebuild: 'always', tags: 'solo' },
      asUser
    )
    expectSuccess(soloDeploy)
    expect(soloDeploy.outputs['image-digest']).not.toBe(fleetDeploy.outputs['image-digest'])

    // The groups job: functions on one image form one group, another image another, in the
    // order the caller listed them (names given one per line or comma-separated).
    const grouped = await groupFunctions(`${fleet[0]}\n${solo}, ${fleet[1]}\n${fleet[2]}`)
    expect(grouped).toEqual({
      groups: [
        {
          image: `${repository}@${fleetDeploy.outputs['image-digest']}`,
          architecture: ARCHITECTURE,
          functions: fleet
        },
        {
          image: `${repository}@${soloDeploy.outputs['image-digest']}`,
          architecture: ARCHITECTURE,
          functions: [solo]
        }
      ]
    })

    // The base is republished; the refresh job runs once per group with the workflow's inputs.
    publishPrivateBase(base, 'generation=2')
    const refreshOf = async (group: Fleet['groups'][number]) => {
      await control.clearCalls()
      const run = await runAction(
        {
          ...build,
          'function-name': group.functions.join(','),
          rebuild: 'if-base-changed',
          tags: 'refresh-1-1'
        },
        asUser
      )
      expectSuccess(run)
      return { run, calls: (await control.calls()).map(call => call.operation) }
    }
    const fleetRefresh = await refreshOf(grouped.groups[0]!)
    expect(fleetRefresh.run.outputs['base-image-updated']).toBe('true')
    // One build and one push serve the three functions; each is updated once, to that image.
    expect(count(fleetRefresh.run.stdout, '::group::Build ')).toBe(1)
    expect(count(fleetRefresh.run.stdout, '::group::Push to ')).toBe(1)
    expect(fleetRefresh.calls.filter(call => call === 'UpdateFunctionCode')).toHaveLength(3)
    const newDigest = fleetRefresh.run.outputs['image-digest']!
    expect(newDigest).not.toBe(fleetDeploy.outputs['image-digest'])
    const results = JSON.parse(fleetRefresh.run.outputs.functions!) as {
      function: string
      deployed: boolean
      codeSha256: string
    }[]
    expect(results).toEqual(
      fleet.map(name =>
        expect.objectContaining({
          function: name,
          deployed: true,
          codeSha256: newDigest.replace(/^sha256:/, '')
        })
      )
    )
    console.log(
      `fleet of ${fleet.length} on one image: ${count(fleetRefresh.run.stdout, '::group::Build ')} build, ` +
        `${fleetRefresh.calls.length} AWS calls (${fleetRefresh.calls.join(', ')})`
    )

    // Lambda itself says so: the three now run one image, the new one.
    expect(await groupFunctions(fleet.join(','))).toEqual({
      groups: [
        { image: `${repository}@${newDigest}`, architecture: ARCHITECTURE, functions: fleet }
      ]
    })

    // The other group's base moved too, and the workflow gives it the same build inputs: its
    // run, after the fleet's, finds the image of those inputs in the repository and deploys it
    // without a build of its own.
    const soloRefresh = await refreshOf(grouped.groups[1]!)
    expect(soloRefresh.run.outputs['base-image-updated']).toBe('true')
    expect(soloRefresh.run.outputs.deployed).toBe('true')
    expect(count(soloRefresh.run.stdout, '::group::Build ')).toBe(0)
    expect(soloRefresh.run.outputs['image-digest']).toBe(newDigest)
    expect(soloRefresh.calls.filter(call => call === 'UpdateFunctionCode')).toHaveLength(1)

    // The next scheduled run: all four now run one image and form one group. Its first function
    // speaks for all, and the base has not moved since, so nothing is built or updated.
    const regrouped = await groupFunctions([...fleet, solo].join('\n'))
    expect(regrouped.groups.map(group => group.functions)).toEqual([[...fleet, solo]])
    const unchanged = await refreshOf(regrouped.groups[0]!)
    expect(unchanged.run.outputs['base-image-updated']).toBe('false')
    expect(unchanged.run.outputs.deployed).toBe('false')
    expect(count(unchanged.run.stdout, '::group::Build ')).toBe(0)
    expect(unchanged.calls).not.toContain('UpdateFunctionCode')
  })

  it('fails the grouping with a clear error for a Zip function, one that runs no image, and a missing one', async () => {
    const fresh = `fleet-fresh-${process.pid}`
    const zip = `fleet-zip-${process.pid}`
    await createImageFunction(fresh)
    await control.createFunction({
      account: ACCOUNT,
      region: REGION,
      name: zip,
      packageType: 'Zip'
    })
    const asUser = { standInUrl: standIn.url, account: ACCOUNT, region: REGION }
    for (const [functions, id] of [
      [zip, 'function-not-image'],
      [fresh, 'function-runs-no-image'],
      [`fleet-missing-${process.pid}`, 'function-not-found']
    ] as const) {
      const run = await runCli(['group-functions', functions, '--region', REGION], asUser)
      expect(run.exitCode).toBe(1)
      expect(run.stdout).toBe('')
      expect(run.stderr).toContain(`[${id}]`)
      expect(run.stderr).toContain(functions)
    }
  })

  it('needs only lambda:GetFunction, which the README policy’s UpdateFunction statement holds', async () => {
    // The principal the stand-in's credentials of ACCOUNT stand for (readme-policy.test.ts).
    const deployer = `arn:aws:iam::${ACCOUNT}:user/stand-in`
    const name = `fleet-iam-${process.pid}`
    const digest = `sha256:${'1'.repeat(64)}`
    await control.createFunction({
      account: ACCOUNT,
      region: REGION,
      name,
      packageType: 'Image',
      imageUri: `${HOST}/fleet-iam@${digest}`
    })
    const updateFunction = readmeStatement('UpdateFunction', name)
    const attach = (actions: readonly string[]) =>
      control.setIdentityPolicies(deployer, {
        ReadmePolicy: {
          Version: '2012-10-17',
          Statement: [{ ...updateFunction, Action: actions }]
        }
      })
    const asUser = { standInUrl: standIn.url, account: ACCOUNT, region: REGION }

    await attach([updateFunction.Action].flat())
    const allowed = await runCli(['group-functions', name, '--region', REGION], asUser)
    expect(allowed.exitCode).toBe(0)
    expect(JSON.parse(allowed.stdout)).toEqual({
      groups: [{ image: `${HOST}/fleet-iam@${digest}`, architecture: 'x86_64', functions: [name] }]
    })

    await attach([updateFunction.Action].flat().filter(action => action !== 'lambda:GetFunction'))
    const denied = await runCli(['group-functions', name, '--region', REGION], asUser)
    expect(denied.exitCode).toBe(1)
    expect(denied.stdout).toBe('')
    expect(denied.stderr).toContain('lambda:GetFunction')
  })
})

/** A statement of the README's deploying-role policy, for this account, region and function. */
function readmeStatement(
  sid: string,
  functionName: string
): { Sid: string; Effect: string; Action: string | string[]; Resource: string | string[] } {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8')
  const start = readme.indexOf('### Minimal IAM policy')
  const policy = /```json\n([\s\S]*?)```/.exec(readme.slice(start))![1]!
  const statements = (
    JSON.parse(
      policy
        .replace(/\bFUNCTION\b/g, functionName)
        .replace(/\bACCOUNT\b/g, ACCOUNT)
        .replace(/\bREGION\b/g, REGION)
    ) as { Statement: ReturnType<typeof readmeStatement>[] }
  ).Statement
  return statements.find(statement => statement.Sid === sid)!
}
