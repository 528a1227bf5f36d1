import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { Sha256 } from '@aws-crypto/sha256-js'
import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr'
import { GetFunctionCommand } from '@aws-sdk/client-lambda'
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts'
import { SignatureV4 } from '@smithy/signature-v4'
import { clientsFor, credentialsOf } from '../../stack/stand-in/sdk-clients.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { AuthFailure, parseAuthorization } from '../../stack/stand-in/sigv4.js'

/** Every AWS request must be signed with a key from topology.json; the stand-in refuses the
 * rest in each service's own error shape, and the SDK raises its real exceptions. */

const TOOLING = '111111111111'
const WORKLOAD = '222222222222'
const ECR_TARGET = 'AmazonEC2ContainerRegistry_V20150921.DescribeRepositories'

let standIn: StandIn
let control: StandInControl

beforeAll(async () => {
  standIn = await startStandIn({ port: 0 })
  control = new StandInControl(standIn.url)
  await control.createFunction({
    account: TOOLING,
    region: 'us-east-1',
    name: 'signed',
    packageType: 'Image'
  })
})

afterAll(async () => {
  await standIn.close()
})

async function caught(
  promise: Promise<unknown>
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected the call to fail')
}

/** Signs a request the way the SDK does, so a test can then tamper with it. */
async function signedEcrRequest(
  body: string,
  options: { signingDate?: Date; service?: string } = {}
) {
  const url = new URL(standIn.url)
  const signer = new SignatureV4({
    credentials: credentialsOf(TOOLING),
    region: 'us-east-1',
    service: options.service ?? 'ecr',
    sha256: Sha256,
    applyChecksum: false
  })
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      query: {},
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': ECR_TARGET
      },
      body
    },
    { signingDate: options.signingDate ?? new Date() }
  )
  return signed.headers
}

describe('unsigned requests', () => {
  it('refuses an unsigned ECR call with MissingAuthenticationTokenException in the JSON 1.1 shape', async () => {
    const response = await fetch(standIn.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': ECR_TARGET },
      body: '{}'
    })
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({
      __type: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token'
    })
  })

  it('refuses an unsigned Lambda call with 403 and x-amzn-ErrorType', async () => {
    const response = await fetch(`${standIn.url}/2015-03-31/functions/signed`)
    expect(response.status).toBe(403)
    expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException')
  })

  it('refuses an unsigned STS call with an XML ErrorResponse', async () => {
    const response = await fetch(standIn.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15'
    })
    expect(response.status).toBe(403)
    const text = await response.text()
    expect(text).toContain('<Code>MissingAuthenticationToken</Code>')
    expect(text).toContain('<ErrorResponse')
  })

  it('logs a refused call without an account', async () => {
    await control.clearCalls()
    await fetch(`${standIn.url}/2015-03-31/functions/signed`)
    expect(await control.calls()).toEqual([
      { service: 'lambda', operation: 'GetFunction', account: '', region: '', status: 403 }
    ])
  })
})

describe('wrong secrets and unknown keys, through the SDK', () => {
  const wrongSecret = () => clientsFor(standIn.url, TOOLING, { secretAccessKey: 'not-the-secret' })
  const unknownKey = () =>
    clientsFor(standIn.url, TOOLING, { accessKeyId: 'AKIANOBODY0000000000', secretAccessKey: 'x' })

  it('raises InvalidSignatureException from ECR for a wrong secret', async () => {
    const error = await caught(wrongSecret().ecr.send(new DescribeRepositoriesCommand({})))
    expect(error.name).toBe('InvalidSignatureException')
    expect(error.message).toContain('does not match the signature you provided')
  })

  it('raises InvalidSignatureException from Lambda for a wrong secret, with HTTP 403', async () => {
    const error = await caught(
      wrongSecret().lambda.send(new GetFunctionCommand({ FunctionName: 'signed' }))
    )
    expect(error.name).toBe('InvalidSignatureException')
    expect(error.$metadata?.httpStatusCode).toBe(403)
  })

  it('raises SignatureDoesNotMatch from STS for a wrong secret', async () => {
    const error = await caught(wrongSecret().sts.send(new GetCallerIdentityCommand({})))
    expect(error.name).toBe('SignatureDoesNotMatch')
  })

  it('raises UnrecognizedClientException from ECR and Lambda for an unknown access key', async () => {
    const clients = unknownKey()
    expect((await caught(clients.ecr.send(new DescribeRepositoriesCommand({})))).name).toBe(
      'UnrecognizedClientException'
    )
    expect(
      (await caught(clients.lambda.send(new GetFunctionCommand({ FunctionName: 'signed' })))).name
    ).toBe('UnrecognizedClientException')
  })

  it('raises InvalidClientTokenId from STS for an unknown access key', async () => {
    expect((await caught(unknownKey().sts.send(new GetCallerIdentityCommand({})))).name).toBe(
      'InvalidClientTokenId'
    )
  })
})

describe('what the signature covers', () => {
  it('accepts a correctly signed raw request', async () => {
    const headers = await signedEcrRequest('{}')
    const response = await fetch(standIn.url, { method: 'POST', headers, body: '{}' })
    expect(response.status).toBe(200)
  })

  it('refuses a body changed after signing', async () => {
    const headers = await signedEcrRequest('{}')
    const response = await fetch(standIn.url, {
      method: 'POST',
      headers,
      body: '{"repositoryNames":["x"]}'
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { __type: string }).__type).toBe('InvalidSignatureException')
  })

  it('refuses a signature scoped to another service', async () => {
    const headers = await signedEcrRequest('{}', { service: 'lambda' })
    const response = await fetch(standIn.url, { method: 'POST', headers, body: '{}' })
    expect(await response.json()).toEqual({
      __type: 'InvalidSignatureException',
      message: "Credential should be scoped to correct service: 'ecr'. "
    })
  })

  it('refuses a signature older than 15 minutes', async () => {
    const headers = await signedEcrRequest('{}', {
      signingDate: new Date(Date.now() - 20 * 60 * 1000)
    })
    const response = await fetch(standIn.url, { method: 'POST', headers, body: '{}' })
    const body = (await response.json()) as { __type: string; message: string }
    expect(body.__type).toBe('InvalidSignatureException')
    expect(body.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than/)
  })

  it('takes the caller’s account from the access key', async () => {
    const identity = await clientsFor(standIn.url, WORKLOAD).sts.send(
      new GetCallerIdentityCommand({})
    )
    expect(identity.Account).toBe(WORKLOAD)
    expect(identity.Arn).toBe(`arn:aws:iam::${WORKLOAD}:user/stand-in`)
    expect(identity.UserId).toMatch(/^AIDA/)
  })

  it('takes the region from the credential scope', async () => {
    await control.clearCalls()
    await clientsFor(standIn.url, TOOLING, { region: 'eu-west-1' }).sts.send(
      new GetCallerIdentityCommand({})
    )
    expect((await control.calls())[0]?.region).toBe('eu-west-1')
  })
})

describe('parseAuthorization', () => {
  it('reads key, scope, signed headers and signature', () => {
    expect(
      parseAuthorization(
        'AWS4-HMAC-SHA256 Credential=AKIA1/20240101/eu-west-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc'
      )
    ).toEqual({
      accessKeyId: 'AKIA1',
      scopeDate: '20240101',
      region: 'eu-west-1',
      service: 'lambda',
      signedHeaders: ['host', 'x-amz-date'],
      signature: 'abc'
    })
  })

  it.each([
    [
      'another algorithm',
      'AWS4-HMAC-SHA512 Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=x'
    ],
    [
      'no signature',
      'AWS4-HMAC-SHA256 Credential=a/20240101/us-east-1/ecr/aws4_request, SignedHeaders=host'
    ],
    [
      'a short credential',
      'AWS4-HMAC-SHA256 Credential=a/20240101, SignedHeaders=host, Signature=x'
    ]
  ])('calls %s an incomplete signature', (_name, header) => {
    expect(() => parseAuthorization(header)).toThrow(AuthFailure)
  })
})
