import { describe, expect, it } from '@jest/globals'
import { maskSecrets, secretValues } from '../../src/domain/secret-mask.js'

describe('secretValues', () => {
  it('takes values of 8 characters or more, and each line of a multi-line value', () => {
    expect(
      secretValues({ SHORT: 'prod', TOKEN: 'tok-12345678', KEY: 'line-one-x\nline-two-y' })
    ).toEqual(['line-one-x\nline-two-y', 'tok-12345678', 'line-one-x', 'line-two-y'])
  })
})

describe('maskSecrets', () => {
  it('replaces every occurrence, a longer secret before a shorter one inside it', () => {
    const secrets = secretValues({ A: 'abcdefgh', B: 'xx-abcdefgh-yy' })
    expect(maskSecrets('abcdefgh and xx-abcdefgh-yy, abcdefgh', secrets)).toBe('*** and ***, ***')
  })

  it('leaves text without secrets as it is', () => {
    expect(maskSecrets('nothing here', ['abcdefgh'])).toBe('nothing here')
  })
})
