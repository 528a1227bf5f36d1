import * as core from '@actions/core'
import type { ReleaseService } from '../adapters/lambda-releases.js'
import { ActionError } from '../domain/errors.js'
import {
  LATEST_PUBLISHED,
  MANAGED_INSTANCES_INIT_MINUTES,
  versionReadiness,
  type VersionState
} from '../domain/function-kinds.js'

/** Polled this often while Lambda provisions a version (as the SDK waiters here poll: 1 s). */
const POLL_MS = 1_000

/**
 * Waits until a version just published on a capacity provider is Active: publishing provisions
 * its execution environments first ("lambda-managed-instances-execution-environment": up to
 * 15 minutes). Any State but Pending and Active fails, naming the State, its reason code and a
 * fix; so does wait-timeout running out while it is still Pending.
 */
export async function waitForPublishedVersion(
  functionName: string,
  functionArn: string,
  version: string,
  releases: Pick<ReleaseService, 'versionState'>,
  timeoutSeconds: number,
  /** What a failure leaves in place, in words, for the error. */
  consequence: string,
  sleep: (ms: number) => Promise<void> = defaultSleep
): Promise<VersionState> {
  const started = Date.now()
  let told = false
  for (;;) {
    const current = await releases.versionState(functionArn, version)
    const readiness = versionReadiness(functionName, version, current, consequence)
    if (readiness.kind === 'ready') return current!
    if (readiness.kind === 'failed') throw readiness.error
    const waited = (Date.now() - started) / 1000
    if (waited >= timeoutSeconds) {
      throw new ActionError(
        'published-version-timeout',
        `Version ${version} of ${functionName} was still Pending${current?.stateReason ? ` (${current.stateReason.replace(/\.$/, '')})` : ''} after ${timeoutSeconds} s; ${consequence}.`,
        `Lambda Managed Instances provision execution environments when a version is published, which may take up to ${MANAGED_INSTANCES_INIT_MINUTES} minutes: raise wait-timeout (e.g. 20m), then run again.`
      )
    }
    if (!told) {
      core.info(
        `${functionName}: Lambda is provisioning execution environments for version ${version} (Lambda Managed Instances; up to ${MANAGED_INSTANCES_INIT_MINUTES} min); waiting up to ${timeoutSeconds} s.`
      )
      told = true
    }
    await sleep(POLL_MS)
  }
}

/** What a publish to $LATEST.PUBLISHED did. */
export interface LatestPublishedOutcome {
  /** False when $LATEST.PUBLISHED already ran this image with these settings, Active. */
  readonly published: boolean
}

/**
 * Without publish, a function on a capacity provider gets its new code to callers through
 * $LATEST.PUBLISHED: published (PublishTo LATEST_PUBLISHED), then waited for until Active. When
 * it already runs this image, Active, and no setting changed this run, nothing is published.
 */
export async function publishLatestPublished(
  functionName: string,
  functionArn: string,
  codeSha256: string,
  description: string,
  settingsChanged: boolean,
  releases: Pick<ReleaseService, 'settings' | 'publishLatest' | 'versionState'>,
  timeoutSeconds: number,
  sleep?: (ms: number) => Promise<void>
): Promise<LatestPublishedOutcome> {
  const current = await releases.versionState(functionArn, LATEST_PUBLISHED)
  if (!settingsChanged && current?.state === 'Active' && current.codeSha256 === codeSha256) {
    core.info(`${functionName}: ${LATEST_PUBLISHED} already runs this image; nothing to publish.`)
    return { published: false }
  }
  const { revisionId } = await releases.settings(functionArn)
  const version = await releases.publishLatest(functionArn, codeSha256, description, revisionId)
  core.info(`${functionName}: published ${version || LATEST_PUBLISHED}`)
  const ready = await waitForPublishedVersion(
    functionName,
    functionArn,
    LATEST_PUBLISHED,
    releases,
    timeoutSeconds,
    `unqualified invokes of ${functionName} go to ${LATEST_PUBLISHED}, which does not serve the new code; Lambda does not say whether the one it replaced still serves, so check the function in the Lambda console`,
    sleep
  )
  // Another run may have published $LATEST.PUBLISHED since: its code serves, not this run's.
  if (ready.codeSha256 !== codeSha256) {
    throw new ActionError(
      'published-version-replaced',
      `${LATEST_PUBLISHED} of ${functionName} runs sha256:${ready.codeSha256}, not this run's image sha256:${codeSha256}: another deploy published it since, and its code serves unqualified invokes.`,
      'Find the other deploy (CloudTrail PublishVersion, or the workflow runs of this function); run this one again once that one is done, or serialise them with a workflow concurrency group.'
    )
  }
  return { published: true }
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}
