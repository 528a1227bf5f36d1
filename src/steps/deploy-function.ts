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
  if (current.lastUpdateStatus === 'InProgress') {
    core.info(`An update of ${current.name} is in progress; waiting for it to finish first.`)
    current = await lambda.waitForUpdate(name, settings.waitTimeoutSeconds)
    if (current.lastUpdateStatus === 'InProgress') throw waitTimedOut(current, settings)
  }
  // For image functions CodeSha256 is the manifest digest, so equality means "same image".
  if (sameImage(current, image) && !target.changesArchitecture) {
    core.info(`${current.name} already runs ${image.imageUri}; no update needed.`)
    return { deployed: false, function: current }
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
  if (updated.lastUpdateStatus !== 'Successful') throw waitTimedOut(updated, settings)
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
      if (other.lastUpdateStatus === 'InProgress') throw waitTimedOut(other, settings)
      await sleep(CONFLICT_BACKOFF_MS * 2 ** (attempt - 1))
    }
  }
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
