import { beforeEach, describe, expect, it, jest } from '@jest/globals'
import {
  InvokeCommand,
  LambdaClient,
  ResourceConflictException,
  type InvokeCommandOutput
} from '@aws-sdk/client-lambda'
import { mockClient } from 'aws-sdk-client-mock'
import { createFunctionInvoker } from '../../src/adapters/lambda-invoke.js'
import type { FunctionFacts } from '../../src/adapters/lambda.js'
import type { VerifySettings } from '../../src/domain/verify-settings.js'
import type { DeployTarget } from '../../src/steps/resolve-target.js'
import type { FunctionResult } from '../../src/steps/deploy-functions.js'
import {
  verifyBeforeTraffic,
  verifyDeployed,
  verifyFailure,
  verifyInvoke,
  type VerifyResult
} from '../../src/steps/verify-invoke.js'

const lambdaMock = mockClient(LambdaClient)
const invoker = () => createFunctionInvoker(new LambdaClient({ region: 'us-east-1' }))

const fn = {
  arn: 'arn:aws:lambda:us-east-1:111111111111:function:orders',
  name: 'orders',
  timeout: 3,
  environment: { API_TOKEN: 'secret-token-value' }
} as unknown as FunctionFacts
const target = { function: fn, region: 'us-east-1' } as unknown as DeployTarget

const settings: VerifySettings = {
  label: 'verify-event (inline)',
  payload: '{"orderId":42}',
  expect: { kind: 'subset', value: { ok: true }, source: 'line 1' }
}

const tail = (text: string) => Buffer.from(text).toString('base64')
// The SDK hands out a Uint8Array with helpers; the adapter reads only the bytes.
const bytes = (text: string) =>
  new TextEncoder().encode(text) as unknown as InvokeCommandOutput['Payload']

beforeEach(() => {
  lambdaMock.reset()
})

describe('verifyInvoke', () => {
  it('invokes the qualifier synchronously with the log tail, and passes a matching response', async () => {
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: bytes('{"ok":true,"extra":1}'),
      LogResult: tail('START RequestId: 1 Version: 7\nhandled\n'),
      ExecutedVersion: '7'
    })
    const result = await verifyInvoke(target, '7', settings, invoker(), [])
    expect(result).toMatchObject({
      function: 'orders',
      qualifier: '7',
      executedVersion: '7',
      outcome: 'passed',
      passed: true,
      response: '{"ok":true,"extra":1}',
      logTail: 'START RequestId: 1 Version: 7\nhandled\n'
    })
    const input = lambdaMock.commandCalls(InvokeCommand)[0]!.args[0].input
    expect(input).toMatchObject({
      FunctionName: fn.arn,
      Qualifier: '7',
      InvocationType: 'RequestResponse',
      LogType: 'Tail'
    })
    expect(Buffer.from(input.Payload as Uint8Array).toString()).toBe('{"orderId":42}')
  })

  it('invokes $LATEST when no version was published', async () => {
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes('{"ok":true}') })
    const result = await verifyInvoke(target, undefined, settings, invoker(), [])
    expect(result.qualifier).toBe('$LATEST')
    expect(lambdaMock.commandCalls(InvokeCommand)[0]!.args[0].input.Qualifier).toBeUndefined()
  })

  it('fails on a function error (FunctionError set, status 200), keeping the error and the log tail', async () => {
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: bytes('{"errorType":"OrderNotFound","errorMessage":"order 42 does not exist"}'),
      LogResult: tail('ERROR Invoke Error OrderNotFound\n')
    })
    const result = await verifyInvoke(target, undefined, settings, invoker(), [])
    expect(result).toMatchObject({ outcome: 'function-error', passed: false })
    expect(result.reason).toContain('the function failed (Unhandled)')
    expect(result.reason).toContain('order 42 does not exist')
    expect(result.logTail).toBe('ERROR Invoke Error OrderNotFound\n')
  })

  it('fails when the response does not match, naming where', async () => {
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes('{"ok":false}') })
    const result = await verifyInvoke(target, undefined, settings, invoker(), [])
    expect(result.outcome).toBe('unexpected-response')
    expect(result.reason).toBe(
      'the response is not what verify-expect says: $.ok: expected true, got false'
    )
  })

  it('fails, without throwing, when Lambda refuses the call', async () => {
    lambdaMock.on(InvokeCommand).rejects(
      new ResourceConflictException({
        message:
          'The operation cannot be performed at this time. The function is currently in the following state: Pending',
        $metadata: {}
      })
    )
    const result = await verifyInvoke(target, undefined, settings, invoker(), [])
    expect(result).toMatchObject({ outcome: 'call-failed', passed: false, logTail: '' })
    expect(result.reason).toContain('[verify-function-not-ready]')
    expect(result.reason).toContain('currently in the following state: Pending')
  })

  it('fails when the call does not answer in time', async () => {
    lambdaMock
      .on(InvokeCommand)
      .rejects(Object.assign(new Error('The operation was aborted'), { name: 'AbortError' }))
    const result = await verifyInvoke(target, undefined, settings, invoker(), [])
    expect(result.outcome).toBe('call-failed')
    expect(result.reason).toContain('[verify-invoke-timeout]')
    expect(result.reason).toContain('within 63 seconds')
  })

  it("masks the function's variables in the response and the log tail", async () => {
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: bytes('{"errorMessage":"bad token secret-token-value"}'),
      LogResult: tail('token=secret-token-value\n')
    })
    const result = await verifyInvoke(target, undefined, settings, invoker(), [])
    expect(JSON.stringify(result)).not.toContain('secret-token-value')
    expect(result.logTail).toBe('token=***\n')
  })

  it('registers no variable that the run publishes, so the outputs that hold it are kept', async () => {
    const withIdentity = {
      ...target,
      function: {
        ...fn,
        environment: {
          API_TOKEN: 'secret-token-value',
          ACCOUNT_ID: '111111111111',
          DEPLOY_REGION: 'us-east-1',
          QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111111111111/orders-queue'
        }
      }
    } as unknown as DeployTarget
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: bytes('{"ok":true,"account":"111111111111","token":"secret-token-value"}'),
      LogResult: tail('in us-east-1 with secret-token-value\n')
    })
    // core.setSecret tells the runner with an ::add-mask:: line on stdout.
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true)
    const result = await verifyInvoke(withIdentity, '7', settings, invoker(), [fn.arn, 'us-east-1'])
    const registered = stdout.mock.calls
      .map(([chunk]) => String(chunk))
      .filter(line => line.startsWith('::add-mask::'))
      .map(line => line.slice('::add-mask::'.length).trim())
    stdout.mockRestore()
    expect(registered.sort()).toEqual([
      'https://sqs.us-east-1.amazonaws.com/111111111111/orders-queue',
      'secret-token-value'
    ])
    expect(result.response).toBe('{"ok":true,"account":"111111111111","token":"***"}')
    expect(result.logTail).toBe('in us-east-1 with ***\n')
  })
})

describe('verifyDeployed', () => {
  const other = {
    function: { ...fn, name: 'billing', arn: fn.arn.replace('orders', 'billing') },
    region: 'us-east-1'
  } as unknown as DeployTarget
  const broken = {
    function: { ...fn, name: 'broken', arn: fn.arn.replace('orders', 'broken') },
    region: 'us-east-1'
  } as unknown as DeployTarget

  it('invokes each function the deploy left in place once: its new version, else $LATEST', async () => {
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes('{"ok":true}') })
    const results: FunctionResult[] = [
      { target, status: 'updated', release: { settingsChanges: [], version: '4' } },
      { target: other, status: 'unchanged' },
      { target: broken, status: 'failed', error: new Error('update failed') }
    ]
    const verified = await verifyDeployed(results, settings, () => invoker(), [])
    expect(verified.map(result => [result.function, result.qualifier, result.passed])).toEqual([
      ['orders', '4', true],
      ['billing', '$LATEST', true]
    ])
    expect(
      lambdaMock.commandCalls(InvokeCommand).map(call => call.args[0].input.FunctionName)
    ).toEqual([fn.arn, other.function.arn])
  })
})

describe('verifyFailure', () => {
  const passed: VerifyResult = {
    function: 'a',
    arn: 'arn:a',
    qualifier: '$LATEST',
    outcome: 'passed',
    passed: true,
    logTail: '',
    seconds: 0.1
  }

  it('is nothing when every invocation passed', () => {
    expect(verifyFailure([passed])).toBeUndefined()
  })

  it('names each failed function with its reason and the end of its log tail', () => {
    const lines = Array.from({ length: 60 }, (_, index) => `line ${index + 1}`)
    const error = verifyFailure([
      passed,
      {
        ...passed,
        function: 'b',
        qualifier: '3',
        outcome: 'function-error',
        passed: false,
        reason: 'the function failed (Unhandled): boom',
        logTail: lines.join('\n')
      }
    ])
    expect(error?.id).toBe('verify-invoke-failed')
    expect(error?.reason).toContain('for 1 of 2 deployed function(s)')
    expect(error?.reason).toContain('b:3: the function failed (Unhandled): boom')
    expect(error?.reason).toContain('Log tail of b:3:\n  line 21\n')
    expect(error?.reason).toContain('  line 60')
    expect(error?.reason).not.toContain('line 20\n')
  })
})

describe('verifyBeforeTraffic', () => {
  it('invokes the version just published, by its number, and records the result', async () => {
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: bytes('{"ok":true}'),
      ExecutedVersion: '4'
    })
    const recorded: VerifyResult[] = []
    const check = verifyBeforeTraffic(target, settings, invoker(), [], r => recorded.push(r))
    expect(await check({ version: '4' })).toEqual({ ok: true, reason: '' })
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(1)
    expect(lambdaMock.commandCalls(InvokeCommand)[0]!.args[0].input.Qualifier).toBe('4')
    expect(recorded.map(r => r.outcome)).toEqual(['passed'])
  })

  it('answers the reason of a failed invoke', async () => {
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: bytes('{"errorType":"Boom","errorMessage":"no"}')
    })
    const recorded: VerifyResult[] = []
    const check = verifyBeforeTraffic(target, settings, invoker(), [], r => recorded.push(r))
    const verdict = await check({ version: '4' })
    expect(verdict.ok).toBe(false)
    expect(verdict.reason).toMatch(/^the verify invoke of version 4 failed: /)
    expect(recorded[0]?.passed).toBe(false)
  })
})

describe('verifyDeployed after the alias moved', () => {
  it('does not invoke a function verified before its alias moved', async () => {
    const results = [{ target, status: 'updated' }] as unknown as FunctionResult[]
    const verified = await verifyDeployed(results, settings, invoker, [], new Set([fn.arn]))
    expect(verified).toEqual([])
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0)
  })
})
