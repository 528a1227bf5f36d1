import { ActionError } from './errors.js'
import { MAX_SYNC_PAYLOAD_BYTES } from './lambda-runtime.js'
import {
  parseExpectations,
  readJsonItem,
  type InputFileReader,
  type InputReader,
  type ResponseExpectation
} from './smoke-test-settings.js'

/**
 * The verify inputs: one real invocation of each deployed function after the deploy.
 *
 * - `verify-event`: the event, inline JSON or the path of a file holding one JSON document.
 *   Empty: no verify invoke (it runs the function in production, so it is never a default).
 * - `verify-expect`: what the response must be, as smoke-test-expect: `equals JSON`,
 *   `subset JSON` or `any` (default `any`: only a function error or a failed call fails).
 */
export interface VerifySettings {
  /** Where the event came from, for messages: `verify-event (inline)` or the file path. */
  readonly label: string
  /** The event as sent: compact JSON. */
  readonly payload: string
  readonly expect: ResponseExpectation
}

export function parseVerifySettings(
  read: InputReader,
  readFile: InputFileReader
): VerifySettings | undefined {
  const event = read('verify-event').trim()
  const expect = read('verify-expect').trim()
  if (event === '') {
    if (expect !== '') {
      throw new ActionError(
        'verify-expect-without-event',
        'verify-expect is set but verify-event is not; there is nothing to invoke the functions with.',
        'Set verify-event to the event to invoke each deployed function with, or remove verify-expect.'
      )
    }
    return undefined
  }
  const document = readJsonItem(event, readFile)
  if (!document.ok) {
    throw new ActionError(
      'invalid-verify-event',
      `verify-event ${document.problem}`,
      'Give one event as inline JSON, or the path of a file that holds one JSON document.'
    )
  }
  const payload = JSON.stringify(document.value)
  const bytes = Buffer.byteLength(payload)
  if (bytes > MAX_SYNC_PAYLOAD_BYTES) {
    throw new ActionError(
      'verify-event-too-large',
      `verify-event is ${bytes} bytes; Lambda takes at most ${MAX_SYNC_PAYLOAD_BYTES} bytes (6 MB) in a synchronous invocation.`,
      'Send a smaller event.'
    )
  }
  // More than one line is refused there: there is one event.
  const expectations = parseExpectations(expect, 1, readFile, 'verify-expect')
  return {
    label: `verify-event (${document.file ?? 'inline'})`,
    payload,
    expect: expectations[0] ?? { kind: 'any' }
  }
}
