import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { DescribeRepositoriesCommand, SetRepositoryPolicyCommand } from '@aws-sdk/client-ecr'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { MemoryRegistry } from '../../stack/stand-in/memory-registry.js'
import { clientsFor } from '../../stack/stand-in/sdk-clients.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'
import { canonicalJson } from '../../stack/stand-in/state.js'

/** The control API: seeding, settings, state as canonical JSON, the call log, reset. */

const TOOLING = '111111111111'
const REGION = 'us-east-1'

let standIn: StandIn
let control: StandInControl

beforeAll(async () => {
  standIn = await startStandIn({ port: 0, registry: new MemoryRegistry(), updateDelayMs: 5 })
  control = new StandInControl(standIn.url)
})

afterAll(async () => {
  await standIn.close()
})

beforeEach(async () => {
  await control.reset()
})

describe('state', () => {
  it('is canonical JSON: keys sorted at every level, equal states equal byte for byte', async () => {
    await control.createRepository({ account: TOOLING, region: REGION, name: 'b' })
    await control.createRepository({ account: TOOLING, region: REGION, name: 'a' })
    const text = await control.stateText()
    expect(text).toBe(canonicalJson(JSON.parse(text)))
    expect(await control.stateText()).toBe(text)
    expect((await control.state()).repositories.map(repository => repository.name)).toEqual([
      'a',
      'b'
    ])
  })

  it('shows a seeded function with its defaults', async () => {
    await control.createFunction({
      account: TOOLING,
      region: REGION,
      name: 'fn',
      packageType: 'Image'
    })
    const [fn] = (await control.state()).functions
    expect(fn).toMatchObject({
      account: TOOLING,
      name: 'fn',
      packageType: 'Image',
      settings: { architectures: ['x86_64'], timeout: 3, memorySize: 128 },
      lastUpdate: { status: 'Successful' }
    })
  })

  it('takes CodeSha256 from a seeded image URI with a digest', async () => {
    const digest = `sha256:${'a'.repeat(64)}`
    await control.createFunction({
      account: TOOLING,
      region: REGION,
      name: 'fn',
      packageType: 'Image',
      imageUri: `${TOOLING}.dkr.ecr.${REGION}.amazonaws.com/fn@${digest}`
    })
    expect((await control.state()).functions[0]?.code.codeSha256).toBe('a'.repeat(64))
  })

  it('lets a seeded InProgress update end after the update delay', async () => {
    await control.setUpdateDelay(50)
    await control.createFunction({
      account: TOOLING,
      region: REGION,
      name: 'fn',
      packageType: 'Image',
      lastUpdateStatus: 'InProgress'
    })
    expect((await control.state()).functions[0]?.lastUpdate.status).toBe('InProgress')
    await new Promise(resolve => setTimeout(resolve, 60))
    expect((await control.state()).functions[0]?.lastUpdate.status).toBe('Successful')
  })
})

describe('seeding', () => {
  it.each([
    ['an account outside the topology', { account: '999999999999', region: REGION, name: 'x' }],
    ['a region outside the topology', { account: TOOLING, region: 'ap-south-1', name: 'x' }],
    ['no name', { account: TOOLING, region: REGION }]
  ])('refuses a repository in %s', async (_case, seed) => {
    await expect(control.createRepository(seed as never)).rejects.toThrow(/400/)
  })

  it('refuses a function with two architectures', async () => {
    await expect(
      control.createFunction({
        account: TOOLING,
        region: REGION,
        name: 'x',
        packageType: 'Image',
        architectures: ['x86_64', 'arm64']
      })
    ).rejects.toThrow(/architectures/)
  })

  it('replaces a repository seeded twice, keeping its creation time', async () => {
    await control.createRepository({
      account: TOOLING,
      region: REGION,
      name: 'app',
      policy: '{"Statement":[]}'
    })
    const first = (await control.state()).repositories[0]
    await control.createRepository({ account: TOOLING, region: REGION, name: 'app' })
    const second = (await control.state()).repositories[0]
    expect(second?.createdAt).toBe(first?.createdAt)
    expect(second?.policyText).toBeUndefined()
  })
})

describe('settings, calls and reset', () => {
  it('changes and restores the update delay', async () => {
    await control.setUpdateDelay(1234)
    expect((await control.state()).settings.updateDelayMs).toBe(1234)
    await control.reset()
    expect((await control.state()).settings.updateDelayMs).toBe(5)
  })

  it('logs AWS calls with service, operation, account, region and status, and clears them', async () => {
    await control.createRepository({ account: TOOLING, region: REGION, name: 'app' })
    const { ecr } = clientsFor(standIn.url, TOOLING)
    await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['app'] }))
    await ecr
      .send(new SetRepositoryPolicyCommand({ repositoryName: 'app', policyText: 'not json' }))
      .catch(() => undefined)
    expect(await control.calls()).toEqual([
      {
        service: 'ecr',
        operation: 'DescribeRepositories',
        account: TOOLING,
        region: REGION,
        status: 200
      },
      {
        service: 'ecr',
        operation: 'SetRepositoryPolicy',
        account: TOOLING,
        region: REGION,
        status: 400
      }
    ])
    await control.clearCalls()
    expect(await control.calls()).toEqual([])
  })

  it('forgets repositories, functions, faults and calls on reset', async () => {
    await control.createRepository({ account: TOOLING, region: REGION, name: 'app' })
    await control.injectFault({ service: 'ecr', operation: '*', kind: 'throttle' })
    await control.reset()
    const state = await control.state()
    expect(state.repositories).toEqual([])
    const { ecr } = clientsFor(standIn.url, TOOLING)
    await expect(ecr.send(new DescribeRepositoriesCommand({}))).resolves.toBeDefined()
  })

  it('answers 404 for an unknown control route', async () => {
    const response = await fetch(`${standIn.url}/_stand-in/nothing`)
    expect(response.status).toBe(404)
  })
})
