import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { repoRoot, runCli, type CliRun } from '../../../stack/run-action.js'
import {
  DEFAULT_REGION,
  NO_ENGINE_SOCKET,
  TOOLING_ACCOUNT,
  assertNoEngineReached,
  registryHost,
  useSandbox
} from '../harness.js'

/**
 * Fleets in the reusable refresh workflow (issue 17): the groups job's command
 * (`group-functions`, the bundled CLI) asks the stand-in's GetFunction what each function runs.
 * What it refuses, and the permission it needs, are AWS-side: it runs here with no engine, once.
 * A fleet grouped, rebuilt once per group and regrouped is in e2e/engine/fleet (it builds).
 */

const sandbox = useSandbox()

/** The groups job's step, as the workflow runs it; like the action here, with no engine. */
async function groupFunctions(functionNames: string): Promise<CliRun> {
  const run = await runCli(['group-functions', functionNames, '--region', DEFAULT_REGION], {
    standInUrl: sandbox.url,
    account: TOOLING_ACCOUNT,
    region: DEFAULT_REGION,
    env: { DOCKER_HOST: `unix://${NO_ENGINE_SOCKET}` }
  })
  assertNoEngineReached(run)
  return run
}

describe('the grouping of a fleet', () => {
  it('fails the grouping with a clear error for a Zip function, one that runs no image, and a missing one', async () => {
    const fresh = await sandbox.seed({ label: 'fleet-fresh', noRepository: true })
    const zip = await sandbox.seed({ label: 'fleet-zip', noRepository: true, packageType: 'Zip' })
    for (const [functions, id] of [
      [zip.name, 'function-not-image'],
      [fresh.name, 'function-runs-no-image'],
      [sandbox.uniqueName('fleet-missing'), 'function-not-found']
    ] as const) {
      const run = await groupFunctions(functions)
      expect(run.exitCode).toBe(1)
      expect(run.stdout).toBe('')
      expect(run.stderr).toContain(`[${id}]`)
      expect(run.stderr).toContain(functions)
    }
  })

  it('needs only lambda:GetFunction, which the README policy’s UpdateFunction statement holds', async () => {
    // The principal the stand-in's credentials of the account stand for (readme-policy.test.ts).
    const deployer = `arn:aws:iam::${TOOLING_ACCOUNT}:user/stand-in`
    const digest = `sha256:${'1'.repeat(64)}`
    const image = `${registryHost()}/fleet-iam@${digest}`
    const { name } = await sandbox.seed({
      label: 'fleet-iam',
      noRepository: true,
      function: { imageUri: image }
    })
    const updateFunction = readmeStatement('UpdateFunction', name)
    const attach = (actions: readonly string[]) =>
      sandbox.control.setIdentityPolicies(deployer, {
        ReadmePolicy: {
          Version: '2012-10-17',
          Statement: [{ ...updateFunction, Action: actions }]
        }
      })

    await attach([updateFunction.Action].flat())
    const allowed = await groupFunctions(name)
    expect(allowed.exitCode).toBe(0)
    expect(JSON.parse(allowed.stdout)).toEqual({
      groups: [{ image, architecture: 'x86_64', functions: [name] }]
    })

    await attach([updateFunction.Action].flat().filter(action => action !== 'lambda:GetFunction'))
    const denied = await groupFunctions(name)
    expect(denied.exitCode).toBe(1)
    expect(denied.stdout).toBe('')
    expect(denied.stderr).toContain('lambda:GetFunction')
  })
})

/** A statement of the README's deploying-role policy, for this account, region and function. */
function readmeStatement(
  sid: string,
  functionName: string
): { Sid: string; Effect: string; Action: string | string[]; Resource: string | string[] } {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8')
  const start = readme.indexOf('### The policy for a default deploy')
  const policy = /```json\n([\s\S]*?)```/.exec(readme.slice(start))![1]!
  const statements = (
    JSON.parse(
      policy
        .replace(/\bFUNCTION\b/g, functionName)
        .replace(/\bACCOUNT\b/g, TOOLING_ACCOUNT)
        .replace(/\bREGION\b/g, DEFAULT_REGION)
    ) as { Statement: ReturnType<typeof readmeStatement>[] }
  ).Statement
  return statements.find(statement => statement.Sid === sid)!
}
