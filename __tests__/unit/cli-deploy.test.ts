import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { CliIo } from '../../src/cli/command.js'
import {
  actionEnvironment,
  outputsText,
  parseDeployArgs,
  parseOutputFile
} from '../../src/cli/commands/deploy.js'
import { runCli, VERSION } from '../../src/cli/run.js'
import { inputsFromEnvironment } from '../../src/inputs.js'

const root = path.resolve(import.meta.dirname, '..', '..')

async function cli(argv: string[]) {
  let stdout = ''
  let stderr = ''
  const io: CliIo = {
    stdout: text => {
      stdout += text
    },
    stderr: text => {
      stderr += text
    },
    readTextFile: () => Promise.reject(new Error('no files here')),
    env: {}
  }
  const code = await runCli(argv, io)
  return { code, stdout, stderr }
}

describe('lambda-image-deploy --version', () => {
  it.each([['--version'], ['-V'], ['version']])('%s prints package.json’s version', async flag => {
    const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      version: string
    }
    expect(VERSION).toBe(version)
    expect(await cli([flag])).toEqual({
      code: 0,
      stdout: `lambda-image-deploy ${version}\n`,
      stderr: ''
    })
  })
})

describe('lambda-image-deploy deploy: options are the action’s inputs', () => {
  it('reads each option as the input of the same name, as the action reads INPUT_ variables', () => {
    const inputs = parseDeployArgs([
      '--function-name',
      'my-fn',
      '--build-args',
      'A=1',
      '--build-args=B=2',
      '--dry-run',
      'true'
    ])
    expect(inputs).toEqual({
      'function-name': 'my-fn',
      'build-args': 'A=1\nB=2',
      'dry-run': 'true'
    })
    const read = inputsFromEnvironment(actionEnvironment(inputs as Record<string, string>, {}))
    expect(read('function-name')).toBe('my-fn')
    expect(read('build-args')).toBe('A=1\nB=2')
    expect(read('dry-run')).toBe('true')
    expect(read('publish')).toBe('')
  })

  it('lets an option win over an INPUT_ variable, and keeps the others', () => {
    const env = actionEnvironment(
      { 'function-name': 'from-option' },
      { 'INPUT_FUNCTION-NAME': 'from-env', INPUT_ALIAS: 'live', AWS_REGION: 'eu-west-1' }
    )
    expect(env).toMatchObject({
      'INPUT_FUNCTION-NAME': 'from-option',
      INPUT_ALIAS: 'live',
      AWS_REGION: 'eu-west-1'
    })
  })

  it.each([
    [['--function-name', 'f', '--no-such-input', 'x'], "Unknown option '--no-such-input'"],
    [['--function-name', 'f', 'extra'], "Unexpected argument 'extra'"],
    [['--image', 'x'], 'give the functions to deploy: --function-name NAME'],
    [['--image-uri', 'x'], '--image-uri is not an input of this action'],
    [['--image-uri=x'], 'use --image']
  ])('refuses %j with exit code 2', async (argv, message) => {
    const run = await cli(['deploy', ...argv])
    expect(run.code).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr).toContain(message)
  })

  it('prints its help, listed in the program help', async () => {
    expect((await cli(['deploy', '--help'])).stdout).toContain(
      'Usage: lambda-image-deploy deploy --function-name NAME'
    )
    expect((await cli(['--help'])).stdout).toMatch(/^ {2}deploy {2,}Run the action/m)
  })

  it('prints the outputs one per line, from the runner’s output file format', () => {
    const file = 'image-uri<<ghadelim_1\nrepo@sha256:ab\nghadelim_1\nfunctions<<d2\n[1,\n2]\nd2\n'
    expect(parseOutputFile(file)).toEqual({ 'image-uri': 'repo@sha256:ab', functions: '[1,\n2]' })
    expect(outputsText(parseOutputFile(file))).toBe(
      '\n==> Outputs\nimage-uri: repo@sha256:ab\nfunctions: [1,\n  2]\n'
    )
  })
})

describe('docs/CLI.md', () => {
  const docs = readFileSync(path.join(root, 'docs', 'CLI.md'), 'utf8')
  const scripts = Object.keys(
    (
      JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>
      }
    ).scripts
  )

  it('names only npm scripts that exist', () => {
    const named = [...docs.matchAll(/npm run ([a-z:-]+)/g)].map(match => match[1]!)
    expect(named.filter(name => !scripts.includes(name))).toEqual([])
  })

  it('never tells a user to run the command through npx, which runs whatever the registry holds', () => {
    const advice = docs
      .split('\n')
      .filter(line => /npx lambda-image-deploy/.test(line) && !/do not use/.test(line))
    expect(advice).toEqual([])
  })

  it('has a section for every command', async () => {
    const { commands } = await import('../../src/cli/commands/index.js')
    for (const command of commands) expect(docs).toContain(`\n## \`${command.name}\`\n`)
  })
})
