import { describe, expect, it } from '@jest/globals'
import {
  executionRoleArn,
  parseFunctionCreation,
  parseRepositoryCreation
} from '../../src/domain/create-missing.js'
import { ActionError } from '../../src/domain/errors.js'

const reader = (inputs: Record<string, string>) => (name: string) => inputs[name] ?? ''

function errorId(parse: () => unknown): string | undefined {
  try {
    parse()
  } catch (error) {
    return error instanceof ActionError ? error.id : `not an ActionError: ${String(error)}`
  }
  return undefined
}

describe('parseFunctionCreation', () => {
  it('creates nothing unless create-function-role is set', () => {
    expect(parseFunctionCreation(reader({}))).toBeUndefined()
  })

  it("uses Lambda's own defaults (128 MB, 3 s) when only the role is given", () => {
    expect(parseFunctionCreation(reader({ 'create-function-role': 'lambda-exec' }))).toEqual({
      role: 'lambda-exec',
      memoryMb: 128,
      timeoutSeconds: 3
    })
  })

  it('takes a role ARN, memory and timeout at the edges of Lambda’s limits', () => {
    expect(
      parseFunctionCreation(
        reader({
          'create-function-role': 'arn:aws:iam::123456789012:role/service-role/exec',
          'create-function-memory': '10240',
          'create-function-timeout': '900'
        })
      )
    ).toEqual({
      role: 'arn:aws:iam::123456789012:role/service-role/exec',
      memoryMb: 10240,
      timeoutSeconds: 900
    })
    expect(
      parseFunctionCreation(
        reader({
          'create-function-role': 'exec',
          'create-function-memory': '128',
          'create-function-timeout': '1'
        })
      )
    ).toMatchObject({ memoryMb: 128, timeoutSeconds: 1 })
  })

  it.each([
    ['memory below 128 MB', { 'create-function-memory': '127' }, 'invalid-create-function-memory'],
    [
      'memory above 10240 MB',
      { 'create-function-memory': '10241' },
      'invalid-create-function-memory'
    ],
    ['memory with a unit', { 'create-function-memory': '1GB' }, 'invalid-create-function-memory'],
    ['a zero timeout', { 'create-function-timeout': '0' }, 'invalid-create-function-timeout'],
    [
      'a timeout over 900 s',
      { 'create-function-timeout': '901' },
      'invalid-create-function-timeout'
    ],
    [
      'a fractional timeout',
      { 'create-function-timeout': '2.5' },
      'invalid-create-function-timeout'
    ],
    [
      'a role that is not a name or ARN',
      { 'create-function-role': 'no spaces' },
      'invalid-create-function-role'
    ],
    [
      'a role ARN of another service',
      { 'create-function-role': 'arn:aws:iam::123456789012:user/exec' },
      'invalid-create-function-role'
    ]
  ])('refuses %s', (_name, inputs, id) => {
    expect(
      errorId(() => parseFunctionCreation(reader({ 'create-function-role': 'exec', ...inputs })))
    ).toBe(id)
  })

  it.each(['create-function-memory', 'create-function-timeout'])(
    'refuses %s without create-function-role',
    name => {
      expect(errorId(() => parseFunctionCreation(reader({ [name]: '256' })))).toBe(
        `${name}-without-role`
      )
    }
  )
})

describe('parseRepositoryCreation', () => {
  it('creates nothing by default or with false', () => {
    expect(parseRepositoryCreation(reader({}))).toBeUndefined()
    expect(parseRepositoryCreation(reader({ 'create-repository': 'false' }))).toBeUndefined()
  })

  it('defaults the tag mutability to MUTABLE and takes IMMUTABLE', () => {
    expect(parseRepositoryCreation(reader({ 'create-repository': 'true' }))).toEqual({
      tagMutability: 'MUTABLE'
    })
    expect(
      parseRepositoryCreation(
        reader({ 'create-repository': 'TRUE', 'create-repository-tag-mutability': 'IMMUTABLE' })
      )
    ).toEqual({ tagMutability: 'IMMUTABLE' })
  })

  it.each([
    [
      'a create-repository that is not a boolean',
      { 'create-repository': 'yes' },
      'invalid-create-repository'
    ],
    [
      'a tag mutability ECR does not have',
      { 'create-repository': 'true', 'create-repository-tag-mutability': 'immutable' },
      'invalid-create-repository-tag-mutability'
    ],
    [
      'a tag mutability without create-repository',
      { 'create-repository-tag-mutability': 'IMMUTABLE' },
      'create-repository-tag-mutability-without-create-repository'
    ]
  ])('refuses %s', (_name, inputs, id) => {
    expect(errorId(() => parseRepositoryCreation(reader(inputs)))).toBe(id)
  })
})

describe('executionRoleArn', () => {
  it("puts a role name in the function's account and partition, and keeps an ARN", () => {
    expect(executionRoleArn('exec', 'aws', '123456789012')).toBe(
      'arn:aws:iam::123456789012:role/exec'
    )
    expect(executionRoleArn('exec', 'aws-cn', '123456789012')).toBe(
      'arn:aws-cn:iam::123456789012:role/exec'
    )
    expect(executionRoleArn('arn:aws:iam::999999999999:role/x', 'aws', '123456789012')).toBe(
      'arn:aws:iam::999999999999:role/x'
    )
  })
})
