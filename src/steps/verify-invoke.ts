import * as core from '@actions/core'
import type { FunctionInvoker } from '../adapters/lambda-invoke.js'
import { ActionError, describeFailure } from '../domain/errors.js'
import { unqualifiedInvokeProblem } from '../domain/function-kinds.js'
import { maskSecrets, secretValues } from '../domain/secret-mask.js'
import { findMismatch } from '../domain/smoke-test-outcome.js'
import type { VerifySettings } from '../domain/verify-settings.js'
import type { FunctionResult } from './deploy-functions.js'
import type { DeployTarget } from './resolve-target.js'
import type { TrafficCheck } from './release-function.js'

/** How one verify invocation ended. */
export type VerifyOutcome = 'passed' | 'function-error' | 'unexpected-response' | 'call-failed'

/** One real invocation of a deployed function; free of run state, so a rollout can reuse it. */
export interface VerifyResult {
  readonly function: string
  readonly arn: string
  /** What was invoked: a version number or alias, or $LATEST. */
  readonly qualifier: string
  /** The version Lambda says ran (X-Amz-Executed-Version), when it answered. */
  readonly executedVersion?: string
  readonly outcome: VerifyOutcome
  readonly passed: boolean
  /** Why it did not pass: the function's error, the mismatch, or the failed call. */
  readonly reason?: string
  /** The response (or error document), cut to 1,000 characters; masked. */
  readonly response?: string
  /** The decoded LogResult: the last 4 KB of the invocation's log; masked. */
  readonly logTail: string
  readonly seconds: number
}

/** Time beyond the function's timeout for the call: init of a cold image (10 s on Lambda) and
 * the network. */
const CALL_MARGIN_SECONDS = 60

/**
 * Invokes the function once (RequestResponse, LogType Tail) with the verify event, on `qualifier`
 * (undefined: $LATEST), and checks the answer: a function error (FunctionError set), a failed or
 * timed-out call, or a response verify-expect does not accept make it fail. Never throws for
 * those: the caller decides what a failure means (fail the step, or roll back).
 */
export async function verifyInvoke(
  target: DeployTarget,
  qualifier: string | undefined,
  settings: VerifySettings,
  invoker: FunctionInvoker,
  /** What the run shows anyway (publishedValues): never registered as a secret. */
  published: readonly string[],
  /** The job's cancellation: the call is abandoned at once (no wait for the answer). */
  signal?: AbortSignal
): Promise<VerifyResult> {
  const fn = target.function
  // The function's variables may be secret and its log may print them; the summary is not
  // masked by the runner.
  const secrets = secretValues({ ...fn.environment, ...target.overrides?.environment }, published)
  for (const secret of secrets) core.setSecret(secret)
  const mask = (text: string) => maskSecrets(text, secrets)
  const base = { function: fn.name, arn: fn.arn, qualifier: qualifier ?? '$LATEST' }
  const started = performance.now()
  // Lambda refuses (durable) or redirects (Managed Instances) an unqualified invoke of these
  // kinds: never call it "verified" (domain/function-kinds.ts). The deploy refuses such a
  // verify before any change; this is the guard for any other caller.
  const unqualified = qualifier === undefined ? unqualifiedInvokeProblem(fn) : undefined
  if (unqualified) {
    return {
      ...base,
      outcome: 'call-failed',
      passed: false,
      reason: `not invoked: ${unqualified}, so $LATEST is not what callers run; publish a version to verify`,
      logTail: '',
      seconds: 0
    }
  }
  try {
    const answer = await invoker.invoke({
      functionName: fn.arn,
      qualifier,
      payload: settings.payload,
      timeoutMs: (fn.timeout + CALL_MARGIN_SECONDS) * 1000,
      signal
    })
    const seconds = secondsSince(started)
    const common = {
      ...base,
      executedVersion: answer.executedVersion,
      response: clip(mask(answer.payload)),
      logTail: mask(answer.logTail),
      seconds
    }
    if (answer.functionError !== undefined) {
      return {
        ...common,
        outcome: 'function-error',
        passed: false,
        reason: `the function failed (${answer.functionError}): ${clip(mask(answer.payload), 500)}`
      }
    }
    const mismatch = findMismatch(settings.expect, answer.payload)
    if (mismatch !== undefined) {
      return {
        ...common,
        outcome: 'unexpected-response',
        passed: false,
        reason: `the response is not what verify-expect says: ${mask(mismatch)}`
      }
    }
    return { ...common, outcome: 'passed', passed: true }
  } catch (error) {
    return {
      ...base,
      outcome: 'call-failed',
      passed: false,
      reason: `the invocation failed: ${mask(describeFailure(error))}`,
      logTail: '',
      seconds: secondsSince(started)
    }
  }
}

/**
 * One real invocation of each function the deploy left in place, after its update: the version
 * it published, if any, else $LATEST. One at a time, so the production load it adds stays at one
 * call. Functions with an alias were verified before it moved (verifyBeforeTraffic) and are
 * skipped here.
 */
export async function verifyDeployed(
  results: readonly FunctionResult[],
  settings: VerifySettings,
  invokerFor: (target: DeployTarget) => FunctionInvoker,
  /** What the run shows anyway (publishedValues): never registered as a secret. */
  published: readonly string[],
  /** Functions (by ARN) a rollout has verified already: each is invoked once per deploy. */
  alreadyVerified: ReadonlySet<string> = new Set()
): Promise<VerifyResult[]> {
  const pending = results.filter(
    result => result.status !== 'failed' && !alreadyVerified.has(result.target.function.arn)
  )
  if (pending.length === 0) return []
  // Not a group: each function's log tail is one (the runner does not nest groups).
  core.info(
    `Verify invoke with ${settings.label}, after the update: runs the deployed functions for real. Without an alias nothing holds the new code back, so it serves callers already; a failure fails the step and leaves it in place.`
  )
  const verified: VerifyResult[] = []
  for (const result of pending) {
    const outcome = await verifyInvoke(
      result.target,
      result.release?.version,
      settings,
      invokerFor(result.target),
      published
    )
    logVerifyResult(outcome)
    verified.push(outcome)
  }
  return verified
}

/**
 * With an alias, the verify invoke runs before any traffic reaches the new version: the version
 * just published is invoked by its number before the alias moves (with a rollout, before the
 * first weight). A failed invoke leaves the alias as it was; releaseFunction fails the function.
 */
export function verifyBeforeTraffic(
  target: DeployTarget,
  settings: VerifySettings,
  invoker: FunctionInvoker,
  /** What the run shows anyway (publishedValues): never registered as a secret. */
  published: readonly string[],
  record: (result: VerifyResult) => void
): TrafficCheck {
  return async ({ version, signal }) => {
    core.info(
      `Verify invoke of ${target.function.name} version ${version} with ${settings.label}, before the alias moves: runs the function for real.`
    )
    const result = await verifyInvoke(target, version, settings, invoker, published, signal)
    logVerifyResult(result)
    record(result)
    return {
      ok: result.passed,
      reason: result.passed
        ? ''
        : `the verify invoke of version ${version} failed: ${result.reason}`
    }
  }
}

/** Shown with a failure: at most this many of the log tail's last lines. */
const LOG_TAIL_LINES = 40

/** The step's error when any verify invocation failed, with each one's log tail. */
export function verifyFailure(results: readonly VerifyResult[]): ActionError | undefined {
  const failed = results.filter(result => !result.passed)
  if (failed.length === 0) return undefined
  const details = failed.map(result => {
    const lines = result.logTail.split('\n').filter(line => line.trim() !== '')
    const tail =
      lines.length > 0
        ? `\nLog tail of ${result.function}:${result.qualifier}:\n${lines
            .slice(-LOG_TAIL_LINES)
            .map(line => `  ${line}`)
            .join('\n')}`
        : ''
    return `${result.function}:${result.qualifier}: ${result.reason}${tail}`
  })
  return new ActionError(
    'verify-invoke-failed',
    `The verify invocation failed for ${failed.length} of ${results.length} deployed function(s); the deploy stays in place:\n${details.join('\n')}`,
    'Fix the function (see its log tail above and in CloudWatch Logs), or correct verify-event / verify-expect, and run again.'
  )
}

/** Logs one result as it comes, grouped with its log tail. */
export function logVerifyResult(result: VerifyResult): void {
  const what = `${result.function}:${result.qualifier}`
  const ran = result.executedVersion ? ` (ran version ${result.executedVersion})` : ''
  if (result.passed) {
    core.info(
      `Verify invoke of ${what} passed in ${result.seconds.toFixed(2)} s${ran}: ${result.response ?? ''}`
    )
  } else {
    core.error(`Verify invoke of ${what} failed${ran}: ${result.reason}`)
  }
  if (result.logTail.trim() !== '') {
    core.startGroup(`Log tail of ${what}`)
    core.info(result.logTail)
    core.endGroup()
  }
}

function secondsSince(start: number): number {
  return (performance.now() - start) / 1000
}

function clip(text: string, length = 1000): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text
}
