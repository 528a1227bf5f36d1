import * as core from '@actions/core'
import { deferCancellation } from './temporary-files.js'

/**
 * The job being cancelled, as an AbortSignal. GitHub cancels a step by sending SIGINT, then
 * SIGTERM 7.5 s later, then SIGKILL 2.5 s after that ("Canceling a workflow", GitHub Actions
 * docs). Outside a rollout the entry point's handler exits at once (temporary-files.ts); while
 * a rollout may have weight on a new version (between hold() and its release), the signals are
 * taken over so that the alias is put back first, and the run then fails (exit code 1) instead
 * of dying with the new version half-live.
 */
export interface JobCancellation {
  readonly signal: AbortSignal
  /** Takes the signals over until the returned function is called; holds may overlap. */
  hold(): () => void
}

export function watchJobCancellation(): JobCancellation {
  const controller = new AbortController()
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      core.warning(`${signal} received again; the rollback is already under way.`)
      return
    }
    core.warning(`${signal} received: the job is being cancelled; rolling back the alias.`)
    process.exitCode = 1
    controller.abort(new Error(`the job was cancelled (${signal})`))
  }
  let holds = 0
  let release: (() => void) | undefined
  return {
    signal: controller.signal,
    hold() {
      holds += 1
      release ??= deferCancellation(onSignal)
      let released = false
      return () => {
        if (released) return
        released = true
        holds -= 1
        if (holds === 0) {
          release?.()
          release = undefined
        }
      }
    }
  }
}
