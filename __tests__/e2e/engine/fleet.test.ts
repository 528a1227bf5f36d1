import { describe, expect, it } from '@jest/globals'
import path from 'node:path'
import { runCli, type ActionRun } from '../../../stack/run-action.js'
import {
  DEFAULT_REGION,
  TOOLING_ACCOUNT,
  fixturesDir,
  registryHost,
  useSandbox
} from '../harness.js'
import { publishPrivateBase } from '../support.js'

/**
 * Fleets in the reusable refresh workflow (issue 17), end to end: the groups job's command
 * (`group-functions`, the bundled CLI) asks the stand-in's GetFunction what each function runs,
 * and the refresh job runs the bundled action once per group with all of its functions, as the
 * workflow's matrix does. The real engine builds and the real registry receives the image; the
 * base is a private ECR image the test moves, so `rebuild: if-base-changed` has something to see.
 * What the grouping refuses, and the permission it needs, are tested once in e2e/aws/fleet.
 */

// The base is built for the engine's own platform; the functions run on it.
const ARCHITECTURE = process.arch === 'arm64' ? 'arm64' : 'x86_64'
const context = path.join(fixturesDir, 'base-from-build-arg')

const sandbox = useSandbox()

interface Fleet {
  readonly groups: readonly {
    readonly image: string
    readonly architecture: string
    readonly functions: readonly string[]
  }[]
}

/** The groups job's step: the command, its JSON on one line. */
async function groupFunctions(functionNames: string): Promise<Fleet> {
  const run = await runCli(['group-functions', functionNames, '--region', DEFAULT_REGION], {
    standInUrl: sandbox.url,
    account: TOOLING_ACCOUNT,
    region: DEFAULT_REGION
  })
  if (run.exitCode !== 0) throw new Error(`group-functions failed:\n${run.stderr}`)
  expect(run.stdout.trimEnd().split('\n')).toHaveLength(1)
  return JSON.parse(run.stdout) as Fleet
}

/** An image function that runs nothing yet, on the engine's architecture; its name. */
async function createImageFunction(label: string): Promise<string> {
  return (await sandbox.seed({ label, noRepository: true, architecture: ARCHITECTURE })).name
}

/** A repository of its own in the tooling account; its URI. */
async function createRepository(label: string): Promise<string> {
  const name = sandbox.uniqueName(label)
  await sandbox.control.createRepository({
    account: TOOLING_ACCOUNT,
    region: DEFAULT_REGION,
    name
  })
  return `${registryHost()}/${name}`
}

const count = (text: string, line: string): number =>
  text.split('\n').filter(candidate => candidate.startsWith(line)).length

function expectSuccess(run: ActionRun): void {
  if (run.exitCode !== 0) throw new Error(`The run failed:\n${run.stdout}\n${run.stderr}`)
}

describe('a fleet of functions in the reusable refresh workflow', () => {
  it('is grouped by image and rebuilt once per group, all functions of a group on one digest', async () => {
    const repository = await createRepository('fleet')
    const base = `${await createRepository('fleet-base')}:al2023`
    publishPrivateBase(base, 'generation=1')
    const fleet: string[] = []
    for (const letter of ['a', 'b', 'c']) fleet.push(await createImageFunction(`fleet-${letter}`))
    const solo = await createImageFunction('fleet-solo')
    const build = { repository, context, 'build-args': `BASE=${base}` }

    // How the fleet got there: one deploy to the three, another image (its own label) to solo.
    const fleetDeploy = await sandbox.run({
      ...build,
      'function-name': fleet.join('\n'),
      rebuild: 'always',
      tags: 'v1'
    })
    expectSuccess(fleetDeploy)
    const soloDeploy = await sandbox.run({
      ...build,
      'function-name': solo,
      labels: 'variant=solo',
      rebuild: 'always',
      tags: 'solo'
    })
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
      await sandbox.control.clearCalls()
      const run = await sandbox.run({
        ...build,
        'function-name': group.functions.join(','),
        rebuild: 'if-base-changed',
        tags: 'refresh-1-1'
      })
      expectSuccess(run)
      return { run, calls: (await sandbox.control.calls()).map(call => call.operation) }
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
})
