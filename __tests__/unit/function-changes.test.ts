import { describe, expect, it } from '@jest/globals'
import { aliasChange, settingsChange } from '../../src/domain/function-changes.js'
import { overridesFor, parseFunctionOverrides } from '../../src/domain/function-overrides.js'
import { ActionError } from '../../src/domain/errors.js'

describe('parseFunctionOverrides', () => {
  it('reads per-function settings and the * entry', () => {
    const parsed = parseFunctionOverrides(
      '"*":\n  environment: { STAGE: prod, RETRIES: 3 }\napi:\n  command: app.api\n  working-directory: /var/task\n'
    )
    expect(parsed.get('*')).toEqual({ environment: { STAGE: 'prod', RETRIES: '3' } })
    expect(parsed.get('api')).toEqual({ command: ['app.api'], workingDirectory: '/var/task' })
    expect(overridesFor(parsed, ['api'])).toEqual({
      command: ['app.api'],
      workingDirectory: '/var/task',
      environment: { STAGE: 'prod', RETRIES: '3' }
    })
    expect(overridesFor(parsed, ['other'])).toEqual({
      environment: { STAGE: 'prod', RETRIES: '3' }
    })
  })

  it.each([
    ['not YAML', 'a: ['],
    ['a list', '- a\n- b'],
    ['an entry that is a string', 'api: yes'],
    ['an unknown setting', 'api:\n  handler: x'],
    ['a relative entrypoint', 'api:\n  entrypoint: [run.sh]'],
    ['a relative working directory', 'api:\n  working-directory: task'],
    ['a command of numbers', 'api:\n  command: [1, 2]'],
    ['a reserved variable', 'api:\n  environment: { AWS_LAMBDA_FUNCTION_NAME: x }'],
    ['a variable name with a dash', 'api:\n  environment: { MY-VAR: x }'],
    ['a variable set to a mapping', 'api:\n  environment: { A: { b: c } }']
  ])('refuses %s', (_, text) => {
    expect(() => parseFunctionOverrides(text)).toThrow(ActionError)
  })
})

describe('settingsChange', () => {
  const current = {
    command: ['app.old'],
    environment: { KEEP: '1', STAGE: 'dev' }
  }

  it('is undefined when everything asked for is already so', () => {
    expect(settingsChange(current, { command: ['app.old'], environment: { STAGE: 'dev' } })).toBe(
      undefined
    )
  })

  it('sends the whole ImageConfig and keeps the variables it was not asked to change', () => {
    const change = settingsChange(
      { ...current, workingDirectory: '/var/task' },
      { command: ['app.new'], environment: { STAGE: 'prod', NEW: 'x' } }
    )
    expect(change?.imageConfig).toEqual({
      entryPoint: undefined,
      command: ['app.new'],
      workingDirectory: '/var/task'
    })
    expect(change?.environment).toEqual({ KEEP: '1', STAGE: 'prod', NEW: 'x' })
    expect(change?.changes).toEqual([
      'Command ["app.old"] → ["app.new"]',
      'STAGE changed',
      'NEW added'
    ])
  })

  it('leaves ImageConfig alone when only variables change', () => {
    expect(settingsChange(current, { environment: { STAGE: 'prod' } })?.imageConfig).toBeUndefined()
  })
})

describe('aliasChange', () => {
  const live = { functionVersion: '3', weights: {}, revisionId: 'r1' }

  it.each([
    ['creates a missing alias on the new version', undefined, '4', undefined, 'create', '4', {}],
    ['moves an alias outright', live, '4', undefined, 'update', '4', {}],
    [
      'keeps the alias and splits traffic for a canary',
      live,
      '4',
      0.1,
      'update',
      '3',
      { '4': 0.1 }
    ],
    [
      'creates a new alias on the new version even with a weight',
      undefined,
      '4',
      0.1,
      'create',
      '4',
      {}
    ],
    [
      'ends a canary by moving the alias',
      { ...live, weights: { '4': 0.1 } },
      '4',
      undefined,
      'update',
      '4',
      {}
    ],
    [
      'does nothing when the alias is already there',
      { ...live, functionVersion: '4' },
      '4',
      undefined,
      'none',
      '4',
      {}
    ]
  ] as const)('%s', (_, current, version, weight, action, functionVersion, weights) => {
    const change = aliasChange(current, version, weight)
    expect(change.action).toBe(action)
    expect(change.functionVersion).toBe(functionVersion)
    expect(change.weights).toEqual(weights)
  })
})
