import * as core from '@actions/core'
import { describeFailure } from '../domain/errors.js'
import {
  describeImageSize,
  formatBytes,
  largestLayers,
  summarizeInstruction,
  type Finding,
  type ImageSize
} from '../domain/image-checks.js'
import { MAX_UNCOMPRESSED_IMAGE_BYTES } from '../domain/lambda-limits.js'
import type { BuiltImage } from '../steps/build-image.js'
import { describeDockerSetup } from '../domain/docker-setup.js'
import type { RefreshDecision } from '../domain/refresh-decision.js'
import type { ResolvedBase } from '../steps/base-image.js'
import type { SmokeTestReport } from '../steps/smoke-test.js'
import type { RetentionReport } from '../steps/check-retention.js'
import type { DeployedTagMove } from '../steps/move-deployed-tag.js'
import type { FunctionResult } from '../steps/deploy-functions.js'
import type { GrantOutcome } from '../steps/grant-pull.js'
import type { VerifyResult } from '../steps/verify-invoke.js'
import type { DeployPlanReport } from '../steps/plan-deploy.js'
import type { PushedImage } from '../steps/push-image.js'
import type { DeployPlan } from '../steps/resolve-target.js'
import type { RepositoryCreationOutcome } from '../steps/create-repository.js'

/** What the steps found out, in the order they ran; the only input of outputs and summary. */
export interface RunFacts {
  plan?: DeployPlan
  /** Repositories create-repository created (or, in a dry run, would create). */
  repositoryCreations?: readonly RepositoryCreationOutcome[]
  built?: BuiltImage
  findings?: readonly Finding[]
  /** One per region's repository. */
  pushed?: readonly PushedImage[]
  grants?: { repository: string; account: string; outcome: GrantOutcome }[]
  results?: readonly FunctionResult[]
  dryRun?: boolean
  base?: ResolvedBase
  smokeTests?: readonly SmokeTestReport[]
  refresh?: RefreshDecision
  dryRunReport?: DeployPlanReport
  maxImageBytes?: number
  /** A reused or deploy-only image's size, as the registry's manifest tells it. */
  registryImageSize?: ImageSize
  dockerfile?: string
  /** The digest of the build's inputs, when it could be taken. */
  inputsDigest?: string
  /** Set when nothing was built: the repository held an image of the same inputs under this tag. */
  reusedTag?: string
  /** Immutable tags that named the image already, so they were not written again. */
  keptTags?: { repositoryUri: string; tag: string; digest: string }[]
  /** Per repository: are the images in use still in ECR, would the lifecycle policy expire them. */
  retention?: readonly RetentionReport[]
  /** deployed-tag: where the tag points now, per repository. */
  deployedTag?: readonly DeployedTagMove[]
  /** verify-event: one real invocation per deployed function. */
  verify?: readonly VerifyResult[]
  /** Seconds each phase took, in order. */
  readonly timings: { phase: string; seconds: number }[]
}

export function reportFindings(findings: readonly Finding[], dockerfile: string | undefined): void {
  for (const finding of findings) {
    const text = `${finding.message} Fix: ${finding.fix}`
    const properties = { title: `${finding.id} (Lambda image check)`, file: dockerfile }
    if (finding.severity === 'error') core.error(text, properties)
    else core.warning(text, properties)
  }
}

/** Dry-run: what would happen, in the log. */
export function reportPlan(
  plan: DeployPlanReport,
  repositories?: readonly RepositoryCreationOutcome[]
): void {
  core.startGroup('Plan (dry-run: nothing was pushed or changed)')
  for (const repository of repositories ?? []) {
    core.info(
      `would create the repository ${repository.repository} (scan on push, ${repository.tagMutability} tags)`
    )
  }
  for (const reference of plan.pushes) core.info(`push ${reference}`)
  for (const grant of plan.grants) {
    core.info(
      `policy of ${grant.repository}: ${grant.changes.length > 0 ? grant.changes.join('; ') : 'unchanged'}`
    )
  }
  for (const fn of plan.functions) {
    const lines = fn.error ? [`cannot be deployed: ${describeFailure(fn.error)}`] : fn.changes
    core.info(`${fn.target.function.arn}: ${lines.join('; ')}`)
  }
  core.endGroup()
}

/** One function in the `functions` output; the keys are documented and stable. */
export interface FunctionOutput {
  readonly function: string
  readonly arn: string
  readonly region: string
  readonly account: string
  readonly status: string
  readonly deployed: boolean
  readonly imageUri?: string
  readonly codeSha256: string
  readonly version?: string
  readonly alias?: string
  /** Lambda Managed Instances: what serves callers now, in words. */
  readonly serving?: string
  readonly settingsChanges?: readonly string[]
  readonly plan?: readonly string[]
  readonly error?: string
  /** verify-event: how the invocation after the deploy went. */
  readonly verify?: VerifyOutput
}

export interface VerifyOutput {
  readonly qualifier: string
  readonly executedVersion?: string
  /** passed, function-error, unexpected-response or call-failed. */
  readonly outcome: string
  readonly passed: boolean
  readonly reason?: string
}

/** Per-function results as the `functions` output: stable keys, one object per function. */
export function functionsOutput(facts: RunFacts): FunctionOutput[] {
  const results = new Map((facts.results ?? []).map(result => [result.target, result]))
  const planned = new Map((facts.dryRunReport?.functions ?? []).map(entry => [entry.target, entry]))
  return (facts.plan?.targets ?? []).map(target => {
    const result = results.get(target)
    const verified = facts.verify?.find(entry => entry.arn === target.function.arn)
    const fn = result?.deploy?.function ?? target.function
    const plan = planned.get(target)
    const error = result?.error ?? plan?.error
    return {
      function: target.given,
      arn: fn.arn,
      region: target.region,
      account: target.account,
      status: result?.status ?? (plan ? 'planned' : 'not-started'),
      deployed: result?.deploy?.deployed ?? false,
      imageUri: result?.deploy ? fn.imageUri : undefined,
      codeSha256: fn.codeSha256,
      version: result?.release?.version,
      alias: result?.release?.alias,
      serving: result?.release?.serving,
      settingsChanges: result?.release?.settingsChanges,
      plan: plan?.changes,
      error: error === undefined ? undefined : describeFailure(error),
      verify: verified && {
        qualifier: verified.qualifier,
        executedVersion: verified.executedVersion,
        outcome: verified.outcome,
        passed: verified.passed,
        reason: verified.reason
      }
    }
  })
}

export function setOutputs(facts: RunFacts): void {
  const first = facts.pushed?.[0]
  if (first) {
    core.setOutput('image-uri', first.imageUri)
    core.setOutput('image-digest', first.digest)
  }
  // Only a measured uncompressed size; empty when only a lower bound is known (the log and the
  // summary say what was measured).
  const size = facts.built?.image ?? facts.registryImageSize
  if (size) core.setOutput('image-size', size.sizeNotMeasured ? '' : String(size.sizeBytes))
  if (facts.built || facts.reusedTag) core.setOutput('built', String(facts.built !== undefined))
  if (facts.inputsDigest) core.setOutput('inputs-digest', facts.inputsDigest)
  if (facts.plan) core.setOutput('architecture', facts.plan.architecture)
  const firstRepository = facts.plan?.targets[0]?.repository
  if (firstRepository) core.setOutput('repository', firstRepository.uri)
  const firstTarget = facts.plan?.targets[0]
  if (firstTarget) {
    const result = facts.results?.find(r => r.target === firstTarget)
    const fn = result?.deploy?.function ?? firstTarget.function
    core.setOutput('function-arn', fn.arn)
    core.setOutput('code-sha256', fn.codeSha256)
    if (result?.release?.version) core.setOutput('version', result.release.version)
  }
  const baseName = facts.base?.base.reference?.canonical
  if (baseName) core.setOutput('base-image', baseName)
  if (facts.base?.digest) core.setOutput('base-image-digest', facts.base.digest)
  if (facts.refresh) {
    core.setOutput('deployed-base-digest', facts.refresh.deployedDigest ?? '')
    const updated = facts.refresh.baseImageUpdated
    core.setOutput('base-image-updated', updated === undefined ? '' : String(updated))
  }
  if (facts.plan) core.setOutput('functions', JSON.stringify(functionsOutput(facts)))
  const deployed = (facts.results ?? []).some(
    result =>
      result.deploy?.deployed ||
      (result.release?.settingsChanges.length ?? 0) > 0 ||
      result.release?.servingChanged === true
  )
  core.setOutput('deployed', String(deployed))
  if (facts.verify) {
    core.setOutput('verified', String(facts.verify.every(result => result.passed)))
  }
}

/** The job summary: one table a reviewer can read without opening the log. */
export async function writeSummary(facts: RunFacts, failure?: unknown): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  const summary = core.summary.addHeading('Lambda image deploy', 2)
  if (failure !== undefined) summary.addRaw(`**Failed:** ${escape(describeFailure(failure))}`, true)
  if (facts.dryRun) summary.addRaw('**Dry run:** nothing was pushed or changed in AWS.', true)
  if (facts.refresh) summary.addRaw(`**Base image refresh:** ${escape(facts.refresh.reason)}`, true)
  const support = facts.base?.support
  if (support && support.status !== 'supported') {
    const heading = support.status === 'ended' ? 'Base image past its end of support' : 'Base image'
    summary.addRaw(`**${heading}:** ${escape(support.message)}`, true)
  }
  const rows: [string, string][] = []
  for (const derived of facts.plan?.derivedRepositories ?? []) {
    rows.push([
      'Repository',
      `${code(derived.location.uri)}: repository was empty; taken from the image ${escape(derived.functions.join(', '))} already ran`
    ])
  }
  for (const created of facts.repositoryCreations ?? []) {
    rows.push([
      created.status === 'created' ? 'Repository created' : 'Would create repository',
      `${code(created.repository)} (scan on push, ${escape(created.tagMutability)} tags)`
    ])
  }
  for (const pushed of facts.pushed ?? []) {
    rows.push(['Image', code(pushed.imageUri)])
    rows.push(['Manifest', escape(pushed.mediaType)])
  }
  for (const kept of facts.keptTags ?? []) {
    rows.push([
      'Tag left as it is',
      `${code(`${kept.repositoryUri}:${kept.tag}`)}: immutable, and names this image already (${code(kept.digest)})`
    ])
  }
  if (facts.reusedTag) {
    rows.push([
      'Build',
      `skipped: the repository holds ${code(facts.reusedTag)}, built from the same inputs`
    ])
  }
  const limit = facts.maxImageBytes ?? MAX_UNCOMPRESSED_IMAGE_BYTES
  if (facts.registryImageSize && !facts.built) {
    rows.push(['Size', escape(describeImageSize(facts.registryImageSize, limit))])
  }
  if (facts.built) {
    rows.push(['Size', escape(describeImageSize(facts.built.image, limit))])
    rows.push(['Platform', facts.built.platform])
    rows.push(['Built with', escape(describeDockerSetup(facts.built.docker))])
    const image = facts.built.image
    rows.push(['Entrypoint', codeList(image.entrypoint)])
    rows.push(['Cmd', codeList(image.cmd)])
    if (image.workingDir) rows.push(['WorkingDir', code(image.workingDir)])
  }
  for (const grant of facts.grants ?? []) {
    const text =
      grant.outcome.status === 'updated'
        ? grant.outcome.changes.join('; ')
        : grant.outcome.status === 'already-granted'
          ? 'already lets Lambda pull (unchanged)'
          : grant.outcome.status === 'may-be-denied'
            ? ['Lambda may still be denied (see the warning)', ...grant.outcome.changes].join('; ')
            : 'not managed (manage-repository-policy: false)'
    rows.push([`Policy of ${escape(grant.repository)} for ${grant.account}`, escape(text)])
  }
  for (const grant of facts.dryRunReport?.grants ?? []) {
    const text = grant.changes.length > 0 ? `would ${grant.changes.join('; ')}` : 'unchanged'
    rows.push([`Policy of ${escape(grant.repository)}`, escape(text)])
  }
  for (const reference of facts.dryRunReport?.pushes ?? []) {
    rows.push(['Would push', code(reference)])
  }
  if (rows.length > 0) {
    summary.addTable([
      [
        { data: 'What', header: true },
        { data: 'Value', header: true }
      ],
      ...rows
    ])
  }
  const functions = functionsOutput(facts)
  if (functions.length > 0) {
    summary.addHeading('Functions', 3)
    summary.addTable([
      ['Function', 'Region', 'Result', 'Details'].map(data => ({ data, header: true })),
      ...functions.map(functionRow)
    ])
  }
  if (facts.built && facts.built.image.layers.length > 0) {
    summary.addHeading('Largest layers', 3)
    summary.addTable([
      [
        { data: 'Size', header: true },
        { data: 'Instruction', header: true }
      ],
      ...largestLayers(facts.built.image.layers, 5).map(layer => [
        formatBytes(layer.sizeBytes),
        code(summarizeInstruction(layer.createdBy))
      ])
    ])
  }
  if (facts.smokeTests && facts.smokeTests.length > 0) {
    summary.addHeading('Smoke test', 3)
    summary.addTable([
      ['Function', 'Init', 'Event', 'Time', 'Response'].map(data => ({ data, header: true })),
      ...facts.smokeTests.flatMap(report =>
        report.invocations.map(invocation => [
          escape(report.function),
          `${report.initSeconds.toFixed(1)} s`,
          escape(invocation.event),
          `${invocation.seconds.toFixed(2)} s`,
          code(invocation.response.slice(0, 200))
        ])
      )
    ])
  }
  if (facts.verify && facts.verify.length > 0) {
    summary.addHeading('Verify invoke', 3)
    summary.addTable([
      ['Function', 'Invoked', 'Result', 'Time', 'Response'].map(data => ({ data, header: true })),
      ...facts.verify.map(result => [
        escape(result.function),
        escape(
          `${result.qualifier}${result.executedVersion && result.executedVersion !== result.qualifier ? ` (ran ${result.executedVersion})` : ''}`
        ),
        escape(result.passed ? 'passed' : `${result.outcome}: ${result.reason ?? ''}`),
        `${result.seconds.toFixed(2)} s`,
        result.response === undefined ? '—' : code(result.response.slice(0, 200))
      ])
    ])
    for (const result of facts.verify.filter(entry => !entry.passed && entry.logTail.trim())) {
      summary.addDetails(
        `Log tail of ${escape(result.function)}:${escape(result.qualifier)}`,
        `<pre>${escape(result.logTail)}</pre>`
      )
    }
  }
  if ((facts.retention?.length ?? 0) > 0 || (facts.deployedTag?.length ?? 0) > 0) {
    summary.addHeading('Images in ECR', 3)
    summary.addList([
      ...(facts.retention ?? []).flatMap(retentionLines),
      ...(facts.deployedTag ?? []).map(deployedTagLine)
    ])
  }
  if (facts.findings && facts.findings.length > 0) {
    summary.addHeading('Image checks', 3)
    summary.addList(facts.findings.map(f => `${f.severity} ${f.id}: ${escape(f.message)}`))
  }
  if (facts.timings.length > 0) {
    summary.addHeading('Timings', 3)
    summary.addRaw(facts.timings.map(t => `${t.phase} ${t.seconds.toFixed(1)} s`).join(' · '), true)
  }
  await summary.write()
}

/** What the retention check found for one repository, as list items. */
function retentionLines(report: RetentionReport): string[] {
  const lifecycle = {
    'no-policy': 'the repository has no lifecycle policy',
    unchanged:
      'the lifecycle policy changes nothing now (no rule reaches its count or age), so it was not previewed',
    previewed: previewLine(report),
    'not-evaluated': 'the lifecycle policy could not be evaluated (see the notes)',
    'not-checked': 'the lifecycle policy was not checked (see the notes)'
  }[report.lifecycle]
  const checked = new Set(report.uses.map(use => use.digest)).size
  return [
    `${code(report.repository)}: ${checked} image(s) in use, ${report.missing.length} missing${report.archived?.length ? `, ${report.archived.length} archived` : ''}; ${escape(lifecycle)}`,
    ...report.findings.map(f => `warning ${f.id}: ${escape(f.message)}`),
    ...report.notes.map(note => `note: ${escape(note)}`)
  ]
}

/** What ECR's lifecycle preview does to the images in use: expirations, and transitions to the
 * archive storage class. */
function previewLine(report: RetentionReport): string {
  const archiving = report.expiring.filter(image => image.action === 'transition').length
  const expiring = report.expiring.length - archiving
  if (expiring === 0 && archiving === 0) {
    return "ECR's lifecycle preview expires none of the images in use and archives none"
  }
  return `ECR's lifecycle preview ${[
    expiring > 0 ? `expires ${expiring} image(s) in use` : '',
    archiving > 0 ? `archives ${archiving} image(s) in use` : ''
  ]
    .filter(part => part !== '')
    .join(' and ')}`
}

function deployedTagLine(move: DeployedTagMove): string {
  const where = code(`${move.repository}:${move.tag}`)
  if (move.skipped) return `deployed-tag ${where} not moved: ${escape(move.skipped)}`
  return `deployed-tag ${where} → ${code(move.digest)}${move.previous ? ` (moved from ${code(move.previous)})` : ''}`
}

function functionRow(entry: FunctionOutput): string[] {
  const details = [
    entry.version ? `version ${entry.version}` : '',
    entry.alias ? `alias ${entry.alias}` : '',
    entry.serving ? `serves: ${entry.serving}` : '',
    ...(entry.settingsChanges ?? []),
    ...(entry.plan ?? []),
    entry.verify ? `verify invoke ${entry.verify.passed ? 'passed' : entry.verify.outcome}` : '',
    entry.error ?? ''
  ].filter(text => text !== '')
  const status = entry.status
  const result =
    status === 'updated'
      ? 'updated'
      : status === 'unchanged'
        ? 'unchanged (already runs this image)'
        : status
  return [
    code(String(entry.arn)),
    escape(String(entry.region)),
    escape(result),
    details.length > 0 ? escape(details.join('; ')) : '—'
  ]
}

// core.summary tables are HTML, where markdown backticks would show as-is.
function code(text: string): string {
  return `<code>${escape(text)}</code>`
}

function codeList(values: readonly string[]): string {
  return values.length === 0 ? '(none)' : code(JSON.stringify(values))
}

function escape(text: string): string {
  return text.replace(/[&<>"]/g, ch => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot' }[ch]};`)
}
