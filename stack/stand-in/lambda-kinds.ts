import { LAMBDA_MESSAGES } from './aws-wording.js'
import { arnOf, lastModifiedNow, newRevisionId } from './lambda-model.js'
import type { FunctionRecord, FunctionState, FunctionVersionRecord, StandInState } from './state.js'
import { lambdaError } from './wire.js'

/**
 * Function kinds that change what "invoke" and "publish" mean: Lambda Managed Instances
 * (functions on a capacity provider) and durable functions. Sources, Lambda developer guide:
 * "lambda-managed-instances-version-publishing" ($LATEST.PUBLISHED), "-capacity-providers",
 * "-execution-environment"; "durable-invoking" and "durable-configuration"; API reference:
 * CapacityProviderConfig, PublishVersion (PublishTo), FunctionConfiguration (State values).
 */

/** The unpublished version and the Managed Instances one an unqualified invoke goes to. */
export const LATEST = '$LATEST'
export const LATEST_PUBLISHED = '$LATEST.PUBLISHED'
/** PublishVersion's (and UpdateFunctionCode's) PublishTo value (API reference, PublishVersion). */
export const PUBLISH_TO_LATEST_PUBLISHED = 'LATEST_PUBLISHED'

/** Words for the states the stand-in gives; the words are the stand-in's own. */
export const MANAGED_INSTANCES_REASONS = {
  provisioning: {
    reason: 'Lambda is provisioning execution environments for this version.',
    reasonCode: 'Creating'
  },
  /** Lambda's failure reason codes for capacity (API reference, StateReasonCode). */
  failures: {
    InsufficientCapacity:
      'The capacity provider could not get enough EC2 capacity for the execution environments.',
    VcpuLimitExceeded: 'The account reached its EC2 vCPU limit for the capacity provider.',
    CapacityProviderScalingLimitExceeded:
      'The capacity provider reached its scaling limit (maximum vCPU count).'
  } as Record<string, string>,
  latestNotInvocable:
    'Lambda Managed Instances run published versions only: $LATEST cannot be invoked. Invoke $LATEST.PUBLISHED or a published version.',
  durableNeedsQualifier:
    'Durable functions are invoked through a version or alias (a qualified ARN) unless DurableConfig.AllowInvokeLatest is set.'
} as const

export function isManagedInstances(fn: FunctionRecord): boolean {
  return fn.managedInstances !== undefined
}

/**
 * The $LATEST state of a function on a capacity provider. Its code never runs unpublished
 * ("version-publishing": an unqualified invoke goes to $LATEST.PUBLISHED), so the stand-in shows
 * it ActiveNonInvocable, the State value Lambda added for such functions; the stricter reading,
 * as a caller that waits for "Active" on $LATEST of such a function must not succeed.
 */
export function managedLatestState(): FunctionState {
  return { name: 'ActiveNonInvocable' }
}

/** A version being published: Pending while Lambda provisions its execution environments
 * ("-execution-environment": init may take up to 15 minutes), then Active, or the failure the
 * control API seeded (InsufficientCapacity, VcpuLimitExceeded, ...). */
export function provisioningState(state: StandInState, fn: FunctionRecord): FunctionState {
  const managed = fn.managedInstances!
  const failure = managed.provisioningFailure
  return {
    name: 'Pending',
    ...MANAGED_INSTANCES_REASONS.provisioning,
    endsAt: Date.now() + (managed.provisioningMs ?? state.settings.updateDelayMs),
    next: failure
      ? { name: failure.state, reason: failure.reason, reasonCode: failure.reasonCode }
      : { name: 'Active' }
  }
}

/**
 * PublishVersion with PublishTo LATEST_PUBLISHED: creates or replaces $LATEST.PUBLISHED with the
 * function's current code and configuration ("version-publishing"). Only a function on a
 * capacity provider has it; for any other the stand-in refuses (stricter: Lambda's answer there
 * is not documented).
 */
export function publishLatestPublished(
  state: StandInState,
  fn: FunctionRecord,
  description: string | undefined
): FunctionVersionRecord {
  if (!isManagedInstances(fn)) {
    throw lambdaError(
      'InvalidParameterValueException',
      'PublishTo LATEST_PUBLISHED is for functions on a capacity provider (Lambda Managed Instances) only.'
    )
  }
  const version: FunctionVersionRecord = {
    version: LATEST_PUBLISHED,
    code: fn.code,
    settings: fn.settings,
    lastModified: lastModifiedNow(),
    revisionId: newRevisionId(),
    description: description ?? fn.settings.description,
    state: provisioningState(state, fn)
  }
  fn.latestPublished = version
  return version
}

/** Where an invoke goes, or why Lambda refuses it, before anything runs. */
export function invokeTarget(
  fn: FunctionRecord,
  qualifier: string | undefined,
  version: FunctionVersionRecord | undefined
): FunctionVersionRecord | undefined {
  const unqualified = qualifier === undefined || qualifier === LATEST
  if (isManagedInstances(fn)) {
    if (qualifier === LATEST) {
      throw lambdaError(
        'InvalidParameterValueException',
        MANAGED_INSTANCES_REASONS.latestNotInvocable
      )
    }
    // "version-publishing": an unqualified ARN invokes $LATEST.PUBLISHED.
    const target = qualifier === undefined ? fn.latestPublished : version
    if (!target) {
      throw lambdaError(
        'ResourceNotFoundException',
        LAMBDA_MESSAGES.functionNotFound(arnOf(fn, LATEST_PUBLISHED))
      )
    }
    return target
  }
  // "durable-invoking": a qualified ARN; "durable-configuration": AllowInvokeLatest lifts it.
  // Lambda's exact error is not documented; the stand-in answers InvalidParameterValueException.
  if (fn.durableConfig && unqualified && fn.durableConfig.AllowInvokeLatest !== true) {
    throw lambdaError(
      'InvalidParameterValueException',
      MANAGED_INSTANCES_REASONS.durableNeedsQualifier
    )
  }
  return version
}

/** A version with a State of its own runs only when Active (Invoke's ResourceConflictException,
 * as for a function that is not Active: "Lambda function states"). */
export function refuseUnlessVersionRunnable(version: FunctionVersionRecord | undefined): boolean {
  const state = version?.state
  if (!state) return false
  if (state.name !== 'Active') {
    throw lambdaError('ResourceConflictException', LAMBDA_MESSAGES.functionInState(state.name))
  }
  return true
}

/** A seeded function's kind (control API, POST /_stand-in/functions): not part of any AWS API. */
export interface FunctionKindSeed {
  /** A function on a capacity provider (Lambda Managed Instances). */
  readonly managedInstances?: {
    readonly capacityProviderArn: string
    /** How long publishing provisions a version; default: the stand-in's updateDelayMs. */
    readonly provisioningMs?: number
    /** Every version published ends so: a reason code of Lambda's (InsufficientCapacity,
     * VcpuLimitExceeded, CapacityProviderScalingLimitExceeded) and a State (default Failed). */
    readonly provisioningFailure?: {
      readonly reasonCode: string
      readonly reason?: string
      readonly state?: 'Failed' | 'ActiveNonInvocable' | 'Deactivated'
    }
  }
  /** A durable function's DurableConfig, as CreateFunction takes it. */
  readonly durableConfig?: {
    readonly ExecutionTimeout?: number
    readonly RetentionPeriodInDays?: number
    readonly AllowInvokeLatest?: boolean
  }
}

export class FunctionKindSeedError extends Error {}

/**
 * Applies the seed's kind to a seeded function. A seeded function on a capacity provider has an
 * Active $LATEST.PUBLISHED with its code when it has an image: Lambda creates it for functions
 * made with CloudFormation or the console ("version-publishing", Note).
 */
export function applyKindSeed(fn: FunctionRecord, seed: FunctionKindSeed): void {
  if (seed.durableConfig !== undefined) fn.durableConfig = { ...seed.durableConfig }
  const managed = seed.managedInstances
  if (managed === undefined) return
  if (typeof managed.capacityProviderArn !== 'string' || managed.capacityProviderArn === '') {
    throw new FunctionKindSeedError('managedInstances.capacityProviderArn is required')
  }
  const failure = managed.provisioningFailure
  let provisioningFailure: NonNullable<FunctionRecord['managedInstances']>['provisioningFailure']
  if (failure) {
    const reason = failure.reason ?? MANAGED_INSTANCES_REASONS.failures[failure.reasonCode]
    if (reason === undefined) {
      throw new FunctionKindSeedError(
        `provisioningFailure.reasonCode must be one of ${Object.keys(MANAGED_INSTANCES_REASONS.failures).join(', ')} or come with a reason`
      )
    }
    provisioningFailure = {
      state: failure.state ?? 'Failed',
      reasonCode: failure.reasonCode,
      reason
    }
  }
  fn.managedInstances = {
    capacityProviderArn: managed.capacityProviderArn,
    provisioningMs: managed.provisioningMs,
    provisioningFailure
  }
  fn.state = managedLatestState()
  if (fn.code.resolvedImageUri) {
    fn.latestPublished = {
      version: LATEST_PUBLISHED,
      code: fn.code,
      settings: fn.settings,
      lastModified: fn.lastModified,
      revisionId: newRevisionId(),
      description: fn.settings.description
    }
  }
}
