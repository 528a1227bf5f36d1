import { ActionError } from './errors.js'
import { MAX_FUNCTION_TIMEOUT_SECONDS, MAX_SYNC_PAYLOAD_BYTES } from './lambda-runtime.js'

/**
 * The smoke-test inputs, parsed and validated before anything is built:
 *
 * - `smoke-test`: `true` or `false` (default `false`).
 * - `smoke-test-events`: the events to send, in order. Either one JSON document (an array is a
 *   list of events, anything else is one event), or one event per line: inline JSON, or the path
 *   of a file holding one JSON event. Default: one event, `{}`.
 * - `smoke-test-expect`: what the responses must be. One line per event, or one line for all:
 *   `equals JSON`, `subset JSON` (JSON may also be a file path), or `any`.
 * - `smoke-test-timeout`: the longest an invocation may take (seconds, `30s`, `2m`); the
 *   function's own timeout applies when it is shorter. Default 60 seconds.
 */
export interface SmokeTestSettings {
  readonly enabled: boolean
  readonly events: readonly SmokeTestEvent[]
  /** Seconds one invocation may take at most. */
  readonly timeoutSeconds: number
}

export interface SmokeTestEvent {
  /** Where the event came from, for messages: `event 2 (line 2)` or `event 1 (events/a.json)`. */
  readonly label: string
  /** The event as sent: compact JSON. */
  readonly payload: string
  readonly expect: ResponseExpectation
}

export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue }

/**
 * `equals`: the response, read as JSON, is the value (object key order aside).
 * `subset`: every key the value names is in the response with a matching value; arrays match
 * element by element and must be as long; a string in the response that holds JSON (an API
 * Gateway `body`) is read as that JSON when the value there is an object or array.
 */
export type ResponseExpectation =
  | { readonly kind: 'any' }
  | { readonly kind: 'equals' | 'subset'; readonly value: JsonValue; readonly source: string }

export type InputReader = (name: string) => string
/** Reads a file named in an input (relative to the working directory); throws when it cannot. */
export type InputFileReader = (path: string) => string

export const DEFAULT_SMOKE_TEST_TIMEOUT_SECONDS = 60
const DEFAULT_EVENT = '{}'

export function parseSmokeTestSettings(
  read: InputReader,
  readFile: InputFileReader
): SmokeTestSettings {
  const enabled = parseEnabled(read('smoke-test').trim())
  const timeoutSeconds = parseTimeout(read('smoke-test-timeout').trim())
  if (!enabled) return { enabled, events: [], timeoutSeconds }
  const documents = parseEvents(read('smoke-test-events'), readFile)
  const expectations = parseExpectations(read('smoke-test-expect'), documents.length, readFile)
  const events = documents.map((document, index) => ({
    ...document,
    expect: expectations[expectations.length === 1 ? 0 : index] ?? { kind: 'any' as const }
  }))
  return { enabled, events, timeoutSeconds }
}

function parseEnabled(value: string): boolean {
  if (value === '' || /^false$/i.test(value)) return false
  if (/^true$/i.test(value)) return true
  throw new ActionError(
    'invalid-smoke-test',
    `smoke-test is "${value}", not true or false.`,
    'Set smoke-test to true or false.'
  )
}

const DURATION = /^(\d+)\s*(s|m)?$/i

function parseTimeout(value: string): number {
  if (value === '') return DEFAULT_SMOKE_TEST_TIMEOUT_SECONDS
  const match = DURATION.exec(value)
  const seconds = match ? Number(match[1]) * (/^m$/i.test(match[2] ?? '') ? 60 : 1) : NaN
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_FUNCTION_TIMEOUT_SECONDS) {
    throw new ActionError(
      'invalid-smoke-test-timeout',
      `smoke-test-timeout "${value}" is not a duration from 1 second to ${MAX_FUNCTION_TIMEOUT_SECONDS / 60} minutes (Lambda's longest timeout).`,
      'Give seconds (30) or a duration with a unit (30s, 2m).'
    )
  }
  return seconds
}

interface EventDocument {
  readonly label: string
  readonly payload: string
}

function parseEvents(value: string, readFile: InputFileReader): EventDocument[] {
  if (value.trim() === '') return [{ label: 'event 1 ({})', payload: DEFAULT_EVENT }]
  const whole = tryJson(value)
  if (whole.ok) {
    const values = Array.isArray(whole.value) ? whole.value : [whole.value]
    if (values.length === 0) {
      throw new ActionError(
        'invalid-smoke-test-events',
        'smoke-test-events is an empty JSON array, so there is no event to send.',
        'Give at least one event, or leave smoke-test-events empty to send {}.'
      )
    }
    return values.map((event, index) => checkedEvent(`event ${index + 1}`, JSON.stringify(event)))
  }
  return lines(value).map(({ text, number }, index) => {
    const label = `event ${index + 1}`
    const document = readJsonItem(text, readFile)
    if (!document.ok) {
      throw new ActionError(
        'invalid-smoke-test-events',
        `smoke-test-events line ${number} ${document.problem}`,
        'Give one event per line, as inline JSON or as the path of a file that holds one JSON document (or the whole input as one JSON array of events).'
      )
    }
    return checkedEvent(
      `${label} (${document.file ?? `line ${number}`})`,
      JSON.stringify(document.value)
    )
  })
}

function checkedEvent(label: string, payload: string): EventDocument {
  const bytes = Buffer.byteLength(payload)
  if (bytes > MAX_SYNC_PAYLOAD_BYTES) {
    throw new ActionError(
      'smoke-test-event-too-large',
      `smoke-test-events ${label} is ${bytes} bytes; Lambda takes at most ${MAX_SYNC_PAYLOAD_BYTES} bytes (6 MB) in a synchronous invocation.`,
      'Send a smaller event.'
    )
  }
  return { label, payload }
}

export function parseExpectations(
  value: string,
  eventCount: number,
  readFile: InputFileReader,
  input = 'smoke-test-expect'
): ResponseExpectation[] {
  const items = lines(value)
  if (items.length === 0) return []
  if (items.length !== 1 && items.length !== eventCount) {
    throw new ActionError(
      `invalid-${input}`,
      `${input} has ${items.length} lines for ${eventCount} events.`,
      'Give one line per event (in the order of smoke-test-events; "any" for an event without an expectation), or a single line for every event.'
    )
  }
  return items.map(({ text, number }) => {
    const match = /^(equals|subset|any)(?:\s+(.*))?$/i.exec(text)
    const kind = match?.[1]?.toLowerCase()
    const rest = match?.[2]?.trim() ?? ''
    if (kind === 'any' && rest === '') return { kind: 'any' }
    if ((kind === 'equals' || kind === 'subset') && rest !== '') {
      const document = readJsonItem(rest, readFile)
      if (document.ok) {
        return { kind, value: document.value, source: document.file ?? `line ${number}` }
      }
      throw new ActionError(
        `invalid-${input}`,
        `${input} line ${number}: the ${kind} value ${document.problem}`,
        'Write `equals JSON` or `subset JSON`, where JSON is inline or the path of a JSON file.'
      )
    }
    throw new ActionError(
      `invalid-${input}`,
      `${input} line ${number} ("${text.slice(0, 60)}") is not "equals JSON", "subset JSON" or "any".`,
      'Write `equals JSON` or `subset JSON` (JSON inline, or the path of a JSON file), or `any`, one line per event.'
    )
  })
}

export type JsonItem =
  | { readonly ok: true; readonly value: JsonValue; readonly file?: string }
  | { readonly ok: false; readonly problem: string }

/**
 * Inline JSON, or the path of a JSON file. Text that starts like JSON (`{`, `[`, `"`) is never
 * taken for a path, so a typo in inline JSON is reported as such rather than as a missing file.
 */
export function readJsonItem(text: string, readFile: InputFileReader): JsonItem {
  const inline = tryJson(text)
  if (inline.ok) return inline
  if (/^[[{"]/.test(text)) return { ok: false, problem: `is not valid JSON: ${inline.problem}.` }
  let content: string
  try {
    content = readFile(text)
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable'
    return {
      ok: false,
      problem: `is neither JSON nor a readable file: ${text} (${reason}).`
    }
  }
  const parsed = tryJson(content)
  if (!parsed.ok) {
    return { ok: false, problem: `names ${text}, which is not valid JSON: ${parsed.problem}.` }
  }
  return { ...parsed, file: text }
}

function tryJson(text: string): { ok: true; value: JsonValue } | { ok: false; problem: string } {
  try {
    return { ok: true, value: JSON.parse(text) as JsonValue }
  } catch (error) {
    return { ok: false, problem: (error as Error).message }
  }
}

function lines(value: string): { text: string; number: number }[] {
  return value
    .split('\n')
    .map((line, index) => ({ text: line.trim(), number: index + 1 }))
    .filter(line => line.text !== '' && !line.text.startsWith('#'))
}
