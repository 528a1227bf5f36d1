import { beforeEach, describe, expect, it } from '@jest/globals'
import {
  GetFunctionCommand,
  LambdaClient,
  ResourceNotFoundException,
  type GetFunctionCommandOutput
} from '@aws-sdk/client-lambda'
import { mockClient } from 'aws-sdk-client-mock'
import type { CliIo } from '../../src/cli/command.js'
import { runCli } from '../../src/cli/run.js'
import { ActionError } from '../../src/domain/errors.js'
import {
  groupFunctionsByImage,
  splitFunctionList,
  type FunctionImage
} from '../../src/domain/function-groups.js'

const REPOSITORY = '111111111111.dkr.ecr.eu-west-1.amazonaws.com/app'
const DIGEST_A = 'a'.repeat(64)
const DIGEST_B = 'b'.repeat(64)

function running(name: string, digest: string, overrides: Partial<FunctionImage> = {}) {
  return {
    given: name,
    arn: `arn:aws:lambda:eu-west-1:111111111111:function:${name}`,
    name,
    packageType: 'Image',
    imageUri: `${REPOSITORY}:v1`,
    resolvedImageUri: `${REPOSITORY}@sha256:${digest}`,
    codeSha256: digest,
    architecture: 'x86_64',
    ...overrides
  }
}

function errorOf(work: () => unknown): ActionError {
  try {
    work()
  } catch (error) {
    if (error instanceof ActionError) return error
    throw error
  }
  throw new Error('expected an ActionError')
}

describe('groupFunctionsByImage', () => {
  it('puts functions that run the same image digest in one group, in the order given', () => {
    expect(
      groupFunctionsByImage([
        running('orders', DIGEST_A),
        running('billing', DIGEST_A),
        running('reports', DIGEST_A)
      ])
    ).toEqual([
      {
        image: `${REPOSITORY}@sha256:${DIGEST_A}`,
        architecture: 'x86_64',
        functions: ['orders', 'billing', 'reports']
      }
    ])
  })

  it('puts functions that run different images in different groups, ordered by first function', () => {
    const groups = groupFunctionsByImage([
      running('orders', DIGEST_A),
      running('billing', DIGEST_B),
      running('reports', DIGEST_A)
    ])
    expect(groups.map(group => group.functions)).toEqual([['orders', 'reports'], ['billing']])
    expect(groups.map(group => group.image)).toEqual([
      `${REPOSITORY}@sha256:${DIGEST_A}`,
      `${REPOSITORY}@sha256:${DIGEST_B}`
    ])
  })

  it('separates functions deployed from the same tag that run different digests', () => {
    // Lambda resolves a tag at update time: the tag says nothing about what runs now.
    const groups = groupFunctionsByImage([
      running('orders', DIGEST_A, { imageUri: `${REPOSITORY}:latest` }),
      running('billing', DIGEST_B, { imageUri: `${REPOSITORY}:latest` })
    ])
    expect(groups).toHaveLength(2)
  })

  it('separates the same digest in repositories of two regions', () => {
    const other = '111111111111.dkr.ecr.us-east-1.amazonaws.com/app'
    const groups = groupFunctionsByImage([
      running('orders', DIGEST_A),
      running('orders-us', DIGEST_A, { resolvedImageUri: `${other}@sha256:${DIGEST_A}` })
    ])
    expect(groups.map(group => group.functions)).toEqual([['orders'], ['orders-us']])
  })

  it('lists a function given twice (by name and by ARN) once, as first given', () => {
    const arn = 'arn:aws:lambda:eu-west-1:111111111111:function:orders'
    const groups = groupFunctionsByImage([
      running('orders', DIGEST_A),
      running('orders', DIGEST_A, { given: arn })
    ])
    expect(groups).toEqual([expect.objectContaining({ functions: ['orders'] })])
  })

  it('derives the image from ImageUri and CodeSha256 when ResolvedImageUri is missing', () => {
    const groups = groupFunctionsByImage([
      running('orders', DIGEST_A, { resolvedImageUri: undefined }),
      running('billing', DIGEST_A)
    ])
    expect(groups).toEqual([
      expect.objectContaining({
        image: `${REPOSITORY}@sha256:${DIGEST_A}`,
        functions: ['orders', 'billing']
      })
    ])
  })

  it('refuses a zip function with function-not-image, naming it', () => {
    const error = errorOf(() =>
      groupFunctionsByImage([
        running('orders', DIGEST_A),
        running('legacy', '', {
          packageType: 'Zip',
          imageUri: '',
          resolvedImageUri: undefined,
          codeSha256: 'K2p1yVGcP1pzMbuGsmd8YBZ1RYNZ4N6KsZjI/FXvZNQ='
        })
      ])
    )
    expect(error.id).toBe('function-not-image')
    expect(error.reason).toContain('legacy')
    expect(error.reason).toContain('Zip')
    expect(error.fix).toContain('function-names')
  })

  it('refuses an image function that runs no image with function-runs-no-image', () => {
    const error = errorOf(() =>
      groupFunctionsByImage([
        running('fresh', '', { imageUri: '', resolvedImageUri: undefined, codeSha256: '' })
      ])
    )
    expect(error.id).toBe('function-runs-no-image')
    expect(error.reason).toContain('fresh')
  })
})

describe('splitFunctionList', () => {
  it('takes names one per line or comma-separated, without blanks or repeats', () => {
    expect(splitFunctionList('orders\n billing , reports\n\norders,')).toEqual([
      'orders',
      'billing',
      'reports'
    ])
  })

  it('refuses an empty list with missing-function-names', () => {
    expect(errorOf(() => splitFunctionList(' \n, ')).id).toBe('missing-function-names')
  })
})

describe('lambda-image-deploy group-functions', () => {
  const lambdaMock = mockClient(LambdaClient)

  beforeEach(() => {
    lambdaMock.reset()
  })

  function answer(name: string, digest: string, region = 'eu-west-1'): GetFunctionCommandOutput {
    const repository = `111111111111.dkr.ecr.${region}.amazonaws.com/app`
    return {
      $metadata: {},
      Configuration: {
        FunctionName: name,
        FunctionArn: `arn:aws:lambda:${region}:111111111111:function:${name}`,
        PackageType: 'Image',
        Architectures: ['arm64'],
        CodeSha256: digest
      },
      Code: {
        RepositoryType: 'ECR',
        ImageUri: `${repository}:v1`,
        ResolvedImageUri: `${repository}@sha256:${digest}`
      }
    }
  }

  async function run(argv: string[], env: Record<string, string> = {}) {
    let stdout = ''
    let stderr = ''
    const io: CliIo = {
      stdout: text => (stdout += text),
      stderr: text => (stderr += text),
      readTextFile: () => Promise.reject(new Error('no files here')),
      // Credentials for the SDK; the calls themselves are mocked.
      env: { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', ...env }
    }
    const code = await runCli(argv, io)
    return { code, stdout, stderr }
  }

  it('prints one line of JSON with a group per image, from one GetFunction per function', async () => {
    lambdaMock
      .on(GetFunctionCommand, { FunctionName: 'orders' })
      .resolves(answer('orders', DIGEST_A))
      .on(GetFunctionCommand, { FunctionName: 'billing' })
      .resolves(answer('billing', DIGEST_A))
      .on(GetFunctionCommand, { FunctionName: 'reports' })
      .resolves(answer('reports', DIGEST_B))
    const result = await run([
      'group-functions',
      'orders\nbilling,reports',
      '--region',
      'eu-west-1'
    ])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(1)
    expect(JSON.parse(result.stdout)).toEqual({
      groups: [
        {
          image: `${REPOSITORY}@sha256:${DIGEST_A}`,
          architecture: 'arm64',
          functions: ['orders', 'billing']
        },
        {
          image: `${REPOSITORY}@sha256:${DIGEST_B}`,
          architecture: 'arm64',
          functions: ['reports']
        }
      ]
    })
    expect(lambdaMock.commandCalls(GetFunctionCommand)).toHaveLength(3)
  })

  it('calls each function in its own region: the ARN’s, else --region, else AWS_REGION', async () => {
    const arn = 'arn:aws:lambda:us-east-1:111111111111:function:edge'
    lambdaMock
      .on(GetFunctionCommand, { FunctionName: 'orders' })
      .resolves(answer('orders', DIGEST_A))
      .on(GetFunctionCommand, { FunctionName: arn })
      .resolves(answer('edge', DIGEST_A, 'us-east-1'))
    const result = await run(['group-functions', `orders\n${arn}`], { AWS_REGION: 'eu-west-1' })
    expect(result.code).toBe(0)
    const regions = await Promise.all(
      lambdaMock.commandCalls(GetFunctionCommand).map(async call => {
        const client = call.thisValue as LambdaClient
        return [call.args[0].input.FunctionName, await client.config.region()]
      })
    )
    expect(regions).toEqual(
      expect.arrayContaining([
        ['orders', 'eu-west-1'],
        [arn, 'us-east-1']
      ])
    )
    expect((JSON.parse(result.stdout) as { groups: unknown[] }).groups).toHaveLength(2)
  })

  it('exits 1 with function-not-image for a zip function, and prints nothing on stdout', async () => {
    lambdaMock
      .on(GetFunctionCommand, { FunctionName: 'orders' })
      .resolves(answer('orders', DIGEST_A))
      .on(GetFunctionCommand, { FunctionName: 'legacy' })
      .resolves({
        $metadata: {},
        Configuration: { FunctionName: 'legacy', FunctionArn: 'arn:x:legacy', PackageType: 'Zip' },
        Code: { RepositoryType: 'S3', Location: 'https://example.invalid/code.zip' }
      })
    const result = await run(['group-functions', 'orders,legacy', '--region', 'eu-west-1'])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('[function-not-image]')
    expect(result.stderr).toContain('legacy')
  })

  it('exits 1 with function-not-found for a function that does not exist', async () => {
    lambdaMock.on(GetFunctionCommand).rejects(
      new ResourceNotFoundException({
        $metadata: {},
        message: 'Function not found: arn:aws:lambda:eu-west-1:111111111111:function:typo'
      })
    )
    const result = await run(['group-functions', 'typo', '--region', 'eu-west-1'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('[function-not-found]')
  })

  it('exits 1 with invalid-function-name before calling AWS', async () => {
    const result = await run(['group-functions', 'orders,not a name', '--region', 'eu-west-1'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('[invalid-function-name]')
    expect(lambdaMock.commandCalls(GetFunctionCommand)).toHaveLength(0)
  })

  it('exits 1 with missing-region when no region is known for a name', async () => {
    const result = await run(['group-functions', 'orders'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('[missing-region]')
    expect(lambdaMock.commandCalls(GetFunctionCommand)).toHaveLength(0)
  })

  it('exits 2 for functions given as several arguments', async () => {
    const result = await run(['group-functions', 'orders', 'billing', '--region', 'eu-west-1'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('as one argument')
  })

  it('is listed in the program help', async () => {
    const result = await run(['--help'])
    expect(result.stdout).toContain('group-functions')
  })
})
