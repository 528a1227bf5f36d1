import * as core from '@actions/core'
import { isActionError } from '../domain/errors.js'
import {
  formatBytes,
  largestLayers,
  summarizeInstruction,
  type Finding
} from '../domain/image-checks.js'
import { MAX_UNCOMPRESSED_IMAGE_BYTES } from '../domain/lambda-limits.js'
import type { BuiltImage } from '../steps/build-image.js'
import type { DeployOutcome } from '../steps/deploy-function.js'
import type { GrantOutcome } from '../steps/grant-pull.js'
import type { PushedImage } from '../steps/push-image.js'
import type { DeployTarget } from '../steps/resolve-target.js'

/** What the steps found out, in the order they ran; the only input of outputs and summary. */
export interface RunFacts {
  target?: DeployTarget
  built?: BuiltImage
  findings?: readonly Finding[]
  pushed?: PushedImage
  grant?: GrantOutcome
  deploy?: DeployOutcome
  maxImageBytes?: number
  dockerfile?: string
  /** Seconds each phase took, in order. */
  readonly timings: { phase: string; seconds: number }[]
}

export function reportFindings(findings: readonly Finding[], dockerfile: string): void {
  for (const finding of findings) {
    const text = `${finding.message} Fix: ${finding.fix}`
    const properties = { title: `${finding.id} (Lambda image check)`, file: dockerfile }
    if (finding.severity === 'error') core.error(text, properties)
    else core.warning(text, properties)
  }
}

export function setOutputs(facts: RunFacts): void {
  if (facts.pushed) {
    core.setOutput('image-uri', facts.pushed.imageUri)
    core.setOutput('image-digest', facts.pushed.digest)
  }
  if (facts.built) core.setOutput('image-size', String(facts.built.image.sizeBytes))
  if (facts.target) core.setOutput('architecture', facts.target.architecture)
  const fn = facts.deploy?.function ?? facts.target?.function
  if (fn) {
    core.setOutput('function-arn', fn.arn)
    core.setOutput('code-sha256', fn.codeSha256)
  }
  core.setOutput('deployed', String(facts.deploy?.deployed ?? false))
}

export function describeFailure(error: unknown): string {
  if (isActionError(error)) return `[${error.id}] ${error.reason} Fix: ${error.fix}`
  if (error instanceof Error) return error.message
  return String(error)
}

/** The job summary: one table a reviewer can read without opening the log. */
export async function writeSummary(facts: RunFacts, failure?: unknown): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  const summary = core.summary.addHeading('Lambda image deploy', 2)
  if (failure !== undefined) summary.addRaw(`**Failed:** ${escape(describeFailure(failure))}`, true)
  const rows: [string, string][] = []
  const fn = facts.deploy?.function ?? facts.target?.function
  if (fn) rows.push(['Function', code(fn.arn)])
  if (facts.deploy) {
    rows.push(['Deployed', facts.deploy.deployed ? 'yes' : 'no (already running this image)'])
  }
  if (facts.pushed) {
    rows.push(['Image', code(facts.pushed.imageUri)])
    rows.push(['Manifest', escape(facts.pushed.mediaType)])
  }
  if (facts.built) {
    const limit = facts.maxImageBytes ?? MAX_UNCOMPRESSED_IMAGE_BYTES
    rows.push([
      'Size (uncompressed)',
      `${formatBytes(facts.built.image.sizeBytes)} of ${formatBytes(limit)} allowed`
    ])
    rows.push(['Platform', facts.built.platform])
    const image = facts.built.image
    rows.push(['Entrypoint', codeList(image.entrypoint)])
    rows.push(['Cmd', codeList(image.cmd)])
    if (image.workingDir) rows.push(['WorkingDir', code(image.workingDir)])
  }
  if (facts.grant) {
    const text =
      facts.grant.status === 'updated'
        ? facts.grant.changes.join('; ')
        : facts.grant.status === 'already-granted'
          ? 'already lets Lambda pull (unchanged)'
          : 'not managed (manage-repository-policy: false)'
    rows.push(['Repository policy', escape(text)])
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
