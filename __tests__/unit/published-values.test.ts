import { describe, expect, it } from '@jest/globals'
import { publishedValues } from '../../src/steps/published-values.js'
import type { DeployPlan, DeployTarget } from '../../src/steps/resolve-target.js'

const repository = { uri: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders' }
const target = {
  given: 'orders-api',
  function: {
    name: 'orders-api',
    arn: 'arn:aws:lambda:eu-west-1:123456789012:function:orders-api'
  },
  region: 'eu-west-1',
  account: '123456789012',
  repository,
  roleArn: 'arn:aws:iam::123456789012:role/deployer'
} as unknown as DeployTarget
const plan = { targets: [target], repositories: [repository] } as unknown as DeployPlan

describe('publishedValues', () => {
  it("holds every function's name, ARN, region and account, and each repository URI", () => {
    expect(publishedValues(plan, { alias: undefined, tags: [] }).sort()).toEqual(
      [
        '123456789012',
        '123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders',
        'arn:aws:iam::123456789012:role/deployer',
        'arn:aws:lambda:eu-west-1:123456789012:function:orders-api',
        'eu-west-1',
        'orders-api'
      ].sort()
    )
  })

  it('adds the alias, the tags and what the run learns later, skipping what is unknown', () => {
    const values = publishedValues(plan, { alias: { name: 'live' }, tags: ['v1.2.3'] }, [
      `${repository.uri}@sha256:${'a'.repeat(64)}`,
      undefined
    ])
    expect(values).toEqual(
      expect.arrayContaining(['live', 'v1.2.3', `${repository.uri}@sha256:${'a'.repeat(64)}`])
    )
    expect(values).not.toContain(undefined)
  })
})
