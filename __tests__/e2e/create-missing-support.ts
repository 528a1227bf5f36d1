import { beforeEach } from '@jest/globals'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { repoRoot } from '../../stack/run-action.js'
import { DEFAULT_REGION, TOOLING_ACCOUNT, fixturesDir, type Sandbox } from './harness.js'
import { DEPLOYER } from './readme-policy.js'

/**
 * What the two create-missing suites share: aws/create-missing.test.ts (a function created from
 * an image already in ECR, and the refusals before any build) and engine/create-missing.test.ts
 * (a function for an image the action builds, and a created repository): the execution role, the
 * README's PassRole statement, and the build inputs.
 */

/** The execution role create-function-role names. */
export const EXECUTION_ROLE = 'lambda-exec'
export const EXECUTION_ROLE_ARN = `arn:aws:iam::${TOOLING_ACCOUNT}:role/${EXECUTION_ROLE}`

/** The README's policy for this feature, placeholders filled in for the execution role. */
export function readmePassRole(): unknown {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8')
  const start = readme.indexOf('#### `create-function-role`, `create-repository`')
  const block = /```json\n([\s\S]*?)```/.exec(readme.slice(start))?.[1] ?? ''
  const policy = JSON.parse(
    block
      .replace(/\bEXECUTION_ROLE\b/g, EXECUTION_ROLE)
      .replace(/\bACCOUNT\b/g, TOOLING_ACCOUNT)
      .replace(/\bREGION\b/g, DEFAULT_REGION)
  ) as { Statement: { Sid: string }[] }
  const statement = policy.Statement.find(candidate => candidate.Sid === 'PassExecutionRole')
  if (start < 0 || !statement) throw new Error('README: no PassExecutionRole statement')
  return statement
}

/** The stand-in's default administrator policy has no iam:*; creating a function needs PassRole,
 * as the README's statement grants it. */
export async function allowDeployer(
  sandbox: Sandbox,
  { passRole }: { passRole: boolean }
): Promise<void> {
  const statements: unknown[] = [
    { Effect: 'Allow', Action: ['ecr:*', 'lambda:*', 'sts:*'], Resource: '*' }
  ]
  if (passRole) statements.push(readmePassRole())
  await sandbox.control.setIdentityPolicies(DEPLOYER, {
    Deployer: { Version: '2012-10-17', Statement: statements }
  })
}

/** Before each test: no update delay, and the deploying principal may pass the execution role. */
export function useDeployerThatMayPassRole(sandbox: Sandbox): void {
  beforeEach(async () => {
    await sandbox.control.setUpdateDelay(0)
    await allowDeployer(sandbox, { passRole: true })
  })
}

/** The build inputs of the fixture, a new layer for each name. */
export function buildInputs(name: string): Record<string, string> {
  return {
    context: path.join(fixturesDir, 'provided-multistage'),
    target: 'runtime',
    'build-args': `VERSION=${name}`
  }
}
