import { describe, expect, it } from '@jest/globals'
import type { ActionRun } from '../../../stack/run-action.js'
import { fixtureImage, useSandbox } from '../harness.js'
import { expectNoCredentialLeft, functionsOf } from '../support.js'

/**
 * verify-event end to end: the action deploys a fixture image already in the registry, then
 * invokes the function through Lambda's Invoke API; the stand-in RUNS the deployed image (pulled
 * from the registry by digest) with the real Docker engine of the test process, as Lambda would,
 * against a Runtime API server, so a function error or a wrong response comes from the image
 * itself. What the action does with the answer is AWS-side: its run gets no engine, and the suite
 * runs once. Each test has its own repository and function.
 */

const sandbox = useSandbox()

/** A function of its own, and the fixture's image copied into its repository (not deployed). */
async function seed(label: string, fixture: string) {
  const fn = await sandbox.seed({
    label,
    function: {
      memorySize: 256,
      timeout: 10,
      // Short enough not to be taken for a secret and masked (secret-mask.ts).
      environment: { GREETING: 'hello' }
    }
  })
  const image = await sandbox.copyImage(await fixtureImage({ fixture }), fn.repository)
  return { ...fn, image }
}

interface VerifyEntry {
  qualifier: string
  executedVersion?: string
  outcome: string
  passed: boolean
  reason?: string
}

function verifyOf(run: ActionRun): VerifyEntry | undefined {
  return functionsOf<{ verify?: VerifyEntry }>(run)[0]?.verify
}

describe('verify-event: one real invocation after the deploy', () => {
  it('invokes the published version and passes when the response matches verify-expect', async () => {
    // A Node.js handler that answers with the event and what Lambda gave it.
    const fn = await seed('verify-good', 'smoke-good')
    await sandbox.control.clearCalls()
    const run = await sandbox.run({
      'function-name': fn.name,
      image: fn.image,
      publish: 'true',
      'verify-event': '{"orderId": 42}',
      'verify-expect':
        'subset {"echo": {"orderId": 42}, "memoryLimitInMB": "256", "env": {"AWS_LAMBDA_FUNCTION_VERSION": "1"}}'
    })
    if (run.exitCode !== 0) console.log(run.stdout)
    expect(run.exitCode).toBe(0)
    expect(run.outputs.deployed).toBe('true')
    expect(run.outputs.verified).toBe('true')
    expect(verifyOf(run)).toEqual({
      qualifier: '1',
      executedVersion: '1',
      outcome: 'passed',
      passed: true
    })
    expect(run.stdout).toContain(`Verify invoke of ${fn.name}:1 passed`)
    // The log tail Lambda returns (LogType Tail) is shown, decoded.
    expect(run.stdout).toContain(`::group::Log tail of ${fn.name}:1`)
    expect(run.stdout).toMatch(/START RequestId: [0-9a-f-]+ Version: 1/)
    expect(run.summary).toContain('Verify invoke')
    expect(run.summary).toContain('passed')
    expectNoCredentialLeft(run)
    const calls = (await sandbox.control.calls()).filter(call => call.operation === 'Invoke')
    expect(calls.filter(call => call.status === 200)).toHaveLength(1)
  })

  it('fails the step on a function error, with the error and the log tail; the deploy stays', async () => {
    // A Node.js handler that throws OrderNotFound.
    const fn = await seed('verify-error', 'smoke-error-response')
    const run = await sandbox.run({
      'function-name': fn.name,
      image: fn.image,
      'verify-event': '{"orderId": "A-17"}'
    })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('::error::[verify-invoke-failed]')
    expect(run.stdout).toContain('the function failed (Unhandled)')
    expect(run.stdout).toContain('order A-17 does not exist')
    expect(run.stdout).toContain(`Log tail of ${fn.name}:$LATEST`)
    expect(run.stdout).toMatch(/START RequestId: [0-9a-f-]+ Version: \$LATEST/)
    expect(run.stdout).toMatch(/END RequestId: [0-9a-f-]+/)
    // The function's own output, as the runtime logged it: the tail is the container's log.
    expect(run.stdout).toMatch(/ERROR\tInvoke Error \t\{"errorType":"OrderNotFound"/)
    expect(run.outputs.deployed).toBe('true')
    expect(run.outputs.verified).toBe('false')
    expect(verifyOf(run)).toMatchObject({
      qualifier: '$LATEST',
      executedVersion: '$LATEST',
      outcome: 'function-error',
      passed: false
    })
    expect(run.summary).toContain('function-error')
    expect(run.summary).toContain('Log tail of')
  })

  it('fails the step when the response does not match verify-expect, showing the log tail', async () => {
    const fn = await seed('verify-mismatch', 'smoke-good')
    const run = await sandbox.run({
      'function-name': fn.name,
      image: fn.image,
      'verify-event': '{"orderId": 42}',
      'verify-expect': 'subset {"env": {"GREETING": "goodbye"}}'
    })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('::error::[verify-invoke-failed]')
    expect(run.stdout).toContain(
      'the response is not what verify-expect says: $.env.GREETING: expected "goodbye", got "hello"'
    )
    expect(run.stdout).toMatch(/REPORT RequestId: [0-9a-f-]+\tDuration: [\d.]+ ms/)
    expect(verifyOf(run)).toMatchObject({ outcome: 'unexpected-response', passed: false })
    expect(run.outputs.verified).toBe('false')
  })

  it('waits for the update before invoking, even with wait: false', async () => {
    const fn = await seed('verify-wait', 'smoke-good')
    // The stand-in refuses Invoke while an update is InProgress, so an invoke that did not
    // wait would fail here.
    await sandbox.control.setUpdateDelay(3000)
    try {
      const run = await sandbox.run({
        'function-name': fn.name,
        image: fn.image,
        wait: 'false',
        'verify-event': '{}'
      })
      if (run.exitCode !== 0) console.log(run.stdout)
      expect(run.exitCode).toBe(0)
      expect(run.outputs.verified).toBe('true')
    } finally {
      await sandbox.control.setUpdateDelay(0)
    }
  })

  it('in dry-run, says it would invoke and invokes nothing', async () => {
    const fn = await seed('verify-dry', 'smoke-good')
    await sandbox.control.clearCalls()
    const run = await sandbox.run({
      'function-name': fn.name,
      image: fn.image,
      'dry-run': 'true',
      'verify-event': '{}'
    })
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain(`Dry run: would invoke ${fn.name} once with verify-event (inline)`)
    expect(run.outputs.verified).toBeUndefined()
    expect(await sandbox.callsTo('Invoke')).toBe(0)
  })
})
