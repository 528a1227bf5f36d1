import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import path from 'node:path'
import { repoRoot, runAction, type ActionRun } from '../../stack/run-action.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'
import { StandInControl } from '../../stack/stand-in/control-client.js'

/**
 * `function-name` alone: the repository is the one the function already runs its image from.
 * Through the real engine and registry, so the push provably lands in that repository.
 */

const ACCOUNT = '111111111111'
const REGION = 'us-east-1'
const REGISTRY = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`
const fixtures = path.join(repoRoot, '__tests__', 'fixtures')

let standIn: StandIn
let control: StandInControl
let unique = 0

beforeAll(async () => {
  standIn = await startStandIn({ port: 0 })
  control = new StandInControl(standIn.url)
})

afterAll(async () => {
  await standIn.close()
})

function uniqueName(label: string): string {
  unique += 1
  return `${label}-${process.pid}-${unique}`
}

async function seedFunction(name: string, imageUri?: string): Promise<void> {
  await control.createFunction({
    account: ACCOUNT,
    region: REGION,
    name,
    packageType: 'Image',
    ...(imageUri ? { imageUri } : {})
  })
}

function deploy(inputs: Record<string, string>): Promise<ActionRun> {
  return runAction(
    { context: path.join(fixtures, 'provided-multistage'), target: 'runtime', ...inputs },
    { standInUrl: standIn.url, account: ACCOUNT, region: REGION }
  )
}

async function callsTo(operation: string): Promise<number> {
  return (await control.calls()).filter(call => call.operation === operation).length
}

describe('the repository taken from the function', () => {
  it('pushes a new build to the repository the function runs its image from', async () => {
    const name = uniqueName('derived')
    const repository = `${REGISTRY}/${name}`
    await control.createRepository({ account: ACCOUNT, region: REGION, name })
    await seedFunction(name)
    const first = await deploy({ 'function-name': name, repository, 'build-args': 'VERSION=1' })
    expect({ exit: first.exitCode, log: first.exitCode === 0 ? '' : first.stdout }).toEqual({
      exit: 0,
      log: ''
    })

    const second = await deploy({ 'function-name': name, 'build-args': 'VERSION=2' })
    expect(second.exitCode).toBe(0)
    expect(second.stdout).toContain(
      `repository is empty: pushing to ${repository}, the repository ${name} runs its image from.`
    )
    expect(second.outputs.repository).toBe(repository)
    expect(second.outputs['image-uri']).toMatch(new RegExp(`^${repository}@sha256:[0-9a-f]{64}$`))
    expect(second.outputs['image-digest']).not.toBe(first.outputs['image-digest'])
    expect(second.outputs.deployed).toBe('true')
    expect(second.summary).toContain('repository was empty; taken from the image')
  })

  it('needs the input for a function that runs no image yet, and changes nothing', async () => {
    const name = uniqueName('no-image')
    await control.createRepository({ account: ACCOUNT, region: REGION, name })
    await seedFunction(name)
    const updatesBefore = await callsTo('UpdateFunctionCode')
    const run = await deploy({ 'function-name': name })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('::error::[repository-not-derivable]')
    expect(run.stdout).toContain(`${name} runs no image yet`)
    expect(run.stdout).toContain('Set repository')
    expect(await callsTo('UpdateFunctionCode')).toBe(updatesBefore)
    // Refused while resolving the targets: nothing was built, so nothing could be pushed.
    expect(run.outputs.built).toBeUndefined()
    expect(run.outputs['image-uri']).toBeUndefined()
  })

  it('needs the input when the functions run images from two repositories', async () => {
    const first = uniqueName('two-a')
    const second = uniqueName('two-b')
    const digest = `sha256:${'1'.repeat(64)}`
    await seedFunction(first, `${REGISTRY}/${first}@${digest}`)
    await seedFunction(second, `${REGISTRY}/${second}@${digest}`)
    const run = await deploy({ 'function-name': `${first}\n${second}` })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('::error::[repository-not-derivable]')
    expect(run.stdout).toContain(`${REGISTRY}/${first}: ${first}`)
    expect(run.stdout).toContain(`${REGISTRY}/${second}: ${second}`)
  })
})
