import * as core from '@actions/core'
import type { ReleaseService } from '../adapters/lambda-releases.js'
import { aliasChange, settingsChange } from '../domain/function-changes.js'
import { overridesFor } from '../domain/function-overrides.js'
import type { ActionConfig } from '../inputs.js'
import type { PushedImage } from './push-image.js'
import type { DeployTarget } from './resolve-target.js'

export interface ReleaseOutcome {
  /** The settings that were changed (empty: none were given, or they were already so). */
  readonly settingsChanges: readonly string[]
  readonly version?: string
  /** What happened to the alias, in words. */
  readonly alias?: string
}

/** The names function-config can key a function by. */
export function functionKeys(target: DeployTarget): string[] {
  return [target.given, target.function.name, target.function.arn]
}

/**
 * After the code update: runtime settings (only when they differ), then a version, then the
 * alias. Each write names the RevisionId it read, so a concurrent change fails loudly.
 */
export async function releaseFunction(
  target: DeployTarget,
  image: PushedImage,
  releases: ReleaseService,
  config: Pick<ActionConfig, 'overrides' | 'publish' | 'alias' | 'waitTimeoutSeconds' | 'revision'>
): Promise<ReleaseOutcome> {
  const arn = target.function.arn
  const overrides = overridesFor(config.overrides, functionKeys(target))
  let settingsChanges: readonly string[] = []
  if (Object.keys(overrides).length > 0 || config.publish) {
    // Settings and versions need the code update to have finished, even with wait: false.
    await releases.waitForUpdate(arn, config.waitTimeoutSeconds)
  }
  if (Object.keys(overrides).length > 0) {
    const current = await releases.settings(arn)
    const change = settingsChange(current, overrides)
    if (change) {
      core.info(`${target.function.name}: ${change.changes.join('; ')}`)
      await releases.updateSettings(arn, change, current.revisionId)
      await releases.waitForUpdate(arn, config.waitTimeoutSeconds)
      settingsChanges = change.changes
    }
  }
  if (!config.publish) return { settingsChanges }

  const { revisionId } = await releases.settings(arn)
  const description = `${config.revision ? `commit ${config.revision}, ` : ''}${image.digest}`
  const version = await releases.publish(
    arn,
    image.digest.replace(/^sha256:/, ''),
    description.slice(0, 256),
    revisionId
  )
  core.info(`${target.function.name}: published version ${version}`)
  if (!config.alias) return { settingsChanges, version }

  const current = await releases.alias(arn, config.alias.name)
  const change = aliasChange(current, version, config.alias.routingWeight)
  if (change.action === 'create') {
    await releases.createAlias(arn, config.alias.name, change.functionVersion, change.weights)
  } else if (change.action === 'update') {
    await releases.updateAlias(
      arn,
      config.alias.name,
      change.functionVersion,
      change.weights,
      current!.revisionId
    )
  }
  const alias = `${config.alias.name} ${change.action === 'none' ? 'already points at ' + version : change.description}`
  core.info(`${target.function.name}: alias ${alias}`)
  return { settingsChanges, version, alias }
}
