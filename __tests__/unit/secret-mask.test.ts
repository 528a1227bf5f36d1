import { describe, expect, it } from '@jest/globals'
import { maskSecrets, secretValues } from '../../src/domain/secret-mask.js'

describe('secretValues', () => {
  it('takes values of 8 characters or more, and each line of a multi-line value', () => {
    expect(
      secretValues({ SHORT: 'prod', TOKEN: 'tok-12345678', KEY: 'line-one-x\nline-two-y' }, [])
    ).toEqual(['line-one-x\nline-two-y', 'tok-12345678', 'line-one-x', 'line-two-y'])
  })

  const published = [
    'arn:aws:lambda:eu-west-1:123456789012:function:orders-api',
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-images',
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-images@sha256:' + 'ab'.repeat(32)
  ]

  it.each([
    ['an account id', '123456789012'],
    ['a region', 'eu-west-1'],
    ['a function ARN', 'arn:aws:lambda:eu-west-1:123456789012:function:orders-api'],
    ['a function name', 'orders-api'],
    ['a repository URI', '123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-images'],
    ['a repository name', 'orders-images'],
    ['an image digest', 'sha256:' + 'ab'.repeat(32)]
  ])('does not take %s the run publishes for a secret', (_, value) => {
    expect(secretValues({ VALUE: value }, published)).toEqual([])
  })

  it('still takes a value the run does not publish, also one that holds a published value', () => {
    expect(
      secretValues(
        {
          ACCOUNT_ID: '123456789012',
          API_TOKEN: 'hunter2-very-secret',
          TOPIC: 'arn:aws:sns:eu-west-1:123456789012:orders-events'
        },
        published
      )
    ).toEqual(['arn:aws:sns:eu-west-1:123456789012:orders-events', 'hunter2-very-secret'])
  })

  it('judges each line of a multi-line value on its own', () => {
    expect(secretValues({ PAIR: 'eu-west-1\nsecret-line-2' }, published)).toEqual([
      'eu-west-1\nsecret-line-2',
      'secret-line-2'
    ])
  })
})

describe('maskSecrets', () => {
  it('replaces every occurrence, a longer secret before a shorter one inside it', () => {
    const secrets = secretValues({ A: 'abcdefgh', B: 'xx-abcdefgh-yy' }, [])
    expect(maskSecrets('abcdefgh and xx-abcdefgh-yy, abcdefgh', secrets)).toBe('*** and ***, ***')
  })

  it('leaves text without secrets as it is', () => {
    expect(maskSecrets('nothing here', ['abcdefgh'])).toBe('nothing here')
  })
})
