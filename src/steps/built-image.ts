import * as core from '@actions/core'
import type { AwsServices } from '../adapters/aws-clients.js'
import type { DockerEngine } from '../adapters/docker.js'
import type { RegistryHttp } from '../adapters/registry-http.js'
import type { StoredManifest } from '../adapters/ecr.js'
import type { RepositoryLocation } from '../domain/aws-names.js'
import { BUILD_CACHE_TAG_PREFIX } from '../domain/docker-setup.js'
import { isTagImmutable, MUTABLE_TAGS, type TagDecision } from '../domain/tag-mutability.js'
import type { ActionConfig, BuildSettings, Environment } from '../inputs.js'
import type { RunFacts } from '../presentation/report.js'
import {
  baseLabels,
  builderCanPull,
  decideRebuild,
  ecrRegistriesOf,
  registryClient,
  resolveBaseImage,
  verifyBaseLayers,
  type ResolvedBase
} from './base-image.js'
import { buildImage, type BuiltImage } from './build-image.js'
import { checkBuiltImage } from './check-image.js'
import { failOnFindings, type DeployableImage, type Timed } from './deployable-image.js'
import { publishedValues } from './published-values.js'
import {
  PUSH_RETRY,
  inputsTagFirst,
  isImmutableTagRefusal,
  pushImage,
  type PushedImage
} from './push-image.js'
import type { DeployPlan } from './resolve-target.js'
import {
  adoptImmutableInputsImage,
  findReusableImage,
  fingerprintBuild,
  refreshFromInputs,
  type BuildFingerprint,
  type InputsImage,
  type ReusableImage
} from './reuse-image.js'
import { smokeTestImage, type SmokeTestReport } from './smoke-test.js'
import { planTagWrites, readTagMutabilities, type TagMutabilities } from './tag-mutability.js'

/** What building needs from outside: AWS, the Docker engine, the process environment. */
export interface BuildServices {
  readonly aws: AwsServices
  readonly docker: DockerEngine
  readonly env: Environment
}

/**
 * Build, and everything that must hold before a push: the base image resolved (and, for a
 * scheduled refresh, compared with the deployed one), the checks, the smoke test. Undefined when
 * the refresh finds nothing to do.
 */
export async function builtImage(
  build: BuildSettings,
  plan: DeployPlan,
  { aws, docker, env }: BuildServices,
  config: ActionConfig,
  facts: RunFacts,
  timed: Timed
): Promise<DeployableImage | undefined> {
  const registry = registryClient(aws)
  // Read while the base image is resolved, since neither needs the other: the repositories' tag
  // mutability (for the build's cache export and, before the push, the tags). Its failure is
  // reported where it is awaited, after the base image's own. Not in a scheduled refresh, which
  // mostly finds nothing to build and then needs none of it.
  const readMutabilities = () => readTagMutabilities(plan.repositories, aws)
  const mutabilitiesRead = config.rebuild === 'if-base-changed' ? undefined : readMutabilities()
  mutabilitiesRead?.catch(() => undefined)
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
  // Before the build, whose cache export depends on it; the tags themselves are checked before
  // the push, once the image is known.
  const mutabilities = await timed('tag-mutability', () => mutabilitiesRead ?? readMutabilities())
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
    publish: () =>
      publishBuilt(built, fingerprint, plan, mutabilities, { aws, docker, registry }, config, facts)
  }
}

/**
 * Writes the built image's tags into every repository: first every repository's immutable tags
 * are checked (and an image of these inputs another run put under an immutable inputs tag is
 * adopted), then the image is pushed once per repository and its other tags are added to it.
 */
async function publishBuilt(
  built: BuiltImage,
  fingerprint: BuildFingerprint | undefined,
  plan: DeployPlan,
  mutabilities: TagMutabilities,
  { aws, docker, registry }: Omit<BuildServices, 'env'> & { readonly registry: RegistryHttp },
  config: ActionConfig,
  facts: RunFacts
): Promise<Map<string, PushedImage>> {
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
