import type { AwsServices } from '../adapters/aws-clients.js'
import { watchJobCancellation } from '../adapters/job-cancellation.js'
import { ActionError, describeFailure } from '../domain/errors.js'
import { isManagedInstances } from '../domain/function-kinds.js'
import type { ActionConfig } from '../inputs.js'
import { settleConcurrently } from './concurrency.js'
import { createFunction } from './create-function.js'
import { deployFunction, type DeployOutcome } from './deploy-function.js'
import type { PushedImage } from './push-image.js'
import { releaseFunction, type ReleaseOutcome, type TrafficCheck } from './release-function.js'
import type { DeployTarget } from './resolve-target.js'
import { checkAliasCanShift, checkRolloutAlarms } from './rollout.js'
import { checkRolloutImagesActive } from './check-archived-images.js'

/** created: the function did not exist and create-function-role had it created. */
export type FunctionStatus = 'created' | 'updated' | 'unchanged' | 'failed'

export interface FunctionResult {
  readonly target: DeployTarget
  readonly status: FunctionStatus
  /** Set once the code update was made (or found unneeded), also when a later part failed. */
  readonly deploy?: DeployOutcome
  readonly release?: ReleaseOutcome
  readonly error?: unknown
}

/**
 * Updates every function, at most max-concurrency at once, each waited for. One failure does not
 * stop the others (they are not rolled back either): every function's result is reported.
 */
export async function deployFunctions(
  targets: readonly DeployTarget[],
  imageFor: (target: DeployTarget) => PushedImage,
  aws: AwsServices,
  config: ActionConfig,
  /** Made on each new version before its alias moves (e.g. a verify invoke of it). */
  beforeTrafficFor?: (target: DeployTarget) => TrafficCheck | undefined
): Promise<FunctionResult[]> {
  // While a rollout may hold weight on a new version, a cancelled job rolls it back first.
  const cancellation = config.rollout ? watchJobCancellation() : undefined
  const settled = await settleConcurrently(targets, config.maxConcurrency, async target => {
    let deploy: DeployOutcome | undefined
    try {
      // After a cancel no new update starts: functions not begun yet are left as they are.
      if (cancellation?.signal.aborted) throw notStarted(target, cancellation.signal)
      const alarms = config.rollout ? aws.alarms(target.region, target.roleArn) : undefined
      // Before the code update: a rollout that cannot watch its alarms changes nothing.
      if (config.rollout && alarms) {
        await checkRolloutAlarms(target.function.name, config.rollout.alarms, alarms)
      }
      // Nor does one whose alias cannot carry weights; a function still to create has no alias.
      const shifts = config.rollout !== undefined || config.alias?.routingWeight !== undefined
      if (config.publish && config.alias && shifts && !target.creation) {
        await checkAliasCanShift(
          target.function.name,
          target.function.arn,
          config.alias.name,
          aws.releases(target.region, target.roleArn),
          config.rollout !== undefined
        )
      }
      // Nor does one whose image, or the version it would roll back to, is archived.
      if (config.rollout && config.publish && config.alias && !target.creation) {
        await checkRolloutImagesActive(target, imageFor(target), config.alias.name, aws)
      }
      // The checks above take time; a cancel meanwhile still stops before the code update.
      if (cancellation?.signal.aborted) throw notStarted(target, cancellation.signal)
      const image = imageFor(target)
      const lambda = aws.functions(target.region, target.roleArn)
      // Settings and versions need the code update to have finished, even with wait: false.
      deploy = target.creation
        ? await createFunction(target, image, lambda, config)
        : await deployFunction(
            target,
            image,
            lambda,
            releaseFollows(target, config) ? { ...config, wait: true } : config
          )
      // From the version on, a cancelled job no longer exits at once: the rollout goes back first.
      const letGo = cancellation?.hold()
      let release: ReleaseOutcome
      try {
        release = await releaseFunction(
          target,
          image,
          aws.releases(target.region, target.roleArn),
          config,
          alarms && cancellation ? { alarms, cancelled: cancellation.signal } : undefined,
          beforeTrafficFor?.(target)
        )
      } finally {
        letGo?.()
      }
      const changed =
        deploy.deployed || release.settingsChanges.length > 0 || release.servingChanged === true
      const status = target.creation ? 'created' : changed ? 'updated' : 'unchanged'
      return { target, status, deploy, release } as const
    } catch (error) {
      return { target, status: 'failed', deploy, error } as const
    }
  })
  return settled.map(result => (result as PromiseFulfilledResult<FunctionResult>).value)
}

function notStarted(target: DeployTarget, signal: AbortSignal): ActionError {
  return new ActionError(
    'cancelled-before-update',
    `${target.function.name} was not updated: ${describeFailure(signal.reason)} before its turn, and no new update starts after a cancel.`,
    'Run the job again to deploy it.'
  )
}

/** The step's error when any function failed: the only one's own error, or all of them. */
export function failureOf(results: readonly FunctionResult[]): unknown {
  const failed = results.filter(result => result.status === 'failed')
  if (failed.length === 0) return undefined
  if (results.length === 1) return failed[0]!.error
  const updated = results.filter(result => result.deploy?.deployed)
  return new ActionError(
    'functions-failed',
    `${failed.length} of ${results.length} functions failed: ${failed
      .map(result => `${result.target.function.name} (${describeFailure(result.error)})`)
      .join('; ')}. ${
      updated.length > 0
        ? `Updated (or created) and left as they are: ${updated.map(result => result.target.function.name).join(', ')}.`
        : 'No function was updated.'
    }`,
    'Fix the cause for each failed function and run the step again; functions already on this image are skipped.'
  )
}

/**
 * Whether settings, a version or a verify invoke follow the code update (they need it to have
 * finished: an invoke meanwhile would run the old code, or be refused).
 */
function releaseFollows(target: DeployTarget, config: ActionConfig): boolean {
  return (
    config.publish ||
    config.verify !== undefined ||
    Object.keys(target.overrides).length > 0 ||
    // A function on a capacity provider is always published (domain/function-kinds.ts).
    isManagedInstances(target.function)
  )
}
