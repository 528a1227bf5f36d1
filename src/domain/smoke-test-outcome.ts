import { ActionError } from './errors.js'
import { INIT_TIMEOUT_SECONDS, LAMBDA_USER } from './lambda-runtime.js'
import type { JsonValue, ResponseExpectation } from './smoke-test-settings.js'

/** Where a response and an expectation part ways, e.g. `$.body.ok: expected true, got false`. */
export function findMismatch(expect: ResponseExpectation, response: string): string | undefined {
  if (expect.kind === 'any') return undefined
  let actual: JsonValue
  try {
    actual = JSON.parse(response) as JsonValue
  } catch {
    return `the response is not JSON: ${clip(response, 200)}`
  }
  return compare(expect.value, actual, '$', expect.kind === 'subset')
}

function compare(
  expected: JsonValue,
  actual: JsonValue,
  path: string,
  subset: boolean
): string | undefined {
  if (subset && typeof actual === 'string' && expected !== null && typeof expected === 'object') {
    // API Gateway proxy responses carry their body as a JSON string.
    try {
      actual = JSON.parse(actual) as JsonValue
    } catch {
      return differs(path, expected, actual)
    }
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return differs(path, expected, actual)
    if (actual.length !== expected.length) {
      return `${path}: expected an array of ${expected.length}, got ${actual.length} elements`
    }
    const items: readonly JsonValue[] = expected
    for (const [index, item] of items.entries()) {
      const found = compare(item, actual[index] as JsonValue, `${path}[${index}]`, subset)
      if (found) return found
    }
    return undefined
  }
  if (isObject(expected)) {
    if (!isObject(actual)) return differs(path, expected, actual)
    for (const [key, value] of Object.entries(expected)) {
      const child = `${path}.${key}`
      if (!(key in actual)) return `${child}: missing (expected ${clip(JSON.stringify(value))})`
      const found = compare(value, actual[key] as JsonValue, child, subset)
      if (found) return found
    }
    if (!subset) {
      const extra = Object.keys(actual).find(key => !(key in expected))
      if (extra !== undefined) return `${path}.${extra}: not expected`
    }
    return undefined
  }
  return expected === actual ? undefined : differs(path, expected, actual)
}

function isObject(value: JsonValue): value is { readonly [key: string]: JsonValue } {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function differs(path: string, expected: JsonValue, actual: JsonValue): string {
  return `${path}: expected ${clip(JSON.stringify(expected))}, got ${clip(JSON.stringify(actual))}`
}

/** How one run of the image under the smoke test went wrong. */
export type SmokeTestFailure =
  | { readonly kind: 'init-error'; readonly errorType: string; readonly errorMessage: string }
  | { readonly kind: 'init-timeout'; readonly seconds: number }
  | {
      readonly kind: 'function-error'
      readonly event: string
      readonly errorType: string
      readonly errorMessage: string
    }
  | { readonly kind: 'timeout'; readonly event: string; readonly seconds: number }
  | {
      readonly kind: 'exited'
      /** The event being handled, if init had finished. */
      readonly event?: string
      readonly exitCode: number
      readonly outOfMemory: boolean
    }
  | { readonly kind: 'unexpected-response'; readonly event: string; readonly mismatch: string }

export interface FailureContext {
  readonly memoryMb: number
  /** The container's output, oldest first. */
  readonly log: readonly string[]
}

/** Lines of the container's output that go into an error. */
export const LOG_TAIL_LINES = 25

const READ_ONLY = /EROFS|read-only file system/i
const PERMISSION_DENIED = /EACCES|permission denied|operation not permitted|EPERM\b/i

/**
 * The error the user sees. A read-only file system or a permission error, found in the error the
 * runtime reported or in the container's output, is named as such: it is the cause, and the
 * crash or error response that follows is only its symptom.
 */
export function explainSmokeTestFailure(
  failure: SmokeTestFailure,
  context: FailureContext
): ActionError {
  const reported =
    failure.kind === 'init-error' || failure.kind === 'function-error'
      ? `${failure.errorType}: ${failure.errorMessage}`
      : ''
  const during = whereItFailed(failure)
  const tail = logTail(context.log)
  const evidence = (pattern: RegExp) =>
    pattern.test(reported) ? reported : context.log.find(line => pattern.test(line))

  if (
    failure.kind === 'init-error' ||
    failure.kind === 'function-error' ||
    failure.kind === 'exited'
  ) {
    const readOnly = evidence(READ_ONLY)
    if (readOnly !== undefined) {
      const path = writtenPath(readOnly)
      return new ActionError(
        'smoke-test-read-only-file-system',
        `The function wrote outside /tmp ${during}${path ? ` (${path})` : ''}: Lambda runs images on a read-only file system, so this fails on Lambda too. "${clip(readOnly, 300)}"${tail}`,
        'Write only under /tmp (for example set HOME, caches and temporary directories to /tmp), and create at build time whatever the function needs at a fixed path.'
      )
    }
    const denied = evidence(PERMISSION_DENIED)
    if (denied !== undefined && !(failure.kind === 'exited' && failure.outOfMemory)) {
      return new ActionError(
        'smoke-test-permission-denied',
        `The function was denied access to a file ${during}, running as a non-root user (uid ${LAMBDA_USER.uid}) as Lambda does: "${clip(denied, 300)}"${tail}`,
        'Make every file the function reads readable by all users, and programs and directories executable by all (e.g. COPY --chmod=644 for files, 755 for programs and directories); do not rely on root or on USER in the Dockerfile.'
      )
    }
  }

  switch (failure.kind) {
    case 'init-error':
      return new ActionError(
        'smoke-test-init-error',
        `The runtime reported an initialization error: ${clip(reported, 500)}${tail}`,
        'Fix the error above: check that the handler (CMD) names a module and function that exist, and that the code loads without the network or AWS credentials, which the smoke test does not give.'
      )
    case 'init-timeout':
      return new ActionError(
        'smoke-test-init-timeout',
        `The runtime did not ask for an event within ${seconds(failure.seconds)} of starting (Lambda allows ${INIT_TIMEOUT_SECONDS} seconds for init).${tail}`,
        'Check that the image starts a Lambda runtime (an AWS base image, or aws-lambda-ric / a runtime interface client as ENTRYPOINT) that reads AWS_LAMBDA_RUNTIME_API, and move slow start-up work out of init.'
      )
    case 'function-error':
      return new ActionError(
        'smoke-test-function-error',
        `The function returned an error for ${failure.event}: ${clip(reported, 500)}${tail}`,
        'Fix the handler, or change the event (smoke-test-events) to one the function accepts.'
      )
    case 'timeout':
      return new ActionError(
        'smoke-test-timeout',
        `The function did not respond to ${failure.event} within ${seconds(failure.seconds)}; the container was stopped.${tail}`,
        'Make the handler return before its deadline (context.getRemainingTimeInMillis()), or raise the function timeout / smoke-test-timeout if the work really takes that long.'
      )
    case 'exited':
      if (failure.outOfMemory) {
        return new ActionError(
          'smoke-test-out-of-memory',
          `The function ran out of its ${context.memoryMb} MB of memory ${during} and was killed.${tail}`,
          'Raise the function memory size, or make the function use less.'
        )
      }
      return new ActionError(
        'smoke-test-exited',
        `The container exited with code ${failure.exitCode} ${during}, without ${failure.event === undefined ? 'asking for an event' : 'a response'}.${tail}`,
        'Read the container output above; the entrypoint must keep a runtime loop going (an AWS base image, or a runtime interface client such as aws-lambda-ric), not run once and exit.'
      )
    case 'unexpected-response':
      return new ActionError(
        'smoke-test-unexpected-response',
        `The response to ${failure.event} is not what smoke-test-expect says: ${failure.mismatch}.`,
        'Fix the handler, or correct smoke-test-expect.'
      )
  }
}

function whereItFailed(failure: SmokeTestFailure): string {
  if (failure.kind === 'init-error' || failure.kind === 'init-timeout') return 'during init'
  if ('event' in failure && failure.event !== undefined) return `while handling ${failure.event}`
  return 'during init'
}

/** The path in `open '/var/task/x'` (Node) or `can't create /var/task/x:` (sh). */
function writtenPath(line: string): string | undefined {
  return (
    /'(\/[^']+)'/.exec(line)?.[1] ??
    /(?:create|open|touch|mkdir|write)\S*\s+'?(\/[^\s:']+)/i.exec(line)?.[1]
  )
}

function logTail(log: readonly string[]): string {
  const lines = log.filter(line => line.trim() !== '').slice(-LOG_TAIL_LINES)
  if (lines.length === 0) return ' The container wrote no output.'
  return `\nLast ${lines.length} lines of the container's output:\n${lines.map(line => `  ${clip(line, 400)}`).join('\n')}\n`
}

function seconds(count: number): string {
  return `${count} second${count === 1 ? '' : 's'}`
}

function clip(text: string, length = 120): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text
}
