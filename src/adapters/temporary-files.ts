import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * Temporary directories that hold secrets (registry credentials, build secrets). They are
 * removed when the work is done, when the process exits, and when the runner cancels the job
 * (SIGINT, then SIGTERM): nothing secret outlives the step.
 */
const live = new Set<string>()
let hooked = false

export function makeSecretDirectory(purpose: string): string {
  hookProcessEnd()
  const base = process.env.RUNNER_TEMP || os.tmpdir()
  const dir = mkdtempSync(path.join(base, `lambda-image-deploy-${purpose}-`))
  live.add(dir)
  return dir
}

export function removeSecretDirectory(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  live.delete(dir)
}

export function removeAllSecretDirectories(): void {
  for (const dir of live) removeSecretDirectory(dir)
}

function hookProcessEnd(): void {
  if (hooked) return
  hooked = true
  process.on('exit', removeAllSecretDirectories)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      removeAllSecretDirectories()
      // The conventional exit status for death by signal: 128 + its number.
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15))
    })
  }
}
