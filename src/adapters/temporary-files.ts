import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * Temporary directories that hold secrets (registry credentials, build secrets). They are
 * removed when the work is done, when the process exits, and when the runner cancels the job
 * (SIGINT, then SIGTERM after 7.5 s): nothing secret outlives the step.
 */
const live = new Set<string>()
let hooked = false
/** Work a signal must still do before the process exits (removing a smoke-test container). */
const cancellationCleanups = new Set<() => void>()

/** Work under way that must finish before the process ends (a rollout putting an alias back):
 * while one is registered, a signal is handed to it instead of exiting at once. */
const cancellationDeferrals = new Set<(signal: NodeJS.Signals) => void>()

/** The conventional exit status for death by a signal: 128 + its number. */
const SIGNAL_EXIT_STATUS = { SIGINT: 128 + 2, SIGTERM: 128 + 15 } as const

export function makeSecretDirectory(purpose: string): string {
  handleCancellation()
  const base = process.env.RUNNER_TEMP || os.tmpdir()
  const dir = mkdtempSync(path.join(base, `lambda-image-deploy-${purpose}-`))
  live.add(dir)
  return dir
}

export function removeSecretDirectory(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true })
  } finally {
    live.delete(dir)
  }
}

export function removeAllSecretDirectories(): void {
  for (const dir of [...live]) {
    try {
      removeSecretDirectory(dir)
    } catch {
      // Keep going: one directory that cannot be removed must not keep the others.
    }
  }
}

/**
 * On SIGINT/SIGTERM: remove every secret directory and exit at once with 128 + the signal's
 * number. Exiting at once is safe for AWS state: each AWS change the action makes is one API
 * call (SetRepositoryPolicy with a whole document, UpdateFunctionCode), which either happened or
 * did not; nothing is left half-done by stopping between two calls. The exception is a rollout,
 * which spans many calls: it defers the exit (deferCancellation) until the alias is back.
 * Installed by the entry point before anything runs, and again (idempotently) by the first
 * secret directory.
 */
export function handleCancellation(): void {
  if (hooked) return
  hooked = true
  process.on('exit', removeAllSecretDirectories)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      removeAllSecretDirectories()
      for (const cleanup of [...cancellationCleanups]) {
        try {
          cleanup()
        } catch {
          // Keep going: the remaining cleanups and the exit must still happen.
        }
      }
      if (cancellationDeferrals.size > 0) {
        // The deferring work ends the run itself (failed), as soon as it has undone its change.
        for (const defer of [...cancellationDeferrals]) defer(signal)
        return
      }
      // Written synchronously (a pipe or file on the runner), so it is not lost by exit().
      process.stdout.write(
        `::error::[cancelled] Received ${signal}; removed temporary credentials and stopped.\n`
      )
      process.exit(SIGNAL_EXIT_STATUS[signal])
    })
  }
}

/**
 * Registers synchronous work to do if the job is cancelled (after the secret directories are
 * removed, before exit); the runner allows 7.5 s from SIGINT to SIGKILL, so it must be quick.
 * Returns the function that unregisters it once the work is no longer needed.
 */
export function onCancellation(cleanup: () => void): () => void {
  handleCancellation()
  cancellationCleanups.add(cleanup)
  return () => {
    cancellationCleanups.delete(cleanup)
  }
}

/**
 * Takes over SIGINT/SIGTERM while work that spans several AWS calls is under way: the secret
 * directories are still removed, then onSignal is called (on every signal) instead of exiting.
 * Returns the function that gives the signals back to the immediate exit.
 */
export function deferCancellation(onSignal: (signal: NodeJS.Signals) => void): () => void {
  handleCancellation()
  cancellationDeferrals.add(onSignal)
  return () => {
    cancellationDeferrals.delete(onSignal)
  }
}
