import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import {
  BatchGetImageCommand,
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
  GetLifecyclePolicyCommand,
  GetLifecyclePolicyPreviewCommand,
  GetRepositoryPolicyCommand,
  SetRepositoryPolicyCommand,
  StartLifecyclePolicyPreviewCommand
} from '@aws-sdk/client-ecr'
import {
  CreateAliasCommand,
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  ListAliasesCommand,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand
} from '@aws-sdk/client-lambda'
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { MemoryRegistry } from '../../stack/stand-in/memory-registry.js'
import { clientsFor, type StandInClients } from '../../stack/stand-in/sdk-clients.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'

/**
 * The stand-in against what AWS answered: every fixture in __tests__/conformance (each citing
 * the response AWS recorded or documents) is replayed through the SDK and the answer compared
 * field by field: status, shape, types, values, error codes and messages.
 */

const ACCOUNT = '111111111111'
const REGION = 'us-east-1'
const REGISTRY = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`
const fixturesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'conformance')

interface Fixture {
  readonly id: string
  readonly operation: string
  readonly scenario: string
  readonly input: Record<string, unknown>
  readonly source: string
  readonly status: number
  readonly body?: unknown
  readonly error?: { readonly code: string; readonly message?: string }
  readonly partial?: boolean
  readonly absent?: readonly string[]
  readonly differsFrom?: Record<string, string>
}

const files = readdirSync(fixturesDir).filter(file => file.endsWith('.json'))
const suites = files.map(
  file =>
    JSON.parse(readFileSync(path.join(fixturesDir, file), 'utf8')) as {
      service: 'ecr' | 'lambda' | 'sts'
      fixtures: Fixture[]
    }
)

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyCommand = new (input: any) => any
const COMMANDS: Record<string, AnyCommand> = {
  GetFunction: GetFunctionCommand,
  GetFunctionConfiguration: GetFunctionConfigurationCommand,
  UpdateFunctionCode: UpdateFunctionCodeCommand,
  UpdateFunctionConfiguration: UpdateFunctionConfigurationCommand,
  PublishVersion: PublishVersionCommand,
  GetAlias: GetAliasCommand,
  CreateAlias: CreateAliasCommand,
  UpdateAlias: UpdateAliasCommand,
  GetAuthorizationToken: GetAuthorizationTokenCommand,
  DescribeRepositories: DescribeRepositoriesCommand,
  BatchGetImage: BatchGetImageCommand,
  GetRepositoryPolicy: GetRepositoryPolicyCommand,
  SetRepositoryPolicy: SetRepositoryPolicyCommand,
  GetCallerIdentity: GetCallerIdentityCommand,
  GetLifecyclePolicy: GetLifecyclePolicyCommand,
  StartLifecyclePolicyPreview: StartLifecyclePolicyPreviewCommand,
  GetLifecyclePolicyPreview: GetLifecyclePolicyPreviewCommand,
  ListAliases: ListAliasesCommand,
  ListVersionsByFunction: ListVersionsByFunctionCommand
}

let standIn: StandIn
let control: StandInControl
let registry: MemoryRegistry
let clients: StandInClients
let unique = 0

beforeAll(async () => {
  registry = new MemoryRegistry()
  standIn = await startStandIn({ port: 0, registry })
  control = new StandInControl(standIn.url)
  clients = clientsFor(standIn.url, ACCOUNT)
})

afterAll(async () => {
  await standIn.close()
})

beforeEach(async () => {
  await control.reset()
})

type Vars = Record<string, string>

/** Puts the stand-in into the fixture's scenario; returns the values its answers refer to. */
async function arrange(scenario: string): Promise<Vars> {
  unique += 1
  const name = `conformance-${unique}`
  const repository = `${REGISTRY}/${name}`
  await control.createRepository({ account: ACCOUNT, region: REGION, name })
  const digest = registry.pushImage(REGISTRY, name, { tag: 'v1', label: `${name}-1` })
  registry.pushImage(REGISTRY, name, { tag: 'v2', label: `${name}-2` })
  const vars: Vars = {
    name,
    repository,
    registry: REGISTRY,
    account: ACCOUNT,
    region: REGION,
    digest,
    arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`,
    imageUri: `${repository}:v1`,
    codeSha256: digest.replace('sha256:', ''),
    policyOver10240: JSON.stringify({
      Version: '2012-10-17',
      Statement: Array.from({ length: 120 }, (_, index) => ({
        Sid: `S${index}`,
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/reader-${index}` },
        Action: ['ecr:BatchGetImage']
      }))
    })
  }
  if (scenario === 'repository-with-image') return vars
  if (scenario === 'repository-with-policy') {
    await clients.ecr.send(
      new SetRepositoryPolicyCommand({
        repositoryName: name,
        policyText: JSON.stringify({
          Version: '2008-10-17',
          Statement: [
            {
              Sid: 'new statement',
              Effect: 'Allow',
              Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/CodeDeployDemo` },
              Action: [
                'ecr:GetDownloadUrlForLayer',
                'ecr:BatchGetImage',
                'ecr:BatchCheckLayerAvailability'
              ]
            }
          ]
        })
      })
    )
    return vars
  }

  // Lambda pulls only what the repository policy lets it, in its own account too (Knowledge
  // Center "lambda-ecr-image"), as every function these fixtures recorded could.
  await clients.ecr.send(
    new SetRepositoryPolicyCommand({
      repositoryName: name,
      policyText: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'LambdaECRImageRetrievalPolicy',
            Effect: 'Allow',
            Principal: { Service: 'lambda.amazonaws.com' },
            Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
          }
        ]
      })
    })
  )
  const lambda = clients.lambda
  await control.createFunction({ account: ACCOUNT, region: REGION, name, packageType: 'Image' })
  await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: name, ImageUri: vars.imageUri }))
  switch (scenario) {
    case 'deployed-image-function':
      break
    case 'update-in-progress':
      await control.setUpdateDelay(60_000)
      await lambda.send(
        new UpdateFunctionCodeCommand({ FunctionName: name, ImageUri: `${repository}:v2` })
      )
      break
    case 'update-just-completed': {
      const answer = await lambda.send(
        new UpdateFunctionCodeCommand({ FunctionName: name, ImageUri: `${repository}:v2` })
      )
      vars.updateRevisionId = answer.RevisionId ?? ''
      break
    }
    case 'pending-function':
      await control.setFunctionState({
        account: ACCOUNT,
        region: REGION,
        name,
        state: 'Pending',
        pendingMs: 60_000
      })
      break
    case 'two-versions':
    case 'two-versions-with-alias':
      await lambda.send(new PublishVersionCommand({ FunctionName: name }))
      await lambda.send(
        new UpdateFunctionConfigurationCommand({ FunctionName: name, Description: 'second' })
      )
      await lambda.send(new PublishVersionCommand({ FunctionName: name }))
      if (scenario === 'two-versions-with-alias') {
        await lambda.send(
          new CreateAliasCommand({ FunctionName: name, Name: 'custom', FunctionVersion: '1' })
        )
      }
      break
    default:
      throw new Error(`unknown scenario ${scenario}`)
  }
  return vars
}

function substitute<T>(value: T, vars: Vars): T {
  if (typeof value === 'string') {
    return value.replace(/\$\{(\w+)\}/g, (whole, key: string) => vars[key] ?? whole) as T
  }
  if (Array.isArray(value)) return value.map(item => substitute(item as unknown, vars)) as T
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        substitute(key, vars),
        substitute(item as unknown, vars)
      ])
    ) as T
  }
  return value
}

const MARKERS: Record<string, (actual: unknown) => boolean> = {
  '<string>': actual => typeof actual === 'string',
  '<number>': actual => typeof actual === 'number',
  '<boolean>': actual => typeof actual === 'boolean',
  '<object>': actual => !!actual && typeof actual === 'object',
  '<date>': actual => actual instanceof Date && !Number.isNaN(actual.getTime()),
  '<uuid>': actual =>
    typeof actual === 'string' &&
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(actual),
  '<sha256-hex>': actual => typeof actual === 'string' && /^[0-9a-f]{64}$/.test(actual)
}

/** Every difference between what AWS answered and what the stand-in did, one line each. */
function differences(expected: unknown, actual: unknown, at: string, partial: boolean): string[] {
  if (typeof expected === 'string' && expected in MARKERS) {
    return MARKERS[expected]!(actual) ? [] : [`${at}: ${JSON.stringify(actual)} is not ${expected}`]
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${at}: expected an array, got ${JSON.stringify(actual)}`]
    if (actual.length !== expected.length) {
      return [`${at}: expected ${expected.length} items, got ${actual.length}`]
    }
    return expected.flatMap((item, index) =>
      differences(item, actual[index], `${at}[${index}]`, partial)
    )
  }
  if (expected && typeof expected === 'object') {
    if (!actual || typeof actual !== 'object' || Array.isArray(actual)) {
      return [`${at}: expected an object, got ${JSON.stringify(actual)}`]
    }
    const found: string[] = []
    for (const [key, value] of Object.entries(expected)) {
      found.push(
        ...differences(value, (actual as Record<string, unknown>)[key], `${at}.${key}`, partial)
      )
    }
    if (!partial) {
      for (const [key, value] of Object.entries(actual)) {
        if (value !== undefined && !(key in expected)) {
          found.push(`${at}.${key}: not in AWS's answer (${JSON.stringify(value)})`)
        }
      }
    }
    return found
  }
  return Object.is(expected, actual)
    ? []
    : [`${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`]
}

function valueAt(value: unknown, dotted: string): unknown {
  return dotted
    .split('.')
    .reduce<unknown>(
      (current, key) => (current as Record<string, unknown> | undefined)?.[key],
      value
    )
}

describe.each(suites.map(suite => [suite.service, suite] as const))('%s', (_service, suite) => {
  it.each(suite.fixtures.map(fixture => [fixture.id, fixture] as const))(
    '%s answers as AWS did',
    async (_id, fixture) => {
      expect(fixture.source).toMatch(
        /^(localstack|botocore|api-reference|dev-guide|bug report): .{20,}/
      )
      const vars = await arrange(fixture.scenario)
      const Command = COMMANDS[fixture.operation]
      if (!Command) throw new Error(`no command for ${fixture.operation}`)
      const client = clients[suite.service] as { send(command: unknown): Promise<unknown> }
      let status: number | undefined
      let answer: Record<string, unknown> | undefined
      let failure: (Error & { $metadata?: { httpStatusCode?: number } }) | undefined
      try {
        answer = (await client.send(new Command(substitute(fixture.input, vars)))) as Record<
          string,
          unknown
        >
        status = (answer.$metadata as { httpStatusCode?: number }).httpStatusCode
        delete answer.$metadata
      } catch (error) {
        failure = error as typeof failure
        status = failure?.$metadata?.httpStatusCode
      }
      expect(status).toBe(fixture.status)
      if (fixture.error) {
        expect(failure?.name).toBe(fixture.error.code)
        if (fixture.error.message !== undefined) {
          expect(failure?.message).toBe(substitute(fixture.error.message, vars))
        }
        return
      }
      expect(failure).toBeUndefined()
      expect(
        differences(substitute(fixture.body, vars), answer, fixture.operation, !!fixture.partial)
      ).toEqual([])
      for (const field of fixture.absent ?? []) expect(valueAt(answer, field)).toBeUndefined()
      for (const [field, other] of Object.entries(fixture.differsFrom ?? {})) {
        expect(valueAt(answer, field)).not.toBe(substitute(other, vars))
      }
    }
  )
})

it('has a fixture for every operation the action calls', () => {
  const covered = new Set(suites.flatMap(suite => suite.fixtures.map(f => f.operation)))
  // AssumeRole is answered by the STS stand-in that issue 13's identity work owns.
  expect([...Object.keys(COMMANDS)].filter(operation => !covered.has(operation))).toEqual([])
})
