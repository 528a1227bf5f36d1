import { describe, expect, it } from '@jest/globals'
import { ActionError } from '../../src/domain/errors.js'
import { parseVerifySettings } from '../../src/domain/verify-settings.js'

function parse(inputs: Record<string, string>, files: Record<string, string> = {}) {
  return parseVerifySettings(
    name => inputs[name] ?? '',
    file => {
      const content = files[file]
      if (content === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' })
      return content
    }
  )
}

function errorId(inputs: Record<string, string>, files?: Record<string, string>): string {
  try {
    parse(inputs, files)
  } catch (error) {
    return error instanceof ActionError ? error.id : `not an ActionError: ${String(error)}`
  }
  return 'no error'
}

describe('parseVerifySettings', () => {
  it('is off without verify-event: nothing is invoked unless asked', () => {
    expect(parse({})).toBeUndefined()
  })

  it('takes an inline event, compacted, and accepts any response by default', () => {
    expect(parse({ 'verify-event': ' { "orderId" : 42 } ' })).toEqual({
      label: 'verify-event (inline)',
      payload: '{"orderId":42}',
      expect: { kind: 'any' }
    })
  })

  it('reads the event from a JSON file', () => {
    const settings = parse(
      { 'verify-event': 'events/order.json' },
      {
        'events/order.json': '{"orderId": "A-1"}'
      }
    )
    expect(settings).toMatchObject({
      label: 'verify-event (events/order.json)',
      payload: '{"orderId":"A-1"}'
    })
  })

  it('parses verify-expect as smoke-test-expect does', () => {
    expect(parse({ 'verify-event': '{}', 'verify-expect': 'subset {"ok": true}' })?.expect).toEqual(
      { kind: 'subset', value: { ok: true }, source: 'line 1' }
    )
    expect(
      parse(
        { 'verify-event': '{}', 'verify-expect': 'equals expected.json' },
        {
          'expected.json': '[1, 2]'
        }
      )?.expect
    ).toEqual({ kind: 'equals', value: [1, 2], source: 'expected.json' })
    expect(parse({ 'verify-event': '{}', 'verify-expect': 'any' })?.expect).toEqual({
      kind: 'any'
    })
  })

  it.each([
    [{ 'verify-expect': 'any' }, 'verify-expect-without-event'],
    [{ 'verify-event': '{"orderId": 4' }, 'invalid-verify-event'],
    [{ 'verify-event': 'missing.json' }, 'invalid-verify-event'],
    [{ 'verify-event': '{}', 'verify-expect': 'contains {}' }, 'invalid-verify-expect'],
    [{ 'verify-event': '{}', 'verify-expect': 'equals {oops' }, 'invalid-verify-expect'],
    [{ 'verify-event': '{}', 'verify-expect': 'any\nany' }, 'invalid-verify-expect'],
    [{ 'verify-event': JSON.stringify('x'.repeat(6 * 1024 * 1024)) }, 'verify-event-too-large']
  ])('refuses %j with %s before anything runs', (inputs, id) => {
    expect(errorId(inputs)).toBe(id)
  })
})
