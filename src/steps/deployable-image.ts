import * as core from '@actions/core'
import type { AwsServices } from '../adapters/aws-clients.js'
import type { ImageReference } from '../domain/aws-names.js'
import { ActionError } from '../domain/errors.js'
import { applyFindingPolicy, type Finding } from '../domain/image-checks.js'
import type { ActionConfig } from '../inputs.js'
import { reportFindings, type RunFacts } from '../presentation/report.js'
import { registryClient } from './base-image.js'
import type { PlannedImage } from './plan-deploy.js'
import type { PushedImage } from './push-image.js'
import { explainArchivedImage } from './check-archived-images.js'
import { resolveExistingImage } from './resolve-image.js'
import type { DeployPlan } from './resolve-target.js'

/** Runs one phase of the run and records how long it took. */
export type Timed = <T>(phase: string, work: () => Promise<T>) => Promise<T>

/** The image a run deploys: how a plan names it, and how it gets into each region's repository. */
export interface DeployableImage {
  readonly planned: PlannedImage
  /** Pushes it where needed; the image in ECR per repository URI. */
  readonly publish: () => Promise<Map<string, PushedImage>>
}

/** Deploy-only: the image is in ECR already; what the registry holds is checked, not pulled. */
export async function existingImage(
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
    ).catch(async (error: unknown) => {
      // An archived image reads as missing: say so, and how to restore it.
      throw await explainArchivedImage(error, reference, aws.retention(reference.repository.region))
    })
  )
  facts.findings = existing.findings
  facts.registryImageSize = existing.size
  failOnFindings(existing.findings, config, 'nothing was deployed')
  return {
    planned: { kind: 'pushed', digest: existing.pushed.digest },
    publish: () => Promise.resolve(new Map([[reference.repository.uri, existing.pushed]]))
  }
}

/** Reports the findings (after ignore-findings and warnings-as-errors); throws on any error. */
export function failOnFindings(
  all: readonly Finding[],
  config: ActionConfig,
  consequence: string
): void {
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
