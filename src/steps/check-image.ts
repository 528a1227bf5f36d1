import { checkImage, type Finding, type ImageFacts } from '../domain/image-checks.js'
import type { ActionConfig } from '../inputs.js'
import type { DeployTarget } from './resolve-target.js'

/** Lambda's requirements, checked on the local image before anything is pushed. */
export function checkBuiltImage(
  image: ImageFacts,
  config: ActionConfig,
  target: DeployTarget
): Finding[] {
  return checkImage(image, {
    architecture: target.architecture,
    maxImageBytes: config.maxImageBytes
  })
}
