import * as core from '@actions/core'
import type { AwsServices } from '../adapters/aws-clients.js'
import { FUNCTION_NOT_FOUND, type FunctionFacts } from '../adapters/lambda.js'
import { executionRoleArn, type FunctionCreation } from '../domain/create-missing.js'
import { isActionError } from '../domain/errors.js'
import type { FunctionTarget } from '../inputs.js'

/** A function the deploy creates: the CreateFunction settings, with the role as an ARN. */
export interface PlannedCreation {
  readonly roleArn: string
  readonly memoryMb: number
  readonly timeoutSeconds: number
}

export interface FoundFunction {
  readonly fn: FunctionFacts
  /** Set when the function does not exist and create-function-role asks to create it. */
  readonly creation?: PlannedCreation
}

/**
 * The function as Lambda describes it; or, when it is missing and create-function-role is set,
 * the function as it will be once created. Without the opt-in a missing function stays the
 * error describe() raised (its fix names the opt-in).
 */
export async function findOrPlanFunction(
  target: FunctionTarget,
  creation: FunctionCreation | undefined,
  aws: AwsServices,
  describe: () => Promise<FunctionFacts>
): Promise<FoundFunction> {
  try {
    return { fn: await describe() }
  } catch (error) {
    if (!creation || !isActionError(error) || error.id !== FUNCTION_NOT_FOUND) throw error
  }
  const reference = target.reference
  const account = reference.account ?? (await aws.callerAccount())
  const partition = reference.partition ?? partitionOf(target.region)
  const planned: PlannedCreation = {
    roleArn: executionRoleArn(creation.role, partition, account),
    memoryMb: creation.memoryMb,
    timeoutSeconds: creation.timeoutSeconds
  }
  core.notice(
    `${reference.name} does not exist in ${target.region}; create-function-role is set, so the deploy creates it (role ${planned.roleArn}, ${planned.memoryMb} MB, ${planned.timeoutSeconds} s).`
  )
  return { fn: plannedFacts(target, partition, account, planned), creation: planned }
}

/** What the steps before the deploy may read of a function that does not exist yet. */
function plannedFacts(
  target: FunctionTarget,
  partition: string,
  account: string,
  planned: PlannedCreation
): FunctionFacts {
  const name = target.reference.name
  return {
    arn: `arn:${partition}:lambda:${target.region}:${account}:function:${name}`,
    name,
    packageType: 'Image',
    // Filled in by the plan: a new function takes the image's architecture.
    architectures: [],
    codeSha256: '',
    imageUri: '',
    lastUpdateStatus: '',
    lastUpdateStatusReason: '',
    state: '',
    stateReason: '',
    stateReasonCode: '',
    memorySize: planned.memoryMb,
    timeout: planned.timeoutSeconds,
    // Lambda's default /tmp for a function created without EphemeralStorage.
    ephemeralStorageMb: 512,
    environment: {}
  }
}

/** The partition of a region ("AWS General Reference", ARN formats). */
function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn'
  if (region.startsWith('us-gov-')) return 'aws-us-gov'
  return 'aws'
}
