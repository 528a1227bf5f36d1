import { describe, expect, it } from '@jest/globals'
import { ActionError } from '../../src/domain/errors.js'
import {
  DEFAULT_SMOKE_TEST_TIMEOUT_SECONDS,
  parseSmokeTestSettings
} from '../../src/domain/smoke-test-settings.js'

const files: Record<string, string> = {
  'events/order.json': '{\n  "orderId": 42\n}\n',
  'events/broken.json': '{ "orderId": ',
  'expect/order.json': '{"statusCode": 200}'
}

function parse(inputs: Record<string, string>) {
  return parseSmokeTestSettings(
    name => inputs[name] ?? '',
    path => {
      const content = files[path]
      if (content === undefined) {
        throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })
      }
      return content
    }
  )
}

function failure(inputs: Record<string, string>): ActionError {
  try {
    parse(inputs)
  } catch (error) {
    if (error instanceof ActionError) return error
    throw error
  }
  throw new Error('expected an ActionError')
}

const on = { 'smoke-test': 'true' }

describe('parseSmokeTestSettings', () => {
  it('is off by default, and then reads no event files', () => {
    expect(parse({ 'smoke-test-events': 'events/missing.json' })).toEqual({
      enabled: false,
      events: [],
      timeoutSeconds: DEFAULT_SMOKE_TEST_TIMEOUT_SECONDS
    })
  })

  it.each([
    ['true', true],
    ['TRUE', true],
    ['false', false],
    ['False', false]
  ])('reads smoke-test "%s" as %s', (value, enabled) => {
    expect(parse({ 'smoke-test': value }).enabled).toBe(enabled)
  })

  it('refuses a smoke-test value that is not a boolean', () => {
    expect(failure({ 'smoke-test': 'yes' }).id).toBe('invalid-smoke-test')
  })

  it('sends one empty object when no event is given', () => {
    expect(parse(on).events).toEqual([
      { label: 'event 1 ({})', payload: '{}', expect: { kind: 'any' } }
    ])
  })

  it('takes one event per line, inline JSON or a file, compacted', () => {
    const { events } = parse({
      ...on,
      'smoke-test-events': '{"a": 1}\n\n# a comment\nevents/order.json\n[1, 2]\n"text"'
    })
    expect(events.map(event => [event.label, event.payload])).toEqual([
      ['event 1 (line 1)', '{"a":1}'],
      ['event 2 (events/order.json)', '{"orderId":42}'],
      ['event 3 (line 5)', '[1,2]'],
      ['event 4 (line 6)', '"text"']
    ])
  })

  it('reads a whole JSON array as the list of events', () => {
    const { events } = parse({ ...on, 'smoke-test-events': '[\n  {"a": 1},\n  {"b": 2}\n]' })
    expect(events.map(event => event.payload)).toEqual(['{"a":1}', '{"b":2}'])
  })

  it('reads a pretty-printed object over several lines as one event', () => {
    const { events } = parse({ ...on, 'smoke-test-events': '{\n  "a": {\n    "b": 1\n  }\n}' })
    expect(events.map(event => event.payload)).toEqual(['{"a":{"b":1}}'])
  })

  it('names the line and the JSON error of broken inline JSON', () => {
    const error = failure({ ...on, 'smoke-test-events': '{"a": 1}\n{"a": }' })
    expect(error.id).toBe('invalid-smoke-test-events')
    expect(error.reason).toMatch(/^smoke-test-events line 2 is not valid JSON: /)
  })

  it('names a file that holds broken JSON', () => {
    const error = failure({ ...on, 'smoke-test-events': 'events/broken.json' })
    expect(error.id).toBe('invalid-smoke-test-events')
    expect(error.reason).toContain('names events/broken.json, which is not valid JSON')
  })

  it('names a file that cannot be read', () => {
    const error = failure({ ...on, 'smoke-test-events': 'events/missing.json' })
    expect(error.reason).toContain('neither JSON nor a readable file: events/missing.json (ENOENT)')
  })

  it('refuses an empty JSON array of events', () => {
    expect(failure({ ...on, 'smoke-test-events': '[]' }).id).toBe('invalid-smoke-test-events')
  })

  it('refuses an event over the 6 MB synchronous payload quota', () => {
    const big = JSON.stringify({ data: 'x'.repeat(6 * 1024 * 1024) })
    expect(failure({ ...on, 'smoke-test-events': big }).id).toBe('smoke-test-event-too-large')
  })

  it('pairs expectations with events line by line', () => {
    const { events } = parse({
      ...on,
      'smoke-test-events': '{"a": 1}\n{"b": 2}\n{"c": 3}',
      'smoke-test-expect': 'equals {"ok": true}\nany\nsubset expect/order.json'
    })
    expect(events.map(event => event.expect)).toEqual([
      { kind: 'equals', value: { ok: true }, source: 'line 1' },
      { kind: 'any' },
      { kind: 'subset', value: { statusCode: 200 }, source: 'expect/order.json' }
    ])
  })

  it('applies a single expectation to every event', () => {
    const { events } = parse({
      ...on,
      'smoke-test-events': '{"a": 1}\n{"b": 2}',
      'smoke-test-expect': 'subset {"statusCode": 200}'
    })
    expect(events.every(event => event.expect.kind === 'subset')).toBe(true)
  })

  it('refuses as many expectations as neither one nor the number of events', () => {
    const error = failure({
      ...on,
      'smoke-test-events': '{"a": 1}\n{"b": 2}\n{"c": 3}',
      'smoke-test-expect': 'any\nany'
    })
    expect(error.id).toBe('invalid-smoke-test-expect')
    expect(error.reason).toBe('smoke-test-expect has 2 lines for 3 events.')
  })

  it.each([
    ['contains {"a": 1}', 'is not "equals JSON", "subset JSON" or "any"'],
    ['equals', 'is not "equals JSON", "subset JSON" or "any"'],
    ['any {"a": 1}', 'is not "equals JSON", "subset JSON" or "any"'],
    ['subset {"a": }', 'the subset value is not valid JSON']
  ])('refuses the expectation "%s"', (line, message) => {
    const error = failure({ ...on, 'smoke-test-expect': line })
    expect(error.id).toBe('invalid-smoke-test-expect')
    expect(error.reason).toContain(message)
  })

  it.each([
    ['', DEFAULT_SMOKE_TEST_TIMEOUT_SECONDS],
    ['30', 30],
    ['45s', 45],
    ['2m', 120],
    ['15m', 900]
  ])('reads smoke-test-timeout "%s" as %i seconds', (value, seconds) => {
    expect(parse({ ...on, 'smoke-test-timeout': value }).timeoutSeconds).toBe(seconds)
  })

  it.each(['0', '901', '16m', '1h', 'soon', '-5'])('refuses smoke-test-timeout "%s"', value => {
    expect(failure({ ...on, 'smoke-test-timeout': value }).id).toBe('invalid-smoke-test-timeout')
  })
})
