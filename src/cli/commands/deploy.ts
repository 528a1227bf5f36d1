import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { createAwsServices } from '../../adapters/aws-clients.js'
import { createDockerEngine } from '../../adapters/docker.js'
import { handleCancellation } from '../../adapters/temporary-files.js'
import { FOREIGN_INPUTS } from '../../inputs.js'
import { run } from '../../main.js'
import { EXIT_FAILURE, EXIT_OK, UsageError, type CliCommand, type CliIo } from '../command.js'

/**
 * Every input of action.yml, in its order; each is a --NAME option of this command. A unit test
 * (action-metadata.test.ts) keeps the list equal to action.yml's.
 */
export const ACTION_INPUT_NAMES = [
  'function-name',
  'repository',
  'image',
  'tags',
  'context',
  'file',
  'target',
  'build-args',
  'labels',
  'secrets',
  'cache-from',
  'cache-to',
  'registry-cache',
  'builder',
  'architecture',
  'max-image-size',
  'manage-repository-policy',
  'wait',
  'wait-timeout',
  'push-timeout',
  'function-config',
  'publish',
  'alias',
  'alias-routing-weight',
  'rollout',
  'rollout-alarms',
  'rollout-insufficient-data',
  'rollout-unwatched',
  'dry-run',
  'cross-account-role',
  'max-concurrency',
  'ignore-findings',
  'warnings-as-errors',
  'deployed-tag',
  'create-function-role',
  'create-function-memory',
  'create-function-timeout',
  'create-repository',
  'create-repository-tag-mutability',
  'smoke-test',
  'smoke-test-events',
  'smoke-test-expect',
  'smoke-test-timeout',
  'verify-event',
  'verify-expect',
  'rebuild',
  'aws-region'
] as const

const HELP = `Usage: lambda-image-deploy deploy --function-name NAME [--INPUT VALUE]...

Runs the action itself from a terminal: the same steps (resolve, build with the local Docker
engine, check, push, grant, deploy, verify) with the same inputs. Every input of action.yml is
an option of the same name (--function-name, --image, --build-args, --dry-run, ...); an input
left out takes the default action.yml gives it, as in a workflow. A repeated option is one
input of several lines (--build-args A=1 --build-args B=2). INPUT_<NAME> variables (the
runner's, e.g. INPUT_FUNCTION-NAME) are read too; an option wins over a variable.
Credentials and region come from the AWS SDK's usual settings (AWS_PROFILE, AWS_REGION, ...).

Examples:
  lambda-image-deploy deploy --function-name my-fn --dry-run true
  lambda-image-deploy deploy --function-name my-fn --context app --architecture arm64
  lambda-image-deploy deploy --function-name my-fn \\
      --image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1

The log is plain text outside GitHub Actions; at the end the step outputs are printed, one
"name: value" per line, under "==> Outputs".

Options:
  --INPUT VALUE   Any input of action.yml (see the README's Inputs table).
  -h, --help      Show this help.

Exit codes: 0 deployed (or nothing to do), 1 the action failed, 2 usage error.
`

export const deployCommand: CliCommand = {
  name: 'deploy',
  summary: 'Run the action (build, check, push, deploy) from a terminal, with its inputs.',
  help: HELP,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const inputs = parseDeployArgs(args)
    if (inputs === 'help') {
      io.stdout(HELP)
      return EXIT_OK
    }
    const env = actionEnvironment(inputs, io.env)
    if (!env['INPUT_FUNCTION-NAME']?.trim()) {
      throw new UsageError('give the functions to deploy: --function-name NAME')
    }
    return runAction(env, io)
  }
}

/** The inputs given as options: name → value (repeated options joined by line breaks). */
export function parseDeployArgs(args: readonly string[]): Record<string, string> | 'help' {
  for (const [name, { use, from }] of Object.entries(FOREIGN_INPUTS)) {
    if (args.some(arg => arg === `--${name}` || arg.startsWith(`--${name}=`))) {
      throw new UsageError(
        `--${name} is not an input of this action (it is ${from}'s); use --${use}`
      )
    }
  }
  let parsed
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: false,
      strict: true,
      options: {
        ...Object.fromEntries(
          ACTION_INPUT_NAMES.map(name => [name, { type: 'string', multiple: true } as const])
        ),
        help: { type: 'boolean', short: 'h' }
      }
    })
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
  const values = parsed.values as Record<string, string[] | boolean | undefined>
  if (values.help === true) return 'help'
  const inputs: Record<string, string> = {}
  for (const name of ACTION_INPUT_NAMES) {
    const given = values[name]
    if (Array.isArray(given)) inputs[name] = given.join('\n')
  }
  return inputs
}

/**
 * The environment the action reads, as a runner would give it: INPUT_<NAME> for each option
 * (the runner's spelling: upper case, spaces to underscores, hyphens kept) over the caller's
 * environment.
 */
export function actionEnvironment(
  inputs: Readonly<Record<string, string>>,
  env: Readonly<Record<string, string | undefined>>
): Record<string, string | undefined> {
  const actionEnv: Record<string, string | undefined> = { ...env }
  for (const [name, value] of Object.entries(inputs)) {
    actionEnv[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value
  }
  return actionEnv
}

/**
 * Runs src/main.ts's run() in this process. @actions/core writes outputs to the file
 * GITHUB_OUTPUT names and reports failure through process.exitCode; outside a runner there is
 * no such file, so one is made for the run and its outputs printed at the end.
 */
async function runAction(env: Record<string, string | undefined>, io: CliIo): Promise<number> {
  // Ctrl-C removes the run's temporary credentials, as a cancelled job does.
  handleCancellation()
  const work = mkdtempSync(path.join(os.tmpdir(), 'lambda-image-deploy-cli-'))
  const ownOutputFile = env.GITHUB_OUTPUT ? undefined : path.join(work, 'github-output')
  const saved = { output: process.env.GITHUB_OUTPUT, exitCode: process.exitCode }
  if (ownOutputFile !== undefined) {
    writeFileSync(ownOutputFile, '')
    process.env.GITHUB_OUTPUT = ownOutputFile
    env.GITHUB_OUTPUT = ownOutputFile
  }
  process.exitCode = undefined
  try {
    await run({ aws: createAwsServices(env), docker: createDockerEngine(), env })
    const failed = process.exitCode !== undefined && process.exitCode !== 0
    if (ownOutputFile !== undefined) {
      io.stdout(outputsText(parseOutputFile(readFileSync(ownOutputFile, 'utf8'))))
    }
    return failed ? EXIT_FAILURE : EXIT_OK
  } finally {
    process.exitCode = saved.exitCode
    if (ownOutputFile !== undefined) {
      if (saved.output === undefined) delete process.env.GITHUB_OUTPUT
      else process.env.GITHUB_OUTPUT = saved.output
    }
    rmSync(work, { recursive: true, force: true })
  }
}

/** The outputs, one `name: value` per line (values of several lines indented). */
export function outputsText(outputs: Readonly<Record<string, string>>): string {
  const lines = Object.entries(outputs).map(
    ([name, value]) => `${name}: ${value.replace(/\n/g, '\n  ')}`
  )
  return `\n==> Outputs\n${lines.join('\n')}\n`
}

/** The runner's file format, as @actions/core writes it: `name<<DELIMITER`, lines, `DELIMITER`. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i += 1) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[i]!)
    if (!match) continue
    const name = match[1]!
    const delimiter = match[2]!
    const value: string[] = []
    for (i += 1; i < lines.length && lines[i] !== delimiter; i += 1) value.push(lines[i]!)
    outputs[name] = value.join('\n')
  }
  return outputs
}
