import * as core from '@actions/core'
import { createAwsServices, type AwsServices } from './adapters/aws-clients.js'
import { createDockerEngine, type DockerEngine } from './adapters/docker.js'
import { removeAllSecretDirectories } from './adapters/temporary-files.js'
import { ActionError } from './domain/errors.js'
import { inputsFromEnvironment, parseConfig, type Environment } from './inputs.js'
import {
  describeFailure,
  reportFindings,
  setOutputs,
  writeSummary,
  type RunFacts
} from './presentation/report.js'
import { buildImage } from './steps/build-image.js'
import { checkBuiltImage } from './steps/check-image.js'
import { deployFunction } from './steps/deploy-function.js'
import { grantLambdaPull } from './steps/grant-pull.js'
import { pushImage } from './steps/push-image.js'
import { resolveTarget } from './steps/resolve-target.js'

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
  setOutputs(facts)
  try {
    await writeSummary(facts, failure)
  } catch (error) {
    core.warning(`Could not write the job summary: ${describeFailure(error)}`)
  }
}

async function deploy({ aws, docker, env }: Dependencies, facts: RunFacts): Promise<void> {
  const timed = async <T>(phase: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now()
    try {
      return await work()
    } finally {
      facts.timings.push({ phase, seconds: (performance.now() - started) / 1000 })
    }
  }

  const config = parseConfig(inputsFromEnvironment(env), env)
  facts.maxImageBytes = config.maxImageBytes
  facts.dockerfile = config.build.file

  const target = await timed('resolve', () => resolveTarget(config, aws))
  facts.target = target
  const registry = aws.registry(target.region)

  const built = await timed('build', () => buildImage(config, target, docker, env))
  facts.built = built

  const findings = await timed('check', () => checkBuiltImage(built.image, config, target, docker))
  facts.findings = findings
  reportFindings(findings, config.build.file)
  const errors = findings.filter(finding => finding.severity === 'error')
  if (errors.length > 0) {
    throw new ActionError(
      'image-checks-failed',
      `The image fails ${errors.length} of Lambda's requirements (${errors.map(e => e.id).join(', ')}); nothing was pushed.`,
      'See the annotations for each finding and its fix.'
    )
  }

  facts.pushed = await timed('push', () => pushImage(built, target, registry, docker))
  const pushed = facts.pushed
  facts.grant = await timed('grant', () =>
    grantLambdaPull(target, registry, config.manageRepositoryPolicy)
  )
  facts.deploy = await timed('deploy', () =>
    deployFunction(target, pushed, aws.functions(target.region), config)
  )
}
