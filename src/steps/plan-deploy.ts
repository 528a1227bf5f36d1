import type { AwsServices } from '../adapters/aws-clients.js'
import type { RepositoryLocation } from '../domain/aws-names.js'
import { aliasChange, settingsChange } from '../domain/function-changes.js'
import { publishPlan } from '../domain/function-kinds.js'
import { describeRolloutPlan } from '../domain/rollout-plan.js'
import type { ActionConfig } from '../inputs.js'
import { settleConcurrently } from './concurrency.js'
import { busyWith, redeployReason } from './deploy-function.js'
import { checkGrantFits } from './grant-pull.js'
import type { DeployTarget } from './resolve-target.js'

/** What a deploy would do, found out with reads only (dry-run). */
export interface DeployPlanReport {
  readonly pushes: readonly string[]
  readonly grants: readonly { readonly repository: string; readonly changes: readonly string[] }[]
  readonly functions: readonly {
    readonly target: DeployTarget
    readonly changes: readonly string[]
    readonly error?: unknown
  }[]
}

/**
 * The image to deploy, as far as a plan knows it: pushed already (deploy-only), or built locally
 * and not pushed, known by its config digest.
 */
export type PlannedImage =
  | { readonly kind: 'pushed'; readonly digest: string }
  | {
      readonly kind: 'local'
      readonly configDigest: string
      readonly references: readonly string[]
    }

export async function planDeploy(
  targets: readonly DeployTarget[],
  repositories: readonly RepositoryLocation[],
  image: PlannedImage,
  aws: AwsServices,
  config: ActionConfig
): Promise<DeployPlanReport> {
  const pushes = image.kind === 'local' ? [...image.references] : []
  const grants = []
  if (config.manageRepositoryPolicy) {
    for (const repository of repositories) {
      // A grant that would not fit fails the plan, as it fails the deploy before its push.
      const changes = await checkGrantFits(
        repository,
        targets.filter(t => t.repository === repository).map(t => t.function.arn),
        aws.registry(repository.region)
      )
      grants.push({ repository: repository.uri, changes })
    }
  }
  const settled = await settleConcurrently(targets, config.maxConcurrency, target =>
    planFunction(target, image, aws, config)
  )
  const functions = settled.map((result, index) => ({
    target: targets[index]!,
    changes: result.status === 'fulfilled' ? result.value : [],
    error: result.status === 'rejected' ? (result.reason as unknown) : undefined
  }))
  return { pushes, grants, functions }
}

async function planFunction(
  target: DeployTarget,
  image: PlannedImage,
  aws: AwsServices,
  config: ActionConfig
): Promise<string[]> {
  if (target.creation) return creationPlan(target, config)
  const changes: string[] = []
  const fn = target.function
  const releases = aws.releases(target.region, target.roleArn)
  const busy = busyWith(fn)
  // The deploy waits for a Pending function or an update in progress (deploy-function.ts).
  if (busy) changes.push(`wait: ${fn.name} ${busy}; the deploy waits until it can take a change`)
  const redeploy = redeployReason(fn)
  const sameCode = await runsSameImage(target, image, aws)
  if (sameCode && !redeploy) changes.push('code: unchanged (already runs this image)')
  else if (sameCode) changes.push(`code: deployed again, because ${redeploy}`)
  else changes.push(`code: ${fn.imageUri || '(none)'} → the new image`)
  if (fn.state === 'Inactive') changes.push('state: Inactive; the code update restores it')
  if (target.changesArchitecture) changes.push(`architecture → ${target.architecture}`)
  // DryRun proves permission and that no update blocks it; the new image is not in ECR yet,
  // so the request names the image the function runs now. While the function is busy Lambda
  // answers it with a conflict the real deploy waits out, so it is not asked then.
  if (fn.imageUri && !busy) await releases.dryRunCodeUpdate(fn.arn, fn.imageUri)

  const overrides = target.overrides
  if (Object.keys(overrides).length > 0) {
    const change = settingsChange(await releases.settings(fn.arn), overrides)
    changes.push(...(change?.changes.map(line => `setting: ${line}`) ?? ['settings: unchanged']))
  }
  // Lambda Managed Instances publish to $LATEST.PUBLISHED without publish (function-kinds.ts).
  changes.push(...publishPlan(fn, config))
  if (config.alias) {
    const current = await releases.alias(fn.arn, config.alias.name)
    const change = aliasChange(current, '(new version)', config.alias.routingWeight)
    changes.push(
      current && config.rollout
        ? `alias ${config.alias.name}: rollout from ${current.functionVersion} to (new version), ${describeRolloutPlan(config.rollout.plan)}`
        : `alias ${config.alias.name}: ${change.action === 'create' ? 'create, ' : ''}${change.description}`
    )
  }
  return changes
}

/** A function that does not exist yet: nothing to read, only what would be created. */
export function creationPlan(target: DeployTarget, config: ActionConfig): string[] {
  const creation = target.creation!
  const changes = [
    `would create: PackageType Image, ${target.architecture}, role ${creation.roleArn}, ${creation.memoryMb} MB, ${creation.timeoutSeconds} s, running the new image`
  ]
  const settings = Object.keys(target.overrides)
  if (settings.length > 0) changes.push(`settings: ${settings.join(', ')} from function-config`)
  if (config.publish) changes.push('publish a new version')
  if (config.alias) changes.push(`alias ${config.alias.name}: create, → (new version)`)
  return changes
}

/** Whether the function already runs this image: same manifest digest, or same config digest. */
async function runsSameImage(
  target: DeployTarget,
  image: PlannedImage,
  aws: AwsServices
): Promise<boolean> {
  const deployed = /^(.+)@(sha256:[a-f0-9]{64})$/.exec(target.function.imageUri)
  if (image.kind === 'pushed') return `sha256:${target.function.codeSha256}` === image.digest
  if (!deployed || deployed[1] !== target.repository.uri) return false
  const manifest = await aws
    .registry(target.region)
    .manifest(target.repository, deployed[2]!)
    .catch(() => undefined)
  if (!manifest) return false
  const configDigest = (JSON.parse(manifest.body) as { config?: { digest?: string } }).config
    ?.digest
  return configDigest === image.configDigest && !target.changesArchitecture
}
