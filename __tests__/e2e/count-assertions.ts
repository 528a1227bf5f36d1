import { afterEach, expect } from '@jest/globals'
import { appendFileSync } from 'node:fs'
import path from 'node:path'

/**
 * Counts each e2e test's assertions for the test command's report (scripts/test-report.mjs):
 * how much each image store proves, not only how many tests ran. Only when scripts/test.sh asks.
 */
const dir = process.env.LAMBDA_E2E_ASSERTIONS_DIR
if (dir) {
  afterEach(() => {
    const state = expect.getState()
    const line = {
      suite: path.relative(process.cwd(), state.testPath ?? ''),
      test: state.currentTestName,
      assertions: state.assertionCalls
    }
    const file = path.join(dir, `assertions-${process.env.LAMBDA_E2E_STORE ?? 'engine'}.jsonl`)
    appendFileSync(file, `${JSON.stringify(line)}\n`)
  })
}
