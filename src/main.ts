import * as core from '@actions/core'
import { createAwsServices, type AwsServices } from './adapters/aws-clients.js'
import { createDockerEngine, type DockerEngine } from './adapters/docker.js'
import { removeAllSecretDirectories } from './adapters/temporary-files.js'
import { ActionError, describeFailure } from './domain/errors.js'
import {
  inputsFromEnvironment,
  parseConfig,
  type ActionConfig,
  type BuildSettings,
  type Environment
} from './inputs.js'
import {
  reportFindings,
  reportPlan,
  setOutputs,
  writeSummary,
  type RunFacts
} from './presentation/report.js'
import { buildImage, type BuiltImage } from './steps/build-image.js'
import {
  baseLabels,
  builderCanPull,
  decideRebuild,
  ecrRegistriesOf,
  registryClient,
  resolveBaseImage,
  verifyBaseLayers
} from './steps/base-image.js'
import { checkBuiltImage } from './steps/check-image.js'
import { checkRetention } from './steps/check-retention.js'
import { deployFunctions, failureOf } from './steps/deploy-functions.js'
import {
  verifyBeforeTraffic,
  verifyDeployed,
  verifyFailure,
  type VerifyResult
} from './steps/verify-invoke.js'
import { checkGrantsFit, grantLambdaPull } from './steps/grant-pull.js'
import { moveDeployedTag } from './steps/move-deployed-tag.js'
import { publishedValues } from './steps/published-values.js'
import {
  creationPlan,
  planDeploy,
  type DeployPlanReport,
  type PlannedImage
} from './steps/plan-deploy.js'
import { ensureRepositories } from './steps/create-repository.js'
import {
  PUSH_RETRY,
  inputsTagFirst,
  isImmutableTagRefusal,
  pushImage,
  type PushedImage
} from './steps/push-image.js'
import { resolveExistingImage } from './steps/resolve-image.js'
import {
  adoptImmutableInputsImage,
  findReusableImage,
  refreshFromInputs,
  fingerprintBuild,
  type BuildFingerprint,
  type InputsImage,
  type ReusableImage
} from './steps/reuse-image.js'
import { resolveTargets, type DeployPlan, type DeployTarget } from './steps/resolve-target.js'
import type { ImageReference, RepositoryLocation } from './domain/aws-names.js'
import type { StoredManifest } from './adapters/ecr.js'
import { applyFindingPolicy, type Finding } from './domain/image-checks.js'
import { smokeTestImage, type SmokeTestReport } from './steps/smoke-test.js'
import { readTagMutabilities, planTagWrites, type TagMutabilities } from './steps/tag-mutability.js'
import { isTagImmutable, MUTABLE_TAGS, type TagDecision } from './domain/tag-mutability.js'
import { BUILD_CACHE_TAG_PREFIX } from './domain/docker-setup.js'
import type { ResolvedBase } from './steps/base-image.js'

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

type Timed = <T>(phase: string, work: () => Promise<T>) => Promise<T>

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
  const image = config.image
    ? await existingImage(config.image, plan, aws, config, facts, timed)
    : await builtImage(config.build!, plan, { aws, docker, env }, config, facts, timed)
  if (!image) return

  if (config.dryRun) {
    facts.dryRunReport = await timed('plan', () =>
      planDeploy(plan.targets, plan.repositories, image.planned, aws, config)
    )
    reportPlan(facts.dryRunReport, facts.repositoryCreations)
    if (config.verify) {
      core.info(
        `Dry run: would invoke ${plan.targets.map(t => t.function.name).join(', ')} once with ${config.verify.label} ${config.publish && config.alias ? 'on the new version, before the alias moves' : `after the update${config.publish ? ' (the new version)' : ''}`}; nothing was invoked.`
      )
    }
    return
  }
  // A grant ECR would refuse (policy over its size limit) stops the run before the push.
  if (config.manageRepositoryPolicy) {
    await timed('grant-check', () => checkGrantsFit(plan.repositories, plan.targets, aws))
  }
  const pushed = await timed('push', image.publish)
  facts.pushed = [...pushed.values()]
  await timed('grant', () => grantAll(plan, aws, config, facts))
  const imageFor = (target: DeployTarget) => pushed.get(target.repository.uri)!
  // After the push, so that ECR's lifecycle preview sees the image being deployed.
  facts.retention = await timed('retention', () =>
    checkRetention(plan, imageFor, aws, config.deployedTag)
  )
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

/** The image a run deploys: how a plan names it, and how it gets into each region's repository. */
interface DeployableImage {
  readonly planned: PlannedImage
  /** Pushes it where needed; the image in ECR per repository URI. */
  readonly publish: () => Promise<Map<string, PushedImage>>
}

/**
 * Build, and everything that must hold before a push: the base image resolved (and, for a
 * scheduled refresh, compared with the deployed one), the checks, the smoke test. Undefined when
 * the refresh finds nothing to do.
 */
async function builtImage(
  build: BuildSettings,
  plan: DeployPlan,
  { aws, docker, env }: Dependencies,
  config: ActionConfig,
  facts: RunFacts,
  timed: Timed
): Promise<DeployableImage | undefined> {
  const registry = registryClient(aws)
  const base = await timed('base-image', () => resolveBaseImage(build, plan.architecture, registry))
  facts.base = base
  let fingerprint: BuildFingerprint | undefined
  if (config.rebuild !== 'always') {
    fingerprint = await timed('inputs', () =>
      fingerprintBuild(build, plan.architecture, base, registry)
    )
    facts.inputsDigest = fingerprint?.digest
  }
  if (config.rebuild === 'if-base-changed') {
    const target = plan.targets[0]!
    facts.refresh = await timed('refresh-check', async () => {
      const byInputs =
        fingerprint && (await refreshFromInputs(fingerprint, target, base, aws, registry))
      return byInputs ?? decideRebuild(target, base, registry, config.revision)
    })
    if (!facts.refresh.rebuild) return undefined
  }
  // After the refresh decision (which needs none of it) and before the build, whose cache
  // export depends on it; the tags themselves are checked before the push, once the image is
  // known.
  const mutabilities = await timed('tag-mutability', () =>
    readTagMutabilities(plan.repositories, aws)
  )
  if (config.rebuild !== 'always') {
    const inputs = fingerprint
    const reusable =
      inputs &&
      (await timed('reuse-check', () =>
        findReusableImage(inputs, plan, aws, registry, config.maxImageBytes)
      ))
    if (reusable) return reusedImage(reusable, plan, aws, config, facts, mutabilities)
  }
  const buildWith = (labelled: ResolvedBase) =>
    buildImage(
      build,
      {
        ...plan,
        // The inputs tag lets the next run with the same inputs find this image.
        tags: fingerprint ? [...config.tags, fingerprint.tag] : config.tags,
        baseLabels: [...baseLabels(labelled), ...(fingerprint ? [fingerprint.label] : [])],
        cacheTagImmutable: isTagImmutable(
          mutabilities.get(plan.repositories[0]!.uri) ?? MUTABLE_TAGS,
          `${BUILD_CACHE_TAG_PREFIX}${plan.architecture}`
        ),
        pull: builderCanPull(base),
        imageRegistries: ecrRegistriesOf(base),
        registryCredentials: registry => aws.registry(registry.region).authorization(registry)
      },
      docker,
      env
    )
  let built = await timed('build', () => buildWith(base))
  facts.built = built
  const verified = await timed('base-check', () => verifyBaseLayers(built.image, base, registry))
  if (verified === 'unavailable') {
    // Without the unverified digest label: the same build, all cached, another config. Without
    // the inputs label and tag too: the inputs digest includes that base digest, which this
    // build may not have used, and later runs would trust the label (reuse, refresh).
    fingerprint = undefined
    facts.inputsDigest = undefined
    core.info(
      'No inputs label or inputs-* tag on this image: its base could not be verified, so no later run may take it for a build of these inputs.'
    )
    const unverified = { ...base, digest: undefined }
    built = await timed('build', () => buildWith(unverified))
    facts.built = built
    facts.base = unverified
  }
  await checkOrFail(built, plan, config, base, docker, facts, timed)
  if (config.smokeTest.enabled) {
    facts.smokeTests = await timed('smoke-test', () =>
      smokeTestTargets(built, plan, config, docker, [base.base.reference?.canonical, base.digest])
    )
  }
  return {
    planned: { kind: 'local', configDigest: built.configDigest, references: built.references },
    publish: async () => {
      // Every repository's immutable tags are checked before anything is written to any of them.
      const writes = new Map<string, TagDecision[]>()
      // Per repository URI: the image of these inputs another run put under an immutable inputs tag.
      const adopted = new Map<string, InputsImage>()
      for (const repository of plan.repositories) {
        const mutability = mutabilities.get(repository.uri) ?? MUTABLE_TAGS
        const tags = built.references
          .filter(ref => ref.startsWith(`${repository.uri}:`))
          .map(ref => ref.slice(repository.uri.length + 1))
        const other =
          fingerprint &&
          (await adoptImmutableInputsImage(
            fingerprint,
            repository,
            mutability,
            built.configDigest,
            plan,
            aws,
            registry,
            config.maxImageBytes
          ))
        if (other) {
          failOnFindings(other.findings, config, 'nothing was pushed')
          adopted.set(repository.uri, other)
        }
        writes.set(
          repository.uri,
          await planTagWrites(
            repository,
            mutability,
            other ? { digest: other.pushed.digest } : { configDigest: built.configDigest },
            tags,
            aws.registry(repository.region)
          )
        )
      }
      // Only now, with every check passed: nothing of an image that is not deployed reaches ECR.
      await built.exportCache?.()
      const pushed = new Map<string, PushedImage>()
      for (const repository of plan.repositories) {
        const target = plan.targets.find(t => t.repository === repository)!
        const decisions = writes.get(repository.uri)!
        const kept = recordKeptTags(repository.uri, decisions, facts)
        const other = adopted.get(repository.uri)
        if (other) {
          pushed.set(repository.uri, await tagStoredImage(repository, other, decisions, aws))
          continue
        }
        const own = {
          ...built,
          references: inputsTagFirst(
            decisions.flatMap(d => (d.action === 'write' ? [`${repository.uri}:${d.tag}`] : [])),
            fingerprint && `${repository.uri}:${fingerprint.tag}`
          )
        }
        try {
          pushed.set(
            repository.uri,
            await pushImage(
              own,
              target,
              aws.registry(repository.region),
              docker,
              { ...PUSH_RETRY, timeoutMs: config.pushTimeoutSeconds * 1000 },
              kept
            )
          )
        } catch (error) {
          // Another job of the same inputs wrote the immutable inputs tag since the check above:
          // its image, once checked, is this run's image here, as if it had been there before.
          const raced =
            fingerprint && isImmutableTagRefusal(error)
              ? await adoptImmutableInputsImage(
                  fingerprint,
                  repository,
                  mutabilities.get(repository.uri) ?? MUTABLE_TAGS,
                  built.configDigest,
                  plan,
                  aws,
                  registry,
                  config.maxImageBytes
                )
              : undefined
          if (!raced) throw error
          failOnFindings(raced.findings, config, 'nothing was deployed')
          const retagged = await planTagWrites(
            repository,
            mutabilities.get(repository.uri) ?? MUTABLE_TAGS,
            { digest: raced.pushed.digest },
            decisions.map(decision => decision.tag),
            aws.registry(repository.region)
          )
          recordKeptTags(repository.uri, retagged, facts)
          pushed.set(repository.uri, await tagStoredImage(repository, raced, retagged, aws))
        }
      }
      return pushed
    }
  }
}

/**
 * Nothing to build: every repository holds an image of these inputs, checked from the registry.
 * Publishing adds the run's tags to it (PutImage: no layer moves).
 */
function reusedImage(
  reusable: ReusableImage,
  plan: DeployPlan,
  aws: AwsServices,
  config: ActionConfig,
  facts: RunFacts,
  mutabilities: TagMutabilities
): DeployableImage {
  facts.findings = reusable.findings
  facts.registryImageSize = reusable.size
  facts.reusedTag = reusable.tag
  failOnFindings(reusable.findings, config, 'nothing was deployed')
  core.info(
    `The repository holds ${reusable.tag}, built from these same inputs by an earlier run: nothing is built or pushed${config.smokeTest.enabled ? ', and the smoke test does not run (it runs on images a run builds)' : ''}. Set rebuild: always to build anyway.`
  )
  const first = [...reusable.images.values()][0]!
  return {
    planned: { kind: 'pushed', digest: first.pushed.digest },
    publish: async () => {
      const writes = new Map<string, TagDecision[]>()
      for (const repository of plan.repositories) {
        const image = reusable.images.get(repository.uri)!
        writes.set(
          repository.uri,
          await planTagWrites(
            repository,
            mutabilities.get(repository.uri) ?? MUTABLE_TAGS,
            { digest: image.pushed.digest },
            config.tags,
            aws.registry(repository.region)
          )
        )
      }
      const pushed = new Map<string, PushedImage>()
      for (const repository of plan.repositories) {
        const image = reusable.images.get(repository.uri)!
        const decisions = writes.get(repository.uri)!
        recordKeptTags(repository.uri, decisions, facts)
        pushed.set(repository.uri, await tagStoredImage(repository, image, decisions, aws))
      }
      return pushed
    }
  }
}

/** Adds the tags to be written to an image the repository holds (PutImage: no layer moves). */
async function tagStoredImage(
  repository: RepositoryLocation,
  image: { readonly pushed: PushedImage; readonly manifest: StoredManifest },
  decisions: readonly TagDecision[],
  aws: AwsServices
): Promise<PushedImage> {
  for (const decision of decisions) {
    if (decision.action !== 'write') continue
    await aws.registry(repository.region).tagImage(repository, image.manifest, decision.tag)
    core.info(`Tagged ${repository.uri}:${decision.tag} (${image.pushed.digest})`)
  }
  return image.pushed
}

/** Notes the tags left as they are for the summary; the digest they hold, if any. */
function recordKeptTags(
  repositoryUri: string,
  decisions: readonly TagDecision[],
  facts: RunFacts
): string | undefined {
  let digest: string | undefined
  for (const decision of decisions) {
    if (decision.action !== 'keep') continue
    facts.keptTags = [...(facts.keptTags ?? []), { repositoryUri, ...decision }]
    digest = decision.digest
  }
  return digest
}

/** Deploy-only: the image is in ECR already; what the registry holds is checked, not pulled. */
async function existingImage(
  reference: ImageReference,
  plan: DeployPlan,
  aws: AwsServices,
  config: ActionConfig,
  facts: RunFacts,
  timed: Timed
): Promise<DeployableImage> {
  const existing = await timed('check', () =>
    resolveExistingImage(
      reference,
      plan,
      aws.registry(reference.repository.region),
      registryClient(aws),
      config.maxImageBytes
    )
  )
  facts.findings = existing.findings
  facts.registryImageSize = existing.size
  failOnFindings(existing.findings, config, 'nothing was deployed')
  return {
    planned: { kind: 'pushed', digest: existing.pushed.digest },
    publish: () => Promise.resolve(new Map([[reference.repository.uri, existing.pushed]]))
  }
}

async function checkOrFail(
  built: BuiltImage,
  plan: DeployPlan,
  config: ActionConfig,
  base: ResolvedBase,
  docker: DockerEngine,
  facts: RunFacts,
  timed: Timed
): Promise<void> {
  const entrypointOverrides = plan.targets.flatMap(target => {
    const entryPoint = target.overrides.entryPoint
    return entryPoint ? [{ function: target.function.name, entryPoint }] : []
  })
  const findings = await timed('check', () =>
    checkBuiltImage(
      built.image,
      {
        architecture: plan.architecture,
        maxImageBytes: config.maxImageBytes,
        awsBaseImage: base.base.isAwsLambdaBase,
        entrypointOverrides
      },
      docker
    )
  )
  facts.findings = findings
  failOnFindings(findings, config, 'nothing was pushed')
}

/**
 * Runs the image locally the way Lambda would, once per distinct function set-up (overrides,
 * memory, timeout), before anything is pushed.
 */
async function smokeTestTargets(
  built: BuiltImage,
  plan: DeployPlan,
  config: ActionConfig,
  docker: DockerEngine,
  /** The base image's name and digest: shown in the outputs, so never masked. */
  baseValues: readonly (string | undefined)[]
): Promise<SmokeTestReport[]> {
  const published = publishedValues(plan, config, baseValues)
  const reports: SmokeTestReport[] = []
  const seen = new Set<string>()
  for (const target of plan.targets) {
    const fn = target.function
    const overrides = target.overrides
    const key = JSON.stringify([
      overrides,
      fn.environment,
      fn.memorySize,
      fn.timeout,
      fn.ephemeralStorageMb
    ])
    if (seen.has(key)) continue
    seen.add(key)
    reports.push(
      await smokeTestImage(
        built.image,
        config.smokeTest,
        {
          name: fn.name,
          arn: fn.arn,
          region: target.region,
          memoryMb: fn.memorySize,
          timeoutSeconds: fn.timeout,
          ephemeralStorageMb: fn.ephemeralStorageMb,
          // The function runs with its own variables, and with those the deploy sets over them.
          overrides: { ...overrides, environment: { ...fn.environment, ...overrides.environment } }
        },
        docker,
        published
      )
    )
  }
  return reports
}

function failOnFindings(all: readonly Finding[], config: ActionConfig, consequence: string): void {
  const { findings, waived } = applyFindingPolicy(
    all,
    config.ignoreFindings,
    config.warningsAsErrors
  )
  reportFindings(findings, config.build?.file)
  for (const finding of waived) {
    core.notice(`Waived by ignore-findings: [${finding.id}] ${finding.message}`)
  }
  const errors = findings.filter(finding => finding.severity === 'error')
  if (errors.length > 0) {
    throw new ActionError(
      'image-checks-failed',
      `The image fails ${errors.length} of Lambda's requirements (${errors.map(e => e.id).join(', ')}); ${consequence}.`,
      'See the annotations for each finding and its fix.'
    )
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
