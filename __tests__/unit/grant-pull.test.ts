import { describe, expect, it } from '@jest/globals'
import type { ContainerRegistry } from '../../src/adapters/ecr.js'
import { parseRepositoryUri } from '../../src/domain/aws-names.js'
import { MAX_POLICY_WRITES, checkGrantFits, grantLambdaPull } from '../../src/steps/grant-pull.js'
import { mergeLambdaGrant } from '../../src/domain/repository-policy.js'
import type { DeployTarget } from '../../src/steps/resolve-target.js'

const repository = parseRepositoryUri('111111111111.dkr.ecr.us-east-1.amazonaws.com/app')
const target = {
  function: { arn: 'arn:aws:lambda:us-east-1:111111111111:function:app' },
  repository
} as unknown as DeployTarget

const keep = {
  Sid: 'KeepMe',
  Effect: 'Allow',
  Principal: { AWS: 'arn:aws:iam::111111111111:role/ci' },
  Action: 'ecr:PutImage'
}
const theirs = {
  Sid: 'Theirs',
  Effect: 'Allow',
  Principal: { AWS: 'arn:aws:iam::111111111111:role/tf' },
  Action: 'ecr:DescribeImages'
}
const policy = (...statements: object[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: statements })

/**
 * A repository whose policy another writer replaces right after each of our first `races`
 * writes, with `racePolicy` (a writer that started from the policy before ours).
 */
function racingRegistry(initial: string | undefined, races: number, racePolicy: string) {
  let stored = initial
  const writes: string[] = []
  const registry = {
    policy: () => Promise.resolve(stored),
    setPolicy: (_repository: unknown, text: string) => {
      writes.push(text)
      stored = writes.length <= races ? racePolicy : text
      return Promise.resolve()
    }
  } as unknown as ContainerRegistry
  return { registry, writes, stored: () => stored }
}

const noPause = () => Promise.resolve()

const sids = (text: string | undefined) =>
  (JSON.parse(text ?? '{}') as { Statement: { Sid: string }[] }).Statement.map(s => s.Sid)

describe('grantLambdaPull', () => {
  it('writes the grant once and reads it back', async () => {
    const repo = racingRegistry(policy(keep), 0, '')
    const outcome = await grantLambdaPull(target, repo.registry, true, noPause)
    expect(outcome.status).toBe('updated')
    expect(repo.writes).toHaveLength(1)
    expect(sids(repo.stored())).toEqual(['KeepMe', 'LambdaECRImageRetrievalPolicy'])
  })

  it('merges again into a concurrent writer’s policy, keeping their statement and ours', async () => {
    const repo = racingRegistry(policy(keep), 2, policy(keep, theirs))
    const outcome = await grantLambdaPull(target, repo.registry, true, noPause)
    expect(outcome.status).toBe('updated')
    expect(repo.writes).toHaveLength(3)
    expect(sids(repo.stored())).toEqual(['KeepMe', 'Theirs', 'LambdaECRImageRetrievalPolicy'])
  })

  it('stops writing when the other writer’s policy already grants Lambda’s pull', async () => {
    const probe = racingRegistry(policy(keep, theirs), 0, '')
    await grantLambdaPull(target, probe.registry, true)
    const theirsWithGrant = probe.stored()!
    const repo = racingRegistry(policy(keep), 1, theirsWithGrant)
    const outcome = await grantLambdaPull(target, repo.registry, true, noPause)
    expect(outcome.status).toBe('updated')
    expect(repo.writes).toHaveLength(1)
    expect(repo.stored()).toBe(theirsWithGrant)
  })

  it('fails clearly when another writer replaces every write', async () => {
    const repo = racingRegistry(policy(keep), 100, policy(keep, theirs))
    await expect(grantLambdaPull(target, repo.registry, true, noPause)).rejects.toMatchObject({
      id: 'repository-policy-not-converged'
    })
    expect(repo.writes).toHaveLength(MAX_POLICY_WRITES)
    // What is left is the other writer's whole policy, not a half-merged one.
    expect(repo.stored()).toBe(policy(keep, theirs))
  })

  it('writes nothing when the policy already grants the pull', async () => {
    const repo = racingRegistry(policy(keep), 0, '')
    await grantLambdaPull(target, repo.registry, true, noPause)
    const again = racingRegistry(repo.stored(), 0, '')
    const outcome = await grantLambdaPull(target, again.registry, true)
    expect(outcome.status).toBe('already-granted')
    expect(again.writes).toHaveLength(0)
  })

  it('backs off 1, 2, 4 and 8 s between the writes a concurrent writer undoes', async () => {
    const repo = racingRegistry(policy(keep), 100, policy(keep, theirs))
    const pauses: number[] = []
    const recordPause = (ms: number) => {
      pauses.push(ms)
      return Promise.resolve()
    }
    await expect(grantLambdaPull(target, repo.registry, true, recordPause)).rejects.toThrow()
    expect(pauses).toEqual([1000, 2000, 4000, 8000])
  })

  it('reports "may be denied" when a Deny in the policy covers Lambda’s pull', async () => {
    const orgGuard = {
      Sid: 'OrgOnly',
      Effect: 'Deny',
      Principal: '*',
      Action: '*',
      Condition: { StringNotEquals: { 'aws:PrincipalOrgID': 'o-abc123' } }
    }
    const repo = racingRegistry(policy(keep, orgGuard), 0, '')
    const outcome = await grantLambdaPull(target, repo.registry, true, noPause)
    expect(outcome.status).toBe('may-be-denied')
    expect(outcome.changes).toHaveLength(1)
    expect(sids(repo.stored())).toEqual(['KeepMe', 'OrgOnly', 'LambdaECRImageRetrievalPolicy'])
  })
})

describe('checkGrantFits', () => {
  const big = (count: number) =>
    policy(
      ...Array.from({ length: count }, (_, index) => ({
        Sid: `Reader${index}`,
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::111111111111:role/reader-${index}` },
        Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
      }))
    )

  it('returns the planned changes when the merged policy fits', async () => {
    const repo = racingRegistry(policy(keep), 0, '')
    const changes = await checkGrantFits(repository, [target.function.arn], repo.registry)
    expect(changes.length).toBeGreaterThan(0)
    expect(repo.writes).toEqual([])
  })

  it('refuses, writing nothing, when the merged policy would exceed ECR’s limit', async () => {
    const repo = racingRegistry(big(80), 0, '')
    await expect(
      checkGrantFits(repository, [target.function.arn], repo.registry)
    ).rejects.toMatchObject({ id: 'repository-policy-too-large' })
    expect(repo.writes).toEqual([])
  })

  it('says nothing about a policy that already grants Lambda, whatever its size', async () => {
    const repo = racingRegistry(big(80), 0, '')
    const granted = mergeLambdaGrant(big(10), {
      repositoryAccount: '111111111111',
      functionArns: [target.function.arn]
    }).text!
    const padded = JSON.parse(granted) as { Statement: object[] }
    padded.Statement.push(...(JSON.parse(big(80)) as { Statement: object[] }).Statement)
    repo.registry.policy = () => Promise.resolve(JSON.stringify(padded))
    await expect(checkGrantFits(repository, [target.function.arn], repo.registry)).resolves.toEqual(
      []
    )
  })
})
