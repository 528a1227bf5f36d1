import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import {
  GetAuthorizationTokenCommand,
  BatchGetImageCommand,
  DescribeRepositoriesCommand
} from '@aws-sdk/client-ecr'
import { GetFunctionCommand, UpdateFunctionCodeCommand } from '@aws-sdk/client-lambda'
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { registryPermission } from '../../stack/stand-in/iam-authorization.js'
import { MemoryRegistry } from '../../stack/stand-in/memory-registry.js'
import { clientsFor } from '../../stack/stand-in/sdk-clients.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'

/** Authorization in the stand-in: every call is checked against the caller's identity policies
 * (and the repository policy), registry requests too, through the real SDK clients. */

const TOOLING = '111111111111'
const WORKLOAD = '222222222222'
const REGION = 'us-east-1'
const TOOLING_USER = `arn:aws:iam::${TOOLING}:user/stand-in`
const WORKLOAD_USER = `arn:aws:iam::${WORKLOAD}:user/stand-in`
const HOST = `${TOOLING}.dkr.ecr.${REGION}.amazonaws.com`
const repositoryArn = (name: string, account = TOOLING) =>
  `arn:aws:ecr:${REGION}:${account}:repository/${name}`
const functionArn = (name: string, account = TOOLING) =>
  `arn:aws:lambda:${REGION}:${account}:function:${name}`

let standIn: StandIn
let control: StandInControl
let registry: MemoryRegistry

beforeAll(async () => {
  registry = new MemoryRegistry()
  standIn = await startStandIn({ port: 0, registry })
  control = new StandInControl(standIn.url)
})

afterAll(async () => {
  await standIn.close()
})

beforeEach(async () => {
  await control.reset()
})

const only = (...Statement: object[]) => ({ Only: { Version: '2012-10-17', Statement } })

async function caught(promise: Promise<unknown>): Promise<Error & { $metadata?: object }> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected the call to fail')
}

describe('identity policies', () => {
  it('lets the topology.json default policy do everything', async () => {
    await control.createRepository({ account: TOOLING, region: REGION, name: 'app' })
    const answer = await clientsFor(standIn.url, TOOLING).ecr.send(
      new DescribeRepositoriesCommand({ repositoryNames: ['app'] })
    )
    expect(answer.repositories).toHaveLength(1)
  })

  it('refuses an ECR call no identity policy allows, in IAM’s words', async () => {
    await control.createRepository({ account: TOOLING, region: REGION, name: 'app' })
    await control.setIdentityPolicies(
      TOOLING_USER,
      only({ Effect: 'Allow', Action: 'ecr:DescribeRepositories', Resource: repositoryArn('app') })
    )
    const error = await caught(
      clientsFor(standIn.url, TOOLING).ecr.send(
        new BatchGetImageCommand({ repositoryName: 'app', imageIds: [{ imageTag: 'v1' }] })
      )
    )
    expect(error.name).toBe('AccessDeniedException')
    expect(error.message).toBe(
      `User: ${TOOLING_USER} is not authorized to perform: ecr:BatchGetImage on resource: ${repositoryArn('app')} because no identity-based policy allows the ecr:BatchGetImage action`
    )
  })

  it('names an explicit Deny as such', async () => {
    await control.setIdentityPolicies(TOOLING_USER, {
      All: { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
      NoToken: {
        Statement: [{ Effect: 'Deny', Action: 'ecr:GetAuthorizationToken', Resource: '*' }]
      }
    })
    const error = await caught(
      clientsFor(standIn.url, TOOLING).ecr.send(new GetAuthorizationTokenCommand({}))
    )
    expect(error.message).toBe(
      `User: ${TOOLING_USER} is not authorized to perform: ecr:GetAuthorizationToken on resource: * with an explicit deny in an identity-based policy`
    )
  })

  it('checks Lambda calls against the qualified ARN when a qualifier is given', async () => {
    await control.createFunction({
      account: TOOLING,
      region: REGION,
      name: 'fn',
      packageType: 'Image'
    })
    await control.setIdentityPolicies(
      TOOLING_USER,
      only({ Effect: 'Allow', Action: 'lambda:GetFunction', Resource: functionArn('fn') })
    )
    const lambda = clientsFor(standIn.url, TOOLING).lambda
    await lambda.send(new GetFunctionCommand({ FunctionName: 'fn' }))
    const error = await caught(
      lambda.send(new GetFunctionCommand({ FunctionName: 'fn', Qualifier: 'live' }))
    )
    expect(error.name).toBe('AccessDeniedException')
    expect(error.message).toContain(`lambda:GetFunction on resource: ${functionArn('fn')}:live`)
    expect((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(
      403
    )
  })

  it('needs the repository policy as well for another account’s repository', async () => {
    await control.createRepository({ account: TOOLING, region: REGION, name: 'shared' })
    const error = await caught(
      clientsFor(standIn.url, WORKLOAD).ecr.send(
        new DescribeRepositoriesCommand({ registryId: TOOLING, repositoryNames: ['shared'] })
      )
    )
    expect(error.message).toBe(
      `User: ${WORKLOAD_USER} is not authorized to perform: ecr:DescribeRepositories on resource: ${repositoryArn('shared')} because no resource-based policy allows the ecr:DescribeRepositories action`
    )
  })

  it('lets a repository policy alone allow a principal of the same account', async () => {
    await control.createRepository({
      account: TOOLING,
      region: REGION,
      name: 'by-resource',
      policy: JSON.stringify({
        Statement: [
          { Effect: 'Allow', Principal: { AWS: TOOLING_USER }, Action: 'ecr:DescribeRepositories' }
        ]
      })
    })
    await control.setIdentityPolicies(TOOLING_USER, {})
    const answer = await clientsFor(standIn.url, TOOLING).ecr.send(
      new DescribeRepositoriesCommand({ repositoryNames: ['by-resource'] })
    )
    expect(answer.repositories).toHaveLength(1)
  })

  it('needs the caller’s own ECR read permissions to point a function at another account’s image', async () => {
    const grant = JSON.stringify({
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${WORKLOAD}:root` },
          Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
        },
        {
          Effect: 'Allow',
          Principal: { Service: 'lambda.amazonaws.com' },
          Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
        }
      ]
    })
    await control.createRepository({ account: TOOLING, region: REGION, name: 'img', policy: grant })
    await control.createFunction({
      account: WORKLOAD,
      region: REGION,
      name: 'img',
      packageType: 'Image'
    })
    const digest = registry.pushImage(HOST, 'img', { tag: 'v1' })
    const lambdaOnly = only({
      Effect: 'Allow',
      Action: ['lambda:UpdateFunctionCode'],
      Resource: functionArn('img', WORKLOAD)
    })
    await control.setIdentityPolicies(WORKLOAD_USER, lambdaOnly)
    const update = () =>
      clientsFor(standIn.url, WORKLOAD).lambda.send(
        new UpdateFunctionCodeCommand({ FunctionName: 'img', ImageUri: `${HOST}/img@${digest}` })
      )
    const error = await caught(update())
    expect(error.name).toBe('AccessDeniedException')
    expect(error.message).toBe(
      'Lambda does not have permission to access the ECR image. Check the ECR permissions.'
    )
    await control.setIdentityPolicies(WORKLOAD_USER, {
      ...lambdaOnly,
      Pull: {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
            Resource: repositoryArn('img')
          }
        ]
      }
    })
    expect((await update()).LastUpdateStatus).toBe('InProgress')
  })

  it('refuses a policy for a principal that does not exist', async () => {
    await expect(
      control.setIdentityPolicies('arn:aws:iam::999999999999:role/x', {})
    ).rejects.toThrow(/not .*topology\.json|account/)
  })
})

describe('STS', () => {
  const sts = (credentials: {
    accessKeyId: string
    secretAccessKey: string
    sessionToken?: string
  }) => new STSClient({ region: REGION, endpoint: standIn.url, credentials, maxAttempts: 1 })
  const roleArn = `arn:aws:iam::${WORKLOAD}:role/lambda-deployer`

  async function assume() {
    const answer = await clientsFor(standIn.url, TOOLING).sts.send(
      new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'deploy' })
    )
    const c = answer.Credentials!
    return {
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: c.SecretAccessKey!,
      sessionToken: c.SessionToken!
    }
  }

  it('answers GetCallerIdentity of a role session with the assumed-role ARN', async () => {
    const identity = await sts(await assume()).send(new GetCallerIdentityCommand({}))
    expect(identity.Arn).toBe(`arn:aws:sts::${WORKLOAD}:assumed-role/lambda-deployer/deploy`)
    expect(identity.Account).toBe(WORKLOAD)
    expect(identity.UserId).toMatch(/^AROA\w+:deploy$/)
  })

  it('refuses a session key without its session token, or with another', async () => {
    const credentials = await assume()
    for (const sessionToken of [undefined, `${credentials.sessionToken}x`]) {
      const error = await caught(
        sts({ ...credentials, sessionToken }).send(new GetCallerIdentityCommand({}))
      )
      expect(error.name).toBe('InvalidClientTokenId')
    }
  })

  it('checks sts:AssumeRole against the caller’s identity policy', async () => {
    await control.setIdentityPolicies(
      TOOLING_USER,
      only({ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: `arn:aws:iam::*:role/other` })
    )
    const error = await caught(assume())
    expect(error.name).toBe('AccessDenied')
    expect(error.message).toContain(
      `sts:AssumeRole on resource: ${roleArn} because no identity-based`
    )
  })

  it('needs no permission for GetCallerIdentity', async () => {
    await control.setIdentityPolicies(TOOLING_USER, {})
    const identity = await clientsFor(standIn.url, TOOLING).sts.send(
      new GetCallerIdentityCommand({})
    )
    expect(identity.Arn).toBe(TOOLING_USER)
  })

  it('gives a role session its role’s policies', async () => {
    await control.setIdentityPolicies(roleArn, {})
    const lambda = clientsFor(standIn.url, WORKLOAD, { credentials: await assume() }).lambda
    const error = await caught(lambda.send(new GetFunctionCommand({ FunctionName: 'x' })))
    expect(error.message).toContain(
      `User: arn:aws:sts::${WORKLOAD}:assumed-role/lambda-deployer/deploy is not authorized to perform: lambda:GetFunction`
    )
  })
})

describe('registry requests', () => {
  it.each([
    ['GET', '/v2/team/app/manifests/v1', 'ecr:BatchGetImage'],
    ['HEAD', '/v2/team/app/manifests/sha256:abc', 'ecr:BatchGetImage'],
    ['GET', '/v2/team/app/blobs/sha256:abc', 'ecr:GetDownloadUrlForLayer'],
    ['HEAD', '/v2/team/app/blobs/sha256:abc', 'ecr:BatchCheckLayerAvailability'],
    ['POST', '/v2/team/app/blobs/uploads/', 'ecr:InitiateLayerUpload'],
    ['PATCH', '/v2/team/app/blobs/uploads/uuid?_state=x', 'ecr:UploadLayerPart'],
    ['PUT', '/v2/team/app/blobs/uploads/uuid?digest=sha256:abc', 'ecr:CompleteLayerUpload'],
    ['PUT', '/v2/team/app/manifests/v1', 'ecr:PutImage'],
    ['GET', '/v2/team/app/tags/list', 'ecr:ListImages']
  ])('maps %s %s to %s on the repository', (method, path, action) => {
    expect(registryPermission(method, path, TOOLING, REGION)).toMatchObject({
      action,
      resource: repositoryArn('team/app')
    })
  })

  it('lets any holder of a token ping /v2/', () => {
    expect(registryPermission('GET', '/v2/', TOOLING, REGION)).toBe('any-principal')
  })
})
