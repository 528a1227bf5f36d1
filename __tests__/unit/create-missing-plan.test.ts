import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { AwsServices } from '../../src/adapters/aws-clients.js'
import { FUNCTION_NOT_FOUND, type FunctionFacts } from '../../src/adapters/lambda.js'
import { ActionError } from '../../src/domain/errors.js'
import { parseConfig } from '../../src/inputs.js'
import { creationPlan } from '../../src/steps/plan-deploy.js'
import { resolveTargets } from '../../src/steps/resolve-target.js'

const ACCOUNT = '111111111111'
const REGION = 'us-east-1'
const context = mkdtempSync(path.join(os.tmpdir(), 'create-plan-'))
writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\n')

function facts(name: string, architecture: string): FunctionFacts {
  return {
    arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`,
    name,
    packageType: 'Image',
    architectures: [architecture],
    codeSha256: '',
    imageUri: '',
    lastUpdateStatus: 'Successful',
    lastUpdateStatusReason: '',
    state: 'Active',
    stateReason: '',
    stateReasonCode: '',
    memorySize: 128,
    timeout: 3,
    ephemeralStorageMb: 512,
    environment: {}
  }
}

/** Lambda holding the given functions; any other name is missing. */
function aws(existing: Record<string, string>): AwsServices {
  return {
    functions: () => ({
      describe: (name: string) =>
        existing[name]
          ? Promise.resolve(facts(name, existing[name]))
          : Promise.reject(new ActionError(FUNCTION_NOT_FOUND, `no ${name}`, 'fix'))
    }),
    callerAccount: () => Promise.resolve(ACCOUNT)
  } as unknown as AwsServices
}

function config(inputs: Record<string, string>) {
  const all: Record<string, string> = {
    repository: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/app`,
    context,
    ...inputs
  }
  return parseConfig(name => all[name] ?? '', { AWS_REGION: REGION })
}

describe('resolveTargets with create-function-role', () => {
  it('plans a missing function on the architecture the existing ones run', async () => {
    const plan = await resolveTargets(
      config({ 'function-name': 'old, new', 'create-function-role': 'exec' }),
      aws({ old: 'arm64' })
    )
    expect(plan.architecture).toBe('arm64')
    const created = plan.targets.find(target => target.given === 'new')!
    expect(created.creation).toEqual({
      roleArn: `arn:aws:iam::${ACCOUNT}:role/exec`,
      memoryMb: 128,
      timeoutSeconds: 3
    })
    expect(created.function.architectures).toEqual(['arm64'])
    expect(created.changesArchitecture).toBe(false)
    expect(plan.targets.find(target => target.given === 'old')!.creation).toBeUndefined()
  })

  it('creates on x86_64, Lambda’s default, when no function exists and architecture is not set', async () => {
    const plan = await resolveTargets(
      config({ 'function-name': 'new', 'create-function-role': 'exec' }),
      aws({})
    )
    expect(plan.architecture).toBe('x86_64')
    expect(creationPlan(plan.targets[0]!, config({ 'function-name': 'new' }))).toEqual([
      `would create: PackageType Image, x86_64, role arn:aws:iam::${ACCOUNT}:role/exec, 128 MB, 3 s, running the new image`
    ])
  })

  it('creates on the architecture asked for', async () => {
    const plan = await resolveTargets(
      config({ 'function-name': 'new', 'create-function-role': 'exec', architecture: 'arm64' }),
      aws({})
    )
    expect(plan.targets[0]!.architecture).toBe('arm64')
    expect(plan.targets[0]!.changesArchitecture).toBe(false)
  })

  it('fails on a missing function without the opt-in', async () => {
    await expect(resolveTargets(config({ 'function-name': 'new' }), aws({}))).rejects.toMatchObject(
      { id: FUNCTION_NOT_FOUND }
    )
  })
})
