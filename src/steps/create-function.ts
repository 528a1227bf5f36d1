import * as core from '@actions/core'
import type { FunctionService } from '../adapters/lambda.js'
import { ActionError } from '../domain/errors.js'
import type { DeployOutcome, DeploySettings } from './deploy-function.js'
import type { PushedImage } from './push-image.js'
import type { DeployTarget } from './resolve-target.js'

/**
 * CreateFunction for a function that did not exist (create-function-role), from the pushed image
 * by digest, on the plan's architecture; then waits until it is Active. A new function is
 * Pending until Lambda has prepared its image, and refuses updates, configuration changes and
 * PublishVersion until then ("Lambda function states"), so this waits even with wait: false.
 */
export async function createFunction(
  target: DeployTarget,
  image: PushedImage,
  lambda: FunctionService,
  settings: DeploySettings
): Promise<DeployOutcome> {
  const creation = target.creation
  if (!creation) throw new Error(`${target.function.name} is not planned for creation`)
  const name = target.function.arn
  core.info(
    `Creating ${target.function.name} from ${image.imageUri} (${target.architecture}, role ${creation.roleArn}, ${creation.memoryMb} MB, ${creation.timeoutSeconds} s)`
  )
  await lambda.create({
    functionName: name,
    imageUri: image.imageUri,
    architecture: target.architecture,
    roleArn: creation.roleArn,
    memoryMb: creation.memoryMb,
    timeoutSeconds: creation.timeoutSeconds
  })
  core.info(
    `Waiting up to ${settings.waitTimeoutSeconds} s for ${target.function.name} to be Active`
  )
  const created = await lambda.waitUntilActive(name, settings.waitTimeoutSeconds)
  if (created.state === 'Failed') {
    throw new ActionError(
      'function-create-failed',
      `Lambda created ${created.name} but it is Failed: ${created.stateReason || 'no reason given'}${created.stateReasonCode ? ` (${created.stateReasonCode})` : ''}.`,
      'Fix the cause above (often the image or the role), then run again: the function exists now, so the next run updates it.'
    )
  }
  if (created.state !== 'Active') {
    throw new ActionError(
      'function-create-timeout',
      `${created.name} was created but still ${created.state || 'in an unknown state'} after ${settings.waitTimeoutSeconds} s.`,
      'Raise wait-timeout, or check the function in the Lambda console; the next run updates it.'
    )
  }
  return { deployed: true, function: created }
}
