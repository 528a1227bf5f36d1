#!/usr/bin/env node
import { readFile } from 'node:fs/promises'
import { runCli } from './cli/run.js'

// Entry of the command-line interface (bundled to dist/cli/index.js); the logic is in cli/run.ts.
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: text => process.stdout.write(text),
  stderr: text => process.stderr.write(text),
  readTextFile: path => readFile(path, 'utf8'),
  env: process.env
})
