import type { ActionConfig } from '../inputs.js'
import type { DeployPlan } from './resolve-target.js'

/**
 * What the run itself shows in the clear: in its outputs (image-uri, image-digest, repository,
 * function-arn, functions, base-image, base-image-digest), its log and its summary. These are
 * the names, accounts, regions, ARNs, URIs, tags and digests of what it deploys, none of them a
 * secret; a function variable found inside one of them is not registered as one (secret-mask.ts),
 * or the runner would mask the outputs and drop them.
 */
export function publishedValues(
  plan: DeployPlan,
  config: Pick<ActionConfig, 'alias' | 'tags'>,
  /** Known later in the run: the base image, the pushed images' URIs and digests. */
  more: readonly (string | undefined)[] = []
): string[] {
  const values = new Set<string>()
  const add = (value: string | undefined) => {
    if (value) values.add(value)
  }
  for (const target of plan.targets) {
    add(target.given)
    add(target.function.name)
    add(target.function.arn)
    add(target.region)
    add(target.account)
    add(target.repository.uri)
    add(target.roleArn)
  }
  for (const repository of plan.repositories) add(repository.uri)
  add(config.alias?.name)
  for (const tag of config.tags) add(tag)
  for (const value of more) add(value)
  return [...values]
}
