import { ActionError } from './errors.js'

/**
 * Function kinds that change what "deployed" and "invoke" mean.
 *
 * Lambda Managed Instances (a function on a capacity provider: GetFunction shows
 * CapacityProviderConfig) run published versions only: an unqualified invoke goes to
 * $LATEST.PUBLISHED, made with PublishVersion PublishTo LATEST_PUBLISHED, and publishing
 * provisions execution environments (init up to 15 minutes). Sources, Lambda developer guide:
 * "lambda-managed-instances-version-publishing", "-capacity-providers", "-execution-environment";
 * API reference: CapacityProviderConfig, PublishVersion, FunctionConfiguration (State values).
 *
 * Durable functions (DurableConfig set) are invoked through a version or alias unless
 * DurableConfig.AllowInvokeLatest is set (developer guide "durable-invoking",
 * "durable-configuration"). The SDK in use (@aws-sdk/client-lambda 3.1164) has no
 * AllowInvokeLatest member and drops it from GetFunction's answer, so every durable function is
 * taken to need a qualified invoke: the stricter reading, which is right either way.
 */
export interface FunctionKind {
  readonly name: string
  /** CapacityProviderConfig.LambdaManagedInstancesCapacityProviderConfig.CapacityProviderArn. */
  readonly capacityProviderArn?: string
  /** DurableConfig is set. */
  readonly durable?: boolean
}

/** The version an unqualified invoke of a Managed Instances function runs. */
export const LATEST_PUBLISHED = '$LATEST.PUBLISHED'
/** PublishVersion's PublishTo value for it (API reference, PublishVersion). */
export const PUBLISH_TO_LATEST_PUBLISHED = 'LATEST_PUBLISHED'
/** "-execution-environment": initialization of a Managed Instances version may take this long. */
export const MANAGED_INSTANCES_INIT_MINUTES = 15

export function isManagedInstances(fn: FunctionKind): boolean {
  return fn.capacityProviderArn !== undefined && fn.capacityProviderArn !== ''
}

/** Why an unqualified ($LATEST) invoke of this function does not run its new code, if it does not. */
export function unqualifiedInvokeProblem(fn: FunctionKind): string | undefined {
  if (isManagedInstances(fn)) {
    return `${fn.name} runs on a capacity provider (Lambda Managed Instances), which runs published versions only`
  }
  if (fn.durable) {
    return `${fn.name} is a durable function, which Lambda invokes through a version or alias only (unless DurableConfig.AllowInvokeLatest is set, which this action cannot read)`
  }
  return undefined
}

/**
 * Before any change: a verify invoke that would go to $LATEST where the function kind refuses
 * it. Managed Instances functions are always published (to $LATEST.PUBLISHED without publish),
 * so their verify invoke is qualified; a durable function needs publish.
 */
export function verifyQualifierRefusal(
  fn: FunctionKind,
  config: { readonly publish: boolean; readonly verify?: unknown }
): ActionError | undefined {
  if (config.verify === undefined || config.publish || isManagedInstances(fn)) return undefined
  if (!fn.durable) return undefined
  return new ActionError(
    'verify-needs-version',
    `verify-event would invoke ${fn.name} unqualified ($LATEST), but ${unqualifiedInvokeProblem(fn)}; ${fn.name} was not changed.`,
    'Set publish: true (and alias, to hold traffic back until the check passes) so the verify invoke runs on the new version, or remove verify-event.'
  )
}

/**
 * Before any change: a deploy whose new code would serve nothing. A Managed Instances function's
 * unqualified invokes run $LATEST.PUBLISHED; publish: true without alias makes a numbered version
 * that no caller reaches (its $LATEST.PUBLISHED keeps the old code), so it is refused.
 */
export function publishRefusal(
  fn: FunctionKind,
  config: { readonly publish: boolean; readonly alias?: unknown }
): ActionError | undefined {
  if (!isManagedInstances(fn) || !config.publish || config.alias !== undefined) return undefined
  return new ActionError(
    'publish-needs-alias',
    `${fn.name} runs on a capacity provider (Lambda Managed Instances): unqualified invokes run ${LATEST_PUBLISHED}, which publish: true without alias does not change, so the new version would serve nothing; ${fn.name} was not changed.`,
    `Set alias (and have callers invoke it), or leave publish off: the action then publishes ${LATEST_PUBLISHED}, which unqualified invokes run.`
  )
}

/**
 * A durable function deployed without a version: callers invoke it through a version or alias
 * (Lambda requires that unless AllowInvokeLatest is set), so only $LATEST changes. Warned, not
 * refused: a function that allows $LATEST is served by it, and the SDK does not say which.
 */
export function durableWithoutVersionWarning(
  fn: FunctionKind,
  config: { readonly publish: boolean }
): string | undefined {
  if (!fn.durable || config.publish) return undefined
  return `${fn.name} is a durable function: Lambda invokes it through a version or alias unless DurableConfig.AllowInvokeLatest is set, and this deploy changes only $LATEST (no publish, no alias). Callers that invoke a version or alias keep the old code; set alias (or publish: true) to release it to them.`
}

/** What a deploy publishes for the function, as plan lines (dry-run). */
export function publishPlan(
  fn: FunctionKind,
  config: { readonly publish: boolean; readonly alias?: { readonly name: string } }
): string[] {
  if (!isManagedInstances(fn)) return config.publish ? ['publish a new version'] : []
  const wait = `wait while Lambda provisions its execution environments (Lambda Managed Instances; up to ${MANAGED_INSTANCES_INIT_MINUTES} min)`
  if (!config.publish) {
    return [
      `publish ${LATEST_PUBLISHED} (unqualified invokes run it: the function is on a capacity provider), then ${wait}`
    ]
  }
  return [
    `publish a new version, then ${wait}`,
    ...(config.alias
      ? []
      : [
          `note: unqualified invokes keep running ${LATEST_PUBLISHED}, which publish: true does not change; set alias, or leave publish off to publish ${LATEST_PUBLISHED}`
        ])
  ]
}

/** A published version's State as GetFunctionConfiguration (with Qualifier) reports it. */
export interface VersionState {
  readonly version: string
  readonly state: string
  readonly stateReason: string
  readonly stateReasonCode: string
  readonly codeSha256: string
}

export type VersionReadiness =
  | { readonly kind: 'ready' }
  | { readonly kind: 'waiting' }
  | { readonly kind: 'failed'; readonly error: ActionError }

/**
 * Whether a version just published can serve: Active is ready, Pending is still provisioning;
 * every other State (Failed, ActiveNonInvocable, Inactive, Deactivating, Deactivated, Deleting,
 * or one this action does not know) means it will not serve without someone acting.
 */
export function versionReadiness(
  functionName: string,
  version: string,
  current: VersionState | undefined,
  /** What the failure leaves in place, in words (e.g. "alias live was not moved"). */
  consequence: string
): VersionReadiness {
  if (current === undefined) {
    return {
      kind: 'failed',
      error: new ActionError(
        'published-version-missing',
        `Lambda has no version ${version} of ${functionName} right after publishing it; ${consequence}.`,
        'Someone deleted it meanwhile, or the function changed; run the deploy again.'
      )
    }
  }
  if (current.state === 'Active') return { kind: 'ready' }
  if (current.state === 'Pending') return { kind: 'waiting' }
  const reason = current.stateReason ? `: ${current.stateReason.replace(/\.$/, '')}` : ''
  const code = current.stateReasonCode ? ` (${current.stateReasonCode})` : ''
  const meaning = STATE_MEANINGS[current.state] ?? 'a State this action does not know'
  return {
    kind: 'failed',
    error: new ActionError(
      'published-version-not-ready',
      `Version ${version} of ${functionName} is ${current.state}${code}${reason} — ${meaning}; ${consequence}.`,
      reasonCodeFix(current.stateReasonCode, current.state)
    )
  }
}

const STATE_MEANINGS: Record<string, string> = {
  Failed: 'Lambda could not provision it',
  ActiveNonInvocable: 'it exists, but Lambda does not route invokes to it',
  Inactive: 'Lambda reclaimed its resources',
  Deactivating: 'Lambda is taking its execution environments away',
  Deactivated: 'its execution environments are gone',
  Deleting: 'it is being deleted'
}

/** The fix for a StateReasonCode of a version that did not become Active (API reference,
 * StateReasonCode; capacity codes from "lambda-managed-instances-capacity-providers"). */
export function reasonCodeFix(reasonCode: string, state: string): string {
  switch (reasonCode) {
    case 'InsufficientCapacity':
      return 'EC2 had no capacity for the capacity provider’s instance types in its subnets: allow more instance types or subnets in other Availability Zones in the capacity provider, or run again later.'
    case 'VcpuLimitExceeded':
      return 'The account’s EC2 vCPU quota is used up: request a higher On-Demand vCPU quota (Service Quotas, EC2) or lower what other workloads use, then run again.'
    case 'CapacityProviderScalingLimitExceeded':
      return 'The capacity provider reached its maximum vCPU count: raise it in the capacity provider’s scaling configuration, or lower the function’s memory/vCPU settings, then run again.'
    case 'ImageAccessDenied':
    case 'ImageDeleted':
    case 'InvalidImage':
      return 'Lambda could not use the image: check the repository policy grants Lambda pull access and that the image still exists, then run again.'
    default:
      return state === 'Deactivating' || state === 'Deactivated' || state === 'Deleting'
        ? 'Someone or something else changed this version meanwhile (a newer publish, or the capacity provider was detached); check the function in the Lambda console and run the deploy again.'
        : `Look up StateReasonCode ${reasonCode || '(none given)'} in the Lambda API reference (StateReasonCode), fix the capacity provider or the function, and run again.`
  }
}
