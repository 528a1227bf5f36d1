import { describe, expect, it } from '@jest/globals'
import {
  explainSmokeTestFailure,
  findMismatch,
  LOG_TAIL_LINES,
  type SmokeTestFailure
} from '../../src/domain/smoke-test-outcome.js'
import type { JsonValue } from '../../src/domain/smoke-test-settings.js'

const equals = (value: JsonValue) => ({ kind: 'equals' as const, value, source: 'line 1' })
const subset = (value: JsonValue) => ({ kind: 'subset' as const, value, source: 'line 1' })

describe('findMismatch', () => {
  it('accepts anything without an expectation, JSON or not', () => {
    expect(findMismatch({ kind: 'any' }, 'not json')).toBeUndefined()
  })

  it.each<[string, JsonValue, string]>([
    ['ignores object key order', { a: 1, b: [1, 2] }, '{"b":[1,2],"a":1}'],
    ['compares scalars', 'ok', '"ok"'],
    ['compares null', null, 'null']
  ])('equals %s', (_name, value, response) => {
    expect(findMismatch(equals(value), response)).toBeUndefined()
  })

  it.each<[JsonValue, string, string]>([
    [{ a: 1 }, '{"a":1,"b":2}', '$.b: not expected'],
    [{ a: { b: 1 } }, '{"a":{"b":2}}', '$.a.b: expected 1, got 2'],
    [{ a: 1 }, '{}', '$.a: missing (expected 1)'],
    [[1, 2], '[1]', '$: expected an array of 2, got 1 elements'],
    [1, '"1"', '$: expected 1, got "1"'],
    [{ a: 1 }, '[]', '$: expected {"a":1}, got []']
  ])('equals %j against %s finds "%s"', (value, response, mismatch) => {
    expect(findMismatch(equals(value), response)).toBe(mismatch)
  })

  it('says a response that is not JSON is not JSON', () => {
    expect(findMismatch(equals({ a: 1 }), 'hello')).toBe('the response is not JSON: hello')
  })

  it('lets subset ignore keys the expectation does not name, at any depth', () => {
    const response = '{"statusCode":200,"headers":{"a":"1","b":"2"},"body":"x"}'
    expect(findMismatch(subset({ statusCode: 200, headers: { a: '1' } }), response)).toBe(undefined)
  })

  it('reads a JSON string body (API Gateway proxy response) as JSON for subset', () => {
    const response = JSON.stringify({ statusCode: 200, body: JSON.stringify({ ok: true, n: 1 }) })
    expect(findMismatch(subset({ body: { ok: true } }), response)).toBeUndefined()
    expect(findMismatch(subset({ body: { ok: false } }), response)).toBe(
      '$.body.ok: expected false, got true'
    )
  })

  it('matches arrays element by element under subset', () => {
    expect(findMismatch(subset([{ id: 1 }, {}]), '[{"id":1,"x":2},{"y":3}]')).toBeUndefined()
    expect(findMismatch(subset([{ id: 1 }]), '[{"id":2}]')).toBe('$[0].id: expected 1, got 2')
  })
})

const context = { memoryMb: 128, log: ['START', 'doing work'] }

function explain(failure: SmokeTestFailure, log: readonly string[] = context.log) {
  return explainSmokeTestFailure(failure, { ...context, log })
}

describe('explainSmokeTestFailure', () => {
  it('shows errorType and errorMessage of an error response, and the log', () => {
    const error = explain({
      kind: 'function-error',
      event: 'event 1 (line 1)',
      errorType: 'OrderNotFound',
      errorMessage: 'order 42 does not exist'
    })
    expect(error.id).toBe('smoke-test-function-error')
    expect(error.reason).toContain(
      'returned an error for event 1 (line 1): OrderNotFound: order 42 does not exist'
    )
    expect(error.reason).toContain("Last 2 lines of the container's output:\n  START\n  doing work")
  })

  it('names a write outside /tmp as such, with the path, whatever error it caused', () => {
    const error = explain({
      kind: 'function-error',
      event: 'event 1',
      errorType: 'Error',
      errorMessage: "EROFS: read-only file system, open '/var/task/cache.json'"
    })
    expect(error.id).toBe('smoke-test-read-only-file-system')
    expect(error.reason).toContain(
      'wrote outside /tmp while handling event 1 (/var/task/cache.json)'
    )
  })

  it('finds a read-only file system in the log of a crashed shell runtime', () => {
    const error = explain({ kind: 'exited', exitCode: 1, outOfMemory: false }, [
      "sh: can't create /var/runtime/state: Read-only file system"
    ])
    expect(error.id).toBe('smoke-test-read-only-file-system')
    expect(error.reason).toContain('during init (/var/runtime/state)')
  })

  it('names a permission error as running without root', () => {
    const error = explain({
      kind: 'init-error',
      errorType: 'Error',
      errorMessage: "EACCES: permission denied, open '/var/task/settings.json'"
    })
    expect(error.id).toBe('smoke-test-permission-denied')
    expect(error.reason).toContain('during init, running as a non-root user (uid 993)')
  })

  it('finds permission denied in the log when the entrypoint cannot be run', () => {
    const error = explain({ kind: 'exited', exitCode: 126, outOfMemory: false }, [
      'exec /entrypoint.sh: permission denied'
    ])
    expect(error.id).toBe('smoke-test-permission-denied')
  })

  it('reports an init error that is neither', () => {
    const error = explain({
      kind: 'init-error',
      errorType: 'Runtime.ImportModuleError',
      errorMessage: "Cannot find module 'index'"
    })
    expect(error.id).toBe('smoke-test-init-error')
    expect(error.reason).toContain("Runtime.ImportModuleError: Cannot find module 'index'")
  })

  it('reports an exit before the first event, and one while handling an event', () => {
    const atInit = explain({ kind: 'exited', exitCode: 3, outOfMemory: false })
    expect(atInit.id).toBe('smoke-test-exited')
    expect(atInit.reason).toContain('exited with code 3 during init, without asking for an event')
    const atEvent = explain({ kind: 'exited', event: 'event 2', exitCode: 1, outOfMemory: false })
    expect(atEvent.reason).toContain(
      'exited with code 1 while handling event 2, without a response'
    )
  })

  it('reports an out-of-memory kill with the memory size', () => {
    const error = explain({ kind: 'exited', event: 'event 1', exitCode: 137, outOfMemory: true })
    expect(error.id).toBe('smoke-test-out-of-memory')
    expect(error.reason).toContain('ran out of its 128 MB of memory while handling event 1')
  })

  it('reports time-outs of init and of an invocation', () => {
    expect(explain({ kind: 'init-timeout', seconds: 10 }).reason).toContain(
      'did not ask for an event within 10 seconds'
    )
    const timeout = explain({ kind: 'timeout', event: 'event 1', seconds: 3 })
    expect(timeout.id).toBe('smoke-test-timeout')
    expect(timeout.reason).toContain('did not respond to event 1 within 3 seconds')
  })

  it('keeps a time-out a time-out even when the log mentions a permission error', () => {
    const error = explain({ kind: 'timeout', event: 'event 1', seconds: 3 }, [
      'retrying after EACCES'
    ])
    expect(error.id).toBe('smoke-test-timeout')
  })

  it('reports a response that does not match', () => {
    const error = explain({
      kind: 'unexpected-response',
      event: 'event 1',
      mismatch: '$.a: expected 1, got 2'
    })
    expect(error.id).toBe('smoke-test-unexpected-response')
    expect(error.reason).toContain('$.a: expected 1, got 2')
  })

  it(`keeps only the last ${LOG_TAIL_LINES} lines of the log`, () => {
    const log = Array.from({ length: 100 }, (_, index) => `line ${index}`)
    const error = explain({ kind: 'timeout', event: 'event 1', seconds: 3 }, log)
    expect(error.reason).toContain(`Last ${LOG_TAIL_LINES} lines`)
    expect(error.reason).toContain('line 99')
    expect(error.reason).not.toContain('line 74\n')
    expect(error.reason).toContain('line 75')
  })

  it('says when the container wrote nothing', () => {
    const error = explain({ kind: 'exited', exitCode: 1, outOfMemory: false }, [])
    expect(error.reason).toContain('The container wrote no output.')
  })
})
