import * as core from '@actions/core'
import type { FunctionFacts, FunctionService } from '../adapters/lambda.js'
import { ActionError } from '../domain/errors.js'
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

export async function deployFunction(
  target: DeployTarget,
  image: PushedImage,
  lambda: FunctionService,
  settings: DeploySettings
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
  let updated = await lambda.updateCode({
    functionName: name,
    imageUri: image.imageUri,
    architectures: target.changesArchitecture ? [target.architecture] : undefined
  })
  if (!settings.wait) return { deployed: true, function: updated }
  updated = await lambda.waitForUpdate(name, settings.waitTimeoutSeconds)
  if (updated.lastUpdateStatus === 'Failed') {
    throw new ActionError(
      'function-update-failed',
      `Lambda could not update ${updated.name}: ${updated.lastUpdateStatusReason || 'no reason given'}.`,
      'Fix the cause above and run again; the function keeps running its previous image.'
    )
  }
  if (updated.lastUpdateStatus !== 'Successful') throw waitTimedOut(updated, settings)
  return { deployed: true, function: updated }
}

function sameImage(fn: FunctionFacts, image: PushedImage): boolean {
  return fn.codeSha256 !== '' && `sha256:${fn.codeSha256}` === image.digest
}

function waitTimedOut(fn: FunctionFacts, settings: DeploySettings): ActionError {
  return new ActionError(
    'function-update-timeout',
    `${fn.name} was still ${fn.lastUpdateStatus} (state ${fn.state || 'unknown'}) after ${settings.waitTimeoutSeconds} s.`,
    'Raise wait-timeout, or set wait: false and check the function in the Lambda console.'
  )
}
