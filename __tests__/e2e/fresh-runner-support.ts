import { cpSync } from 'node:fs'
import path from 'node:path'
import type { ActionRun } from '../../stack/run-action.js'
import { fixturesDir, useWorkDir, type Sandbox } from './harness.js'

/**
 * What the two rebuild: if-inputs-changed suites share: engine/fresh-runner.test.ts (which
 * changes of the inputs make a build) and serial/fresh-runner.test.ts (the same on a fresh
 * runner: no image, no build cache). Each test gets a function, its repository and a copy of the
 * inputs-changed fixture of its own, and deploys it with tags v1 unless told otherwise.
 */

export interface InputsFunction {
  readonly name: string
  readonly repository: string
  /** A build context of the function's own, which a test may change. */
  readonly context: string
}

export interface InputsChanged {
  /** A function, its repository, and a build context of its own that a test may change. */
  readonly seed: (label: string) => Promise<InputsFunction>
  readonly deploy: (fn: InputsFunction, inputs?: Record<string, string>) => Promise<ActionRun>
}

/** Registers the suite's work directory (under `workPrefix`) and gives its seed and deploy. */
export function useInputsChanged(sandbox: Sandbox, workPrefix: string): InputsChanged {
  const work = useWorkDir(workPrefix)
  return {
    async seed(label) {
      const { name, repository } = await sandbox.seed({ label: `inputs-${label}` })
      const context = path.join(work.dir, name)
      cpSync(path.join(fixturesDir, 'inputs-changed'), context, { recursive: true })
      return { name, repository, context }
    },
    deploy(fn, inputs = {}) {
      return sandbox.run({
        'function-name': fn.name,
        repository: fn.repository,
        context: fn.context,
        tags: 'v1',
        ...inputs
      })
    }
  }
}

/** Whether the run built an image. */
export const built = (run: ActionRun) => run.stdout.includes('::group::Build ')
/** Whether the run pushed an image. */
export const pushed = (run: ActionRun) => run.stdout.includes('::group::Push to ')
