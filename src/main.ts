import * as core from '@actions/core'
import { createAwsServices, type AwsServices } from './adapters/aws-clients.js'
import { createDockerEngine, type DockerEngine } from './adapters/docker.js'
import { removeAllSecretDirectories } from './adapters/temporary-files.js'
import { ActionError, describeFailure } from './domain/errors.js'
import { isManagedInstances, LATEST_PUBLISHED } from './domain/function-kinds.js'
import {
  inputsFromEnvironment,
  parseConfig,
  type ActionConfig,
  type Environment
} from './inputs.js'
import { reportPlan, setOutputs, writeSummary, type RunFacts } from './presentation/report.js'
import { builtImage } from './steps/built-image.js'
import { checkRetention } from './steps/check-retention.js'
import { ensureRepositories } from './steps/create-repository.js'
import { existingImage, type Timed } from './steps/deployable-image.js'
import { deployFunctions, failureOf } from './steps/deploy-functions.js'
import { checkGrantsFit, grantLambdaPull } from './steps/grant-pull.js'
import { moveDeployedTag } from './steps/move-deployed-tag.js'
import { creationPlan, planDeploy, type DeployPlanReport } from './steps/plan-deploy.js'
import { publishedValues } from './steps/published-values.js'
import { resolveTargets, type DeployPlan, type DeployTarget } from './steps/resolve-target.js'
import {
  verifyBeforeTraffic,
  verifyDeployed,
  verifyFailure,
  type VerifyResult
} from './steps/verify-invoke.js'

export interface Dependencies {
  readonly aws: AwsServices
  readonly docker: DockerEngine
  readonly env: Environment
}

/** The action: resolve → build → check → push → grant → deploy, then report what happened. */
export async function run(
  deps: Dependencies = { aws: createAwsServices(), docker: createDockerEngine(), env: process.env }
): Promise<void> {
  const facts: RunFacts = { timings: [] }
  let failure: unknown
  try {
    await deploy(deps, facts)
  } catch (error) {
    failure = error
    core.setFailed(describeFailure(error))
  } finally {
    removeAllSecretDirectories()
  }
  // Outputs and summary are written in every outcome; a runner that cannot take them (an
  // unwritable GITHUB_OUTPUT) fails the step once, after a deploy that may well have happened.
  try {
    setOutputs(facts)
  } catch (error) {
    const reason = `The step outputs could not be written (${describeFailure(error)}); ${facts.results ? 'the deploy itself ran, see the log above' : 'nothing after this depends on them'}.`
    const fix =
      'Check GITHUB_OUTPUT: it must name a writable file (the runner sets it; a step that overrides it breaks outputs).'
    if (failure === undefined) {
      failure = new ActionError('outputs-not-written', reason, fix)
      core.setFailed(describeFailure(failure))
    } else {
      core.warning(`${reason} ${fix}`)
    }
  }
  try {
    await writeSummary(facts, failure)
  } catch (error) {
    core.warning(`Could not write the job summary: ${describeFailure(error)}`)
  }
}

async function deploy({ aws, docker, env }: Dependencies, facts: RunFacts): Promise<void> {
  const timed: Timed = async (phase, work) => {
    const started = performance.now()
    try {
      return await work()
    } finally {
      facts.timings.push({ phase, seconds: (performance.now() - started) / 1000 })
    }
  }

  const config = parseConfig(inputsFromEnvironment(env), env)
  facts.maxImageBytes = config.maxImageBytes
  facts.dockerfile = config.build?.file
  facts.dryRun = config.dryRun

  const plan = await timed('resolve', () => resolveTargets(config, aws))
  facts.plan = plan
  if (config.createRepository) {
    const creation = config.createRepository
    facts.repositoryCreations = await timed('create-repository', () =>
      ensureRepositories(plan.repositories, creation, aws, config.dryRun)
    )
  }
  if (facts.repositoryCreations?.some(outcome => outcome.status === 'would-create')) {
    // The checks a dry run goes on with all read the repository, which does not exist yet.
    facts.dryRunReport = planWithoutRepository(plan, config)
    reportPlan(facts.dryRunReport, facts.repositoryCreations)
    core.notice(
      'Dry run: the repository does not exist yet, so the image was not built or checked; run without dry-run to create it and deploy.'
    )
    return
  }
  // A grant ECR would refuse (policy over its size limit) stops the run before the push. The
  // check needs only the plan, so it runs while the image is built or checked, and its failure
  // comes after theirs; not in a scheduled refresh, which mostly finds nothing to push.
  const checkGrants = () => checkGrantsFit(plan.repositories, plan.targets, aws)
  const grantsChecked =
    config.manageRepositoryPolicy && !config.dryRun && config.rebuild !== 'if-base-changed'
      ? checkGrants()
      : undefined
  grantsChecked?.catch(() => undefined)
  const image = config.image
    ? await existingImage(config.image, plan, aws, config, facts, timed)
    : await builtImage(config.build!, plan, { aws, docker, env }, config, facts, timed)
  if (!image) return

  if (config.dryRun) {
    facts.dryRunReport = await timed('plan', () =>
      planDeploy(plan.targets, plan.repositories, image.planned, aws, config)
    )
    reportDryRun(facts.dryRunReport, plan, config, facts)
    return
  }
  if (config.manageRepositoryPolicy) {
    await timed('grant-check', () => grantsChecked ?? checkGrants())
  }
  const pushed = await timed('push', image.publish)
  facts.pushed = [...pushed.values()]
  const imageFor = (target: DeployTarget) => pushed.get(target.repository.uri)!
  // The pull grant and the retention check (after the push, so that ECR's lifecycle preview sees
  // the image being deployed) need nothing from each other: both run at once, and a failed grant
  // is reported first.
  const [granted, retention] = await Promise.allSettled([
    timed('grant', () => grantAll(plan, aws, config, facts)),
    timed('retention', () => checkRetention(plan, imageFor, aws, config.deployedTag))
  ])
  if (granted.status === 'rejected') throw granted.reason
  if (retention.status === 'rejected') throw retention.reason
  facts.retention = retention.value
  // With an alias, each new version is invoked before the alias moves (see releaseFunction).
  const verifiedBeforeTraffic: VerifyResult[] = []
  const verify = config.verify
  const published = publishedValues(plan, config, [
    facts.base?.base.reference?.canonical,
    facts.base?.digest,
    ...facts.pushed.flatMap(image => [image.imageUri, image.digest])
  ])
  const beforeTrafficFor =
    verify && config.publish && config.alias
      ? (target: DeployTarget) =>
          verifyBeforeTraffic(
            target,
            verify,
            aws.invoker(target.region, target.roleArn),
            published,
            result => verifiedBeforeTraffic.push(result)
          )
      : undefined
  facts.results = await timed('deploy', () =>
    deployFunctions(plan.targets, imageFor, aws, config, beforeTrafficFor)
  )
  if (config.deployedTag) {
    const tag = config.deployedTag
    facts.deployedTag = await timed('deployed-tag', () =>
      moveDeployedTag(tag, plan, uri => pushed.get(uri)!, facts.results!, aws)
    )
  }
  if (verify) {
    const already = new Set(verifiedBeforeTraffic.map(result => result.arn))
    const afterDeploy = await timed('verify', () =>
      verifyDeployed(
        facts.results!,
        verify,
        target => aws.invoker(target.region, target.roleArn),
        published,
        already
      )
    )
    facts.verify = [...verifiedBeforeTraffic, ...afterDeploy]
  }
  const failed = failureOf(facts.results)
  if (failed !== undefined) throw failed as Error
  const unverified = verifyFailure(facts.verify ?? [])
  if (unverified !== undefined) throw unverified
}

/** A dry run's plan in the log, and what verify-event would have invoked. */
function reportDryRun(
  report: DeployPlanReport,
  plan: DeployPlan,
  config: ActionConfig,
  facts: RunFacts
): void {
  reportPlan(report, facts.repositoryCreations)
  const verify = config.verify
  if (!verify) return
  // Functions that would be invoked the same way share one line.
  const byWhen = new Map<string, string[]>()
  for (const target of plan.targets) {
    const when = verifyMoment(target, config)
    byWhen.set(when, [...(byWhen.get(when) ?? []), target.function.name])
  }
  for (const [when, names] of byWhen) {
    core.info(
      `Dry run: would invoke ${names.join(', ')} once with ${verify.label} ${when}; nothing was invoked.`
    )
  }
}

/** When, and on which version, a deploy would invoke a function for verify-event. */
function verifyMoment(target: DeployTarget, config: ActionConfig): string {
  if (config.publish && config.alias) return 'on the new version, before the alias moves'
  if (config.publish) return 'after the update (the new version)'
  if (isManagedInstances(target.function)) {
    return `on ${LATEST_PUBLISHED} once it is published and ready`
  }
  return 'after the update'
}

/** A dry run's plan when a repository would be created first: nothing else can be read. */
function planWithoutRepository(plan: DeployPlan, config: ActionConfig): DeployPlanReport {
  return {
    pushes: [],
    grants: [],
    functions: plan.targets.map(target => ({
      target,
      changes: target.creation
        ? creationPlan(target, config)
        : [`code: ${target.function.imageUri || '(none)'} → the new image`]
    }))
  }
}

/** One policy merge per repository and account: each account's functions must be able to pull. */
async function grantAll(
  plan: DeployPlan,
  aws: AwsServices,
  config: ActionConfig,
  facts: RunFacts
): Promise<void> {
  facts.grants = []
  const seen = new Set<string>()
  for (const target of plan.targets) {
    const key = `${target.repository.uri} ${target.account}`
    if (seen.has(key)) continue
    seen.add(key)
    const outcome = await grantLambdaPull(
      target,
      aws.registry(target.repository.region),
      config.manageRepositoryPolicy
    )
    facts.grants.push({ repository: target.repository.uri, account: target.account, outcome })
  }
}
