import * as core from '@actions/core'
import { UPDATE_CONFLICT, type FunctionFacts, type FunctionService } from '../adapters/lambda.js'
import { ActionError, isActionError } from '../domain/errors.js'
import type { PushedImage } from './push-image.js'
import type { DeployTarget } from './resolve-target.js'

export interface DeployOutcome {
  /** False when the function already ran this image (nothing was changed). */
  readonly deployed: boolean
  readonly function: FunctionFacts
}

export interface DeploySettings {
  readonly wait: boolean
  readonly waitTimeoutSeconds: number
}

/**
 * How often a code update refused with ResourceConflictException is tried again, each time after
 * waiting for the other update to finish: another pipeline may start one in between.
 */
export const MAX_CONFLICT_ATTEMPTS = 4
/** Pause before retrying after a conflict, doubled each time (the function may already be idle). */
const CONFLICT_BACKOFF_MS = 1_000

export async function deployFunction(
  target: DeployTarget,
  image: PushedImage,
  lambda: FunctionService,
  settings: DeploySettings,
  sleep: (ms: number) => Promise<void> = defaultSleep
): Promise<DeployOutcome> {
  const name = target.function.arn
  let current = target.function
  const busy = busyWith(current)
  if (busy) {
    core.info(`${current.name} ${busy}; waiting for it to finish first.`)
    current = await lambda.waitForUpdate(name, settings.waitTimeoutSeconds)
    if (busyWith(current)) throw waitTimedOut(current, settings)
  }
  const redeploy = redeployReason(current)
  // For image functions CodeSha256 is the manifest digest, so equality means "same image" --
  // unless the last update failed (CodeSha256 may then name an image Lambda never ran) or the
  // function is Failed (its image gone or unreadable): then the same image is deployed again.
  if (sameImage(current, image) && !target.changesArchitecture && !redeploy) {
    core.info(`${current.name} already runs ${image.imageUri}; no update needed.`)
    return { deployed: false, function: current }
  }
  if (redeploy) core.info(`${current.name}: ${redeploy}; deploying ${image.imageUri} again.`)
  if (current.state === 'Inactive') {
    core.info(
      `${current.name} is Inactive (idle); Lambda restores it with this update, which takes longer.`
    )
  }
  core.info(`Updating the code of ${current.name} to ${image.imageUri}`)
  let updated = await updateWhenIdle(target, image, lambda, settings, sleep)
  if (!settings.wait) return { deployed: true, function: updated }
  core.info(`Waiting up to ${settings.waitTimeoutSeconds} s for the update of ${current.name}`)
  updated = await lambda.waitForUpdate(name, settings.waitTimeoutSeconds)
  if (updated.lastUpdateStatus === 'Failed') {
    throw new ActionError(
      'function-update-failed',
      `Lambda could not update ${updated.name}: ${updated.lastUpdateStatusReason || 'no reason given'}${reasonCode(updated)}.`,
      'Fix the cause above and run again; the function keeps running its previous image.'
    )
  }
  if (updated.lastUpdateStatus !== 'Successful' || busyWith(updated)) {
    throw waitTimedOut(updated, settings)
  }
  return { deployed: true, function: updated }
}

/** UpdateFunctionCode, waiting out (a bounded number of times) another update in progress. */
async function updateWhenIdle(
  target: DeployTarget,
  image: PushedImage,
  lambda: FunctionService,
  settings: DeploySettings,
  sleep: (ms: number) => Promise<void>
): Promise<FunctionFacts> {
  const name = target.function.arn
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await lambda.updateCode({
        functionName: name,
        imageUri: image.imageUri,
        architectures: target.changesArchitecture ? [target.architecture] : undefined
      })
    } catch (error) {
      if (!isActionError(error) || error.id !== UPDATE_CONFLICT) throw error
      if (attempt >= MAX_CONFLICT_ATTEMPTS) {
        throw new ActionError(
          UPDATE_CONFLICT,
          `${error.reason} (still after ${attempt} attempts, each after waiting for the other update).`,
          error.fix
        )
      }
      core.info(
        `Another update of ${target.function.name} is in progress; waiting for it, then trying again (attempt ${attempt + 1} of ${MAX_CONFLICT_ATTEMPTS}).`
      )
      const other = await lambda.waitForUpdate(name, settings.waitTimeoutSeconds)
      if (busyWith(other)) throw waitTimedOut(other, settings)
      await sleep(CONFLICT_BACKOFF_MS * 2 ** (attempt - 1))
    }
  }
}

/**
 * What keeps Lambda from taking a change now, in words; undefined when nothing does. Lambda
 * refuses updates while one is in progress, and while the function is Pending (just created,
 * or being restored) -- "Lambda function states".
 */
export function busyWith(fn: FunctionFacts): string | undefined {
  if (fn.state === 'Pending') {
    return `is Pending${fn.stateReason ? ` (${fn.stateReason.replace(/\.$/, '')})` : ''}`
  }
  if (fn.lastUpdateStatus === 'InProgress') return 'has an update in progress'
  return undefined
}

/** Why the image must be deployed even when CodeSha256 already names it. */
export function redeployReason(fn: FunctionFacts): string | undefined {
  if (fn.lastUpdateStatus === 'Failed') {
    return `its last update failed (${fn.lastUpdateStatusReason || 'no reason given'}${reasonCode(fn)})`
  }
  if (fn.state === 'Failed') {
    return `it is Failed (${fn.stateReason || 'no reason given'}${fn.stateReasonCode ? ` (${fn.stateReasonCode})` : ''})`
  }
  return undefined
}

function sameImage(fn: FunctionFacts, image: PushedImage): boolean {
  return fn.codeSha256 !== '' && `sha256:${fn.codeSha256}` === image.digest
}

function reasonCode(fn: FunctionFacts): string {
  return fn.lastUpdateStatusReasonCode ? ` (${fn.lastUpdateStatusReasonCode})` : ''
}

/** A waiter that ran out of time: say where the function stands now, in Lambda's own words. */
function waitTimedOut(fn: FunctionFacts, settings: DeploySettings): ActionError {
  const reason = fn.lastUpdateStatusReason
    ? `; reason: ${fn.lastUpdateStatusReason}${reasonCode(fn)}`
    : ''
  return new ActionError(
    'function-update-timeout',
    `${fn.name} was still LastUpdateStatus ${fn.lastUpdateStatus}, State ${fn.state || 'unknown'}${reason}, after ${settings.waitTimeoutSeconds} s.`,
    'Raise wait-timeout, or set wait: false and check the function in the Lambda console.'
  )
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}
