import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ActionError } from '../../src/domain/errors.js'
import { MAX_UNCOMPRESSED_IMAGE_BYTES } from '../../src/domain/lambda-limits.js'
import { inputsFromEnvironment, parseConfig, type Environment } from '../../src/inputs.js'

const context = mkdtempSync(path.join(os.tmpdir(), 'inputs-test-'))
writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\n')

const IMG = '111111111111.dkr.ecr.us-east-1.amazonaws.com/app'

const good: Record<string, string> = {
  'function-name': 'my-fn',
  repository: '111111111111.dkr.ecr.us-east-1.amazonaws.com/app',
  context
}

function parse(inputs: Record<string, string>, env: Environment = { AWS_REGION: 'us-east-1' }) {
  return parseConfig(name => (inputs[name] ?? '').trim(), env)
}

function errorId(inputs: Record<string, string>, env?: Environment): string | undefined {
  try {
    parse(inputs, env)
  } catch (error) {
    return error instanceof ActionError ? error.id : `not an ActionError: ${String(error)}`
  }
  return undefined
}

describe('parseConfig', () => {
  it('turns verify-event into one verify invocation, and leaves it off by default', () => {
    expect(parse(good).verify).toBeUndefined()
    expect(parse({ ...good, 'verify-event': '{"ping": true}' }).verify).toEqual({
      label: 'verify-event (inline)',
      payload: '{"ping":true}',
      expect: { kind: 'any' }
    })
    expect(errorId({ ...good, 'verify-expect': 'any' })).toBe('verify-expect-without-event')
  })

  it('gives defaults a user would expect', () => {
    const config = parse(good, { AWS_REGION: 'us-east-1', GITHUB_SHA: 'a'.repeat(40) })
    expect(config).toMatchObject({
      region: 'us-east-1',
      tags: ['a'.repeat(40)],
      maxImageBytes: MAX_UNCOMPRESSED_IMAGE_BYTES,
      manageRepositoryPolicy: true,
      wait: true,
      waitTimeoutSeconds: 600,
      architecture: undefined
    })
    expect(config.build?.file).toBe(path.join(context, 'Dockerfile'))
  })

  it('reads lists, sizes and durations', () => {
    const config = parse({
      ...good,
      tags: 'v1, latest\nv1',
      'build-args': 'A=1\nB=x,y=z',
      'max-image-size': '512MiB',
      'wait-timeout': '5m',
      architecture: 'arm64',
      'manage-repository-policy': 'false',
      secrets: 'token=abc=def'
    })
    expect(config.tags).toEqual(['v1', 'latest'])
    expect(config.build?.buildArgs).toEqual(['A=1', 'B=x,y=z'])
    expect(config.maxImageBytes).toBe(512 * 2 ** 20)
    expect(config.waitTimeoutSeconds).toBe(300)
    expect(config.architecture).toBe('arm64')
    expect(config.manageRepositoryPolicy).toBe(false)
    expect(config.build?.secrets).toEqual([{ id: 'token', value: 'abc=def' }])
  })

  it('moves no deployed-tag unless one is given, and takes one tag as given', () => {
    expect(parse(good).deployedTag).toBeUndefined()
    expect(parse({ ...good, 'deployed-tag': ' deployed-api ' }).deployedTag).toBe('deployed-api')
  })

  it('leaves an empty repository to be taken from the functions', () => {
    const config = parse({ ...good, repository: '' })
    expect(config.repositories).toEqual({ byRegion: new Map(), fromFunctions: true })
  })

  it('reads a rollout plan and its alarms, one per line or comma-separated', () => {
    const config = parse({
      ...good,
      publish: 'true',
      alias: 'live',
      rollout: 'linear 10% every 1m',
      'rollout-alarms': 'errors, throttles\np99-latency\nerrors'
    })
    expect(config.rollout).toEqual({
      plan: { kind: 'linear', percent: 10, holdSeconds: 60 },
      alarms: ['errors', 'throttles', 'p99-latency'],
      insufficientData: 'fail'
    })
    expect(parse(good).rollout).toBeUndefined()
  })

  it('publishes a version when alias is set, without publish: true', () => {
    expect(parse({ ...good, alias: 'live' })).toMatchObject({
      publish: true,
      alias: { name: 'live' }
    })
    expect(parse({ ...good, alias: 'live', publish: 'false' }).publish).toBe(true)
    expect(parse(good).publish).toBe(false)
  })

  it('takes a rollout with alias alone, as alias publishes the version', () => {
    const config = parse({
      ...good,
      alias: 'live',
      rollout: 'canary 10% 5m',
      'rollout-alarms': 'errors'
    })
    expect(config.publish).toBe(true)
    expect(config.rollout?.plan).toEqual({ kind: 'canary', percent: 10, holdSeconds: 300 })
  })

  it.each([
    ['linux/amd64', 'x86_64'],
    ['linux/x86_64', 'x86_64'],
    ['linux/arm64', 'arm64'],
    ['linux/arm64/v8', 'arm64'],
    ['LINUX/ARM64', 'arm64']
  ])("takes Docker's platform %s as Lambda's %s", (platform, architecture) => {
    expect(parse({ ...good, architecture: platform }).architecture).toBe(architecture)
  })

  it('names Lambda’s word for amd64 and says one architecture per run for a platform list', () => {
    const reasonOf = (architecture: string): string => {
      try {
        parse({ ...good, architecture })
      } catch (error) {
        return (error as ActionError).reason
      }
      return 'accepted'
    }
    expect(reasonOf('amd64')).toContain('Lambda calls amd64 "x86_64"')
    expect(reasonOf('linux/amd64,linux/arm64')).toContain('one function runs one architecture')
  })

  it.each([
    ['as the runner passes it', { 'INPUT_IMAGE-URI': `${IMG}:v1` }],
    ['with an underscore', { INPUT_IMAGE_URI: `${IMG}:v1` }]
  ])('refuses image-uri %s, naming the image input', (_, env) => {
    let error: unknown
    try {
      parseConfig(inputsFromEnvironment({ ...env, 'INPUT_FUNCTION-NAME': 'my-fn' }), {
        ...env,
        AWS_REGION: 'us-east-1'
      })
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ActionError)
    expect((error as ActionError).id).toBe('unknown-input')
    expect((error as ActionError).fix).toBe(`Rename image-uri to image (image: ${IMG}:v1).`)
  })

  const rollout = { ...good, publish: 'true', alias: 'live', rollout: 'canary 10% 5m' }

  it('refuses a rollout that nothing watches, naming the opt-in', () => {
    let error: unknown
    try {
      parse(rollout)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ActionError)
    expect((error as ActionError).id).toBe('rollout-unwatched')
    expect((error as ActionError).reason).toContain(
      'neither rollout-alarms nor verify-event is set'
    )
    expect((error as ActionError).fix).toContain('rollout-unwatched: true')
  })

  it.each([
    ['alarms', { 'rollout-alarms': 'errors' }],
    ['a verify invoke', { 'verify-event': '{}' }],
    ['nothing, by explicit opt-in', { 'rollout-unwatched': 'true' }]
  ])('takes a rollout watched by %s', (_, inputs) => {
    expect(parse({ ...rollout, ...inputs }).rollout?.plan.kind).toBe('canary')
  })

  it('takes the defaults of the rollout options without a rollout, as the runner passes them', () => {
    expect(
      parse({ ...good, 'rollout-unwatched': 'false', 'rollout-insufficient-data': 'fail' }).rollout
    ).toBeUndefined()
  })

  it('reads rollout-insufficient-data: fail by default, or warn', () => {
    const watched = { ...rollout, 'rollout-alarms': 'errors' }
    expect(parse(watched).rollout?.insufficientData).toBe('fail')
    expect(
      parse({ ...watched, 'rollout-insufficient-data': 'WARN' }).rollout?.insufficientData
    ).toBe('warn')
  })

  it('takes the region from a function ARN', () => {
    const config = parse(
      { ...good, 'function-name': 'arn:aws:lambda:us-east-1:111111111111:function:f' },
      {}
    )
    expect(config.functions[0]?.region).toBe('us-east-1')
  })

  const refusals: [string, Record<string, string>, string, Environment?][] = [
    ['no function-name', { ...good, 'function-name': '' }, 'missing-function-name'],
    [
      'a repository in another region',
      { ...good, repository: '111111111111.dkr.ecr.eu-west-1.amazonaws.com/app' },
      'repository-region-mismatch'
    ],
    [
      'a public ECR repository',
      { ...good, repository: 'public.ecr.aws/lambda/app' },
      'repository-not-ecr'
    ],
    ['a non-ECR registry', { ...good, repository: 'ghcr.io/me/app' }, 'repository-not-ecr'],
    [
      'a repository name with capitals',
      { ...good, repository: 'My_App' },
      'invalid-repository-name'
    ],
    ['no region anywhere', good, 'missing-region', {}],
    ['a made-up region', { ...good, 'aws-region': 'mars-1' }, 'invalid-region'],
    [
      'an ARN region that differs from aws-region',
      {
        ...good,
        'function-name': 'arn:aws:lambda:eu-west-1:111111111111:function:f',
        'aws-region': 'us-east-1'
      },
      'function-region-mismatch'
    ],
    ['architecture amd64', { ...good, architecture: 'amd64' }, 'invalid-architecture'],
    ['architecture x86', { ...good, architecture: 'x86' }, 'invalid-architecture'],
    ['a 32-bit arm platform', { ...good, architecture: 'linux/arm/v7' }, 'invalid-architecture'],
    ['two platforms', { ...good, architecture: 'linux/amd64,linux/arm64' }, 'invalid-architecture'],
    [
      'image-uri, the input of aws-lambda-deploy',
      { ...good, 'image-uri': `${IMG}:v1` },
      'unknown-input'
    ],
    [
      'platforms, the input of build-push-action',
      { ...good, platforms: 'linux/arm64' },
      'unknown-input'
    ],
    ['a negative size', { ...good, 'max-image-size': '-5' }, 'invalid-max-image-size'],
    ['a garbage size', { ...good, 'max-image-size': 'huge' }, 'invalid-max-image-size'],
    ['a size of zero', { ...good, 'max-image-size': '0' }, 'invalid-max-image-size'],
    [
      "a size over Lambda's limit",
      { ...good, 'max-image-size': '11GB' },
      'max-image-size-over-limit'
    ],
    ['a garbage timeout', { ...good, 'wait-timeout': 'soon' }, 'invalid-wait-timeout'],
    ['a zero timeout', { ...good, 'wait-timeout': '0' }, 'invalid-wait-timeout'],
    ['a boolean that is not one', { ...good, wait: 'yes' }, 'invalid-wait'],
    ['a missing context', { ...good, context: '/nonexistent/context' }, 'context-not-found'],
    [
      'a missing Dockerfile',
      { ...good, file: path.join(context, 'Nope.Dockerfile') },
      'dockerfile-not-found'
    ],
    [
      'a context that looks like an option',
      { ...good, context: '--output=/tmp' },
      'invalid-context'
    ],
    ['a tag with a shell metacharacter', { ...good, tags: 'v1;rm -rf /' }, 'invalid-tag'],
    ['two deployed-tags', { ...good, 'deployed-tag': 'a, b' }, 'invalid-deployed-tag'],
    ['a deployed-tag like an option', { ...good, 'deployed-tag': '-x' }, 'invalid-deployed-tag'],
    ['a tag that looks like an option', { ...good, tags: '--output=type=local' }, 'invalid-tag'],
    ['a tag with a dollar', { ...good, tags: '$(whoami)' }, 'invalid-tag'],
    ['a build-arg without a value', { ...good, 'build-args': 'JUSTAKEY' }, 'invalid-build-args'],
    ['a build-arg key with a space', { ...good, 'build-args': 'A B=1' }, 'invalid-build-args'],
    ['a label that looks like an option', { ...good, labels: '--label=x' }, 'invalid-labels'],
    ['a secret without an id', { ...good, secrets: '=value' }, 'invalid-secrets'],
    [
      'a cache-to that is an option',
      { ...good, 'cache-to': '--output=type=local,dest=/' },
      'invalid-cache-to'
    ],
    ['a target with a space', { ...good, target: 'build stage' }, 'invalid-target'],
    ['a builder with a slash', { ...good, builder: '../x' }, 'invalid-builder'],
    [
      'a function qualifier',
      { ...good, 'function-name': '111111111111:function:f:live' },
      'function-qualifier-not-allowed'
    ],
    [
      'an image that is a tag of another repository',
      { ...good, image: '111111111111.dkr.ecr.us-east-1.amazonaws.com/other:v1' },
      'image-repository-mismatch'
    ],
    [
      'an image with neither tag nor digest',
      { ...good, repository: '', image: IMG },
      'image-not-pinned'
    ],
    [
      'an image with a short digest',
      { ...good, repository: '', image: `${IMG}@sha256:abc` },
      'invalid-image-digest'
    ],
    [
      'an image in a public registry',
      { ...good, repository: '', image: 'public.ecr.aws/lambda/app:1' },
      'repository-not-ecr'
    ],
    ['the same function twice', { ...good, 'function-name': 'my-fn\nmy-fn' }, 'duplicate-function'],
    [
      'two repositories in one region',
      { ...good, repository: `${IMG}\n${IMG}-two` },
      'ambiguous-repository'
    ],
    [
      'function-config that is not YAML',
      { ...good, 'function-config': 'a: [' },
      'invalid-function-config'
    ],
    [
      'function-config for an unlisted function',
      { ...good, 'function-config': 'other:\n  command: [x]' },
      'function-config-unknown-function'
    ],
    [
      'function-config with a relative entrypoint',
      { ...good, 'function-config': 'my-fn:\n  entrypoint: [run.sh]' },
      'invalid-function-config'
    ],
    [
      'function-config setting a reserved variable',
      { ...good, 'function-config': 'my-fn:\n  environment: { AWS_REGION: x }' },
      'invalid-function-config'
    ],
    [
      'a rollout without alias or publish',
      { ...good, rollout: 'canary 10% 5m' },
      'rollout-needs-alias'
    ],
    [
      'a rollout without alias',
      { ...good, publish: 'true', rollout: 'canary 10% 5m' },
      'rollout-needs-alias'
    ],
    [
      'a rollout with alias-routing-weight',
      {
        ...good,
        publish: 'true',
        alias: 'live',
        'alias-routing-weight': '0.1',
        rollout: 'canary 10% 5m'
      },
      'rollout-conflicts-with-routing-weight'
    ],
    [
      'a rollout that is not a plan',
      { ...good, publish: 'true', alias: 'live', rollout: 'canary 10%' },
      'invalid-rollout'
    ],
    [
      'rollout alarms without a rollout',
      { ...good, publish: 'true', alias: 'live', 'rollout-alarms': 'errors' },
      'rollout-alarms-without-rollout'
    ],
    [
      'rollout-unwatched without a rollout',
      { ...good, publish: 'true', alias: 'live', 'rollout-unwatched': 'true' },
      'rollout-option-without-rollout'
    ],
    [
      'rollout-insufficient-data without a rollout',
      { ...good, publish: 'true', alias: 'live', 'rollout-insufficient-data': 'warn' },
      'rollout-option-without-rollout'
    ],
    [
      'rollout-insufficient-data without alarms',
      {
        ...good,
        publish: 'true',
        alias: 'live',
        rollout: 'canary 10% 5m',
        'verify-event': '{}',
        'rollout-insufficient-data': 'warn'
      },
      'rollout-insufficient-data-without-alarms'
    ],
    [
      'rollout-insufficient-data that is not fail or warn',
      {
        ...good,
        publish: 'true',
        alias: 'live',
        rollout: 'canary 10% 5m',
        'rollout-alarms': 'errors',
        'rollout-insufficient-data': 'ignore'
      },
      'invalid-rollout-insufficient-data'
    ],
    [
      'rollout-unwatched that is not a boolean',
      {
        ...good,
        publish: 'true',
        alias: 'live',
        rollout: 'canary 10% 5m',
        'rollout-unwatched': 'yes'
      },
      'invalid-rollout-unwatched'
    ],
    [
      'more than 100 rollout alarms',
      {
        ...good,
        publish: 'true',
        alias: 'live',
        rollout: 'canary 10% 5m',
        'rollout-alarms': Array.from({ length: 101 }, (_, i) => `alarm-${i}`).join(',')
      },
      'too-many-rollout-alarms'
    ],
    [
      'an alias that is a version number',
      { ...good, publish: 'true', alias: '12' },
      'invalid-alias'
    ],
    [
      'a routing weight of 1.5',
      { ...good, publish: 'true', alias: 'live', 'alias-routing-weight': '1.5' },
      'invalid-alias-routing-weight'
    ],
    [
      'a routing weight without alias',
      { ...good, 'alias-routing-weight': '0.1' },
      'alias-routing-weight-without-alias'
    ],
    [
      'a cross-account role with a shell metacharacter',
      { ...good, 'cross-account-role': 'x;rm -rf /' },
      'invalid-cross-account-role'
    ],
    ['max-concurrency of 0', { ...good, 'max-concurrency': '0' }, 'invalid-max-concurrency'],
    ['an unknown rebuild mode', { ...good, rebuild: 'sometimes' }, 'invalid-rebuild'],
    [
      'rebuild if-base-changed with a deploy-only image',
      { ...good, repository: '', image: `${IMG}:v1`, rebuild: 'if-base-changed' },
      'rebuild-with-image'
    ],
    ['dry-run that is not a boolean', { ...good, 'dry-run': 'yes' }, 'invalid-dry-run']
  ]
  // Every row gets an environment, so jest does not take the 4th parameter for a done callback.
  it.each(
    refusals.map(
      ([name, inputs, id, env]) => [name, inputs, id, env ?? { AWS_REGION: 'us-east-1' }] as const
    )
  )('refuses %s', (_name, inputs, id, env) => {
    expect(errorId(inputs, env)).toBe(id)
  })
})

describe('registry-cache', () => {
  it.each([
    ['', 'min'],
    ['true', 'min'],
    ['True', 'min'],
    ['min', 'min'],
    ['max', 'max'],
    ['false', 'off']
  ])('reads "%s" as %s', (value, mode) => {
    expect(parse({ ...good, 'registry-cache': value }).build?.registryCache).toBe(mode)
  })

  it('refuses anything else, naming the accepted values', () => {
    const error = (() => {
      try {
        parse({ ...good, 'registry-cache': 'mode=max' })
      } catch (caught) {
        return caught
      }
      return undefined
    })()
    expect(error).toBeInstanceOf(ActionError)
    expect((error as ActionError).id).toBe('invalid-registry-cache')
    expect((error as ActionError).message).toContain('true, min, max or false')
  })
})
