#!/usr/bin/env node
import { readFile } from 'node:fs/promises'
import { usePlainTerminalOutput } from './cli/plain-output.js'
import { runCli } from './cli/run.js'

// Entry of the command-line interface (bundled to dist/cli/index.js); the logic is in cli/run.ts.
// Inside a workflow step (GITHUB_ACTIONS=true) the steps' workflow commands are for the runner;
// anywhere else they become plain text.
const restoreStdout =
  process.env.GITHUB_ACTIONS === 'true'
    ? () => undefined
    : usePlainTerminalOutput(process.stdout, { debug: process.env.RUNNER_DEBUG === '1' })
try {
  process.exitCode = await runCli(process.argv.slice(2), {
    stdout: text => process.stdout.write(text),
    stderr: text => process.stderr.write(text),
    readTextFile: path => readFile(path, 'utf8'),
    env: process.env
  })
} finally {
  restoreStdout()
}
