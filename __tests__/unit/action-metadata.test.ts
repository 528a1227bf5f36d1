import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parse } from 'yaml'
import { ACTION_INPUT_NAMES } from '../../src/cli/commands/deploy.js'
import { FOREIGN_INPUTS, parseConfig, type ActionConfig } from '../../src/inputs.js'

const root = path.resolve(import.meta.dirname, '..', '..')
const action = parse(readFileSync(path.join(root, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { description: string; required?: boolean; default?: string }>
  outputs: Record<string, { description: string }>
  runs: { using: string; main: string }
}
const readme = readFileSync(path.join(root, 'README.md'), 'utf8')

/** The names in the first column of the README table under the given heading. */
function readmeTable(heading: string): string[] {
  const section = readme.split(`### ${heading}\n`)[1]?.split('\n### ')[0] ?? ''
  return [...section.matchAll(/^\| `([a-z0-9-]+)`\s*\|/gm)].map(match => match[1]!)
}

/** The input names the source reads (inputs.ts, and the smoke-test, create-missing and verify
 * settings it delegates to). */
function inputsReadBySource(): string[] {
  const source = [
    'inputs.ts',
    'domain/smoke-test-settings.ts',
    'domain/create-missing.ts',
    'domain/verify-settings.ts'
  ]
    .map(file => readFileSync(path.join(root, 'src', file), 'utf8'))
    .join('\n')
  return [
    ...source.matchAll(
      /\bread\(\s*'([a-z0-9-]+)'\)|required\(read, '([a-z0-9-]+)'\)|\(read, '([a-z0-9-]+)'/g
    )
  ].map(match => match[1] ?? match[2] ?? match[3]!)
}

describe('action.yml', () => {
  it('runs the bundle on node24', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' })
  })

  it('documents every input in the README, in the same order', () => {
    expect(readmeTable('Inputs')).toEqual(Object.keys(action.inputs))
  })

  it('documents every output in the README, in the same order', () => {
    expect(readmeTable('Outputs')).toEqual(Object.keys(action.outputs))
  })

  it('declares exactly the inputs the code reads', () => {
    expect([...new Set(inputsReadBySource())].sort()).toEqual(Object.keys(action.inputs).sort())
  })

  it('declares every output the code sets', () => {
    const report = readFileSync(path.join(root, 'src', 'presentation', 'report.ts'), 'utf8')
    const set = [...report.matchAll(/setOutput\('([a-z0-9-]+)'/g)].map(match => match[1]!)
    expect([...new Set(set)].sort()).toEqual(Object.keys(action.outputs).sort())
  })
})

const REPOSITORY = '111111111111.dkr.ecr.us-east-1.amazonaws.com/app'
const dockerfileDir = mkdtempSync(path.join(os.tmpdir(), 'action-metadata-'))
writeFileSync(path.join(dockerfileDir, 'Dockerfile'), 'FROM scratch\n')

/** A build run: every input empty except these, as the parser sees them. */
const buildRun: Record<string, string> = {
  'function-name': 'my-fn',
  repository: REPOSITORY,
  file: path.join(dockerfileDir, 'Dockerfile')
}

/** Parses inputs, recording every input name the parser asks for. */
function parseRecording(inputs: Record<string, string>): { config: ActionConfig; asked: string[] } {
  const asked: string[] = []
  const config = parseConfig(
    name => {
      asked.push(name)
      return inputs[name] ?? ''
    },
    { AWS_REGION: 'us-east-1' }
  )
  return { config, asked }
}

/** The input list after 'status (' in an output's description. */
function statusesIn(description: string): string[] {
  const list = /\bstatus \(([^)]*)\)/.exec(description)?.[1] ?? ''
  return list.split(',').map(status => status.trim())
}

describe('action.yml and the input parser agree', () => {
  it.each(
    Object.entries(action.inputs)
      .filter(([, input]) => input.default !== undefined)
      .map(([name, input]) => [name, input.default!])
  )('the parser reads %s left empty as its declared default %p', (name, value) => {
    expect(parseRecording({ ...buildRun, [name]: value }).config).toEqual(
      parseRecording(buildRun).config
    )
  })

  // Defaults that only a description states (the input has no default: key, because the value
  // depends on other inputs or is a limit): the parser must apply exactly what the text says.
  it.each<[string, string, Record<string, string>, string, (config: ActionConfig) => unknown]>([
    [
      'smoke-test-events',
      'Default: one event, {}.',
      { 'smoke-test': 'true' },
      '{}',
      // Only the payloads: the log label says where an event came from.
      config => config.smokeTest.events.map(event => [event.payload, event.expect])
    ],
    ['verify-expect', 'Default: any', { 'verify-event': '{}' }, 'any', config => config],
    [
      'max-image-size',
      "Default and maximum: Lambda's limit of 10 GB (10^10 bytes).",
      {},
      '10000000000',
      config => config
    ],
    ['tags', 'Default: the commit SHA.', {}, 'a'.repeat(40), config => config]
  ])('%s is described with the default the parser applies', (name, phrase, others, value, view) => {
    expect(action.inputs[name]?.description).toContain(phrase)
    const env = { AWS_REGION: 'us-east-1', GITHUB_SHA: 'a'.repeat(40) }
    const read = (inputs: Record<string, string>) => (input: string) => inputs[input] ?? ''
    const run = { ...buildRun, ...others }
    expect(view(parseConfig(read({ ...run, [name]: value }), env))).toEqual(
      view(parseConfig(read(run), env))
    )
  })

  // Ranges the descriptions state: the parser takes both ends and refuses one step beyond.
  it.each<[string, string, number, number, Record<string, string>]>([
    ['max-concurrency', 'at once: 1 to 50.', 1, 50, {}],
    [
      'create-function-memory',
      'Memory (MB, 128-10240)',
      128,
      10240,
      { 'create-function-role': 'r' }
    ],
    ['create-function-timeout', 'Timeout (seconds, 1-900)', 1, 900, { 'create-function-role': 'r' }]
  ])('%s takes the range its description states', (name, phrase, low, high, others) => {
    expect(action.inputs[name]?.description).toContain(phrase)
    const parses = (value: number): boolean => {
      try {
        parseRecording({ ...buildRun, ...others, [name]: String(value) })
        return true
      } catch {
        return false
      }
    }
    expect([low - 1, low, high, high + 1].map(parses)).toEqual([false, true, true, false])
  })

  it('declares every input the parser asks for, in a build run and a deploy-only run', () => {
    const declared = Object.keys(action.inputs)
    const asked = new Set([
      ...parseRecording(buildRun).asked,
      ...parseRecording({ ...buildRun, 'smoke-test': 'true', 'verify-event': '{}' }).asked,
      ...parseRecording({
        'function-name': 'my-fn',
        image: `${REPOSITORY}@sha256:${'a'.repeat(64)}`
      }).asked
    ])
    const foreign = Object.keys(FOREIGN_INPUTS)
    expect([...asked].filter(name => !foreign.includes(name) && !declared.includes(name))).toEqual(
      []
    )
    // The parser looks at each foreign name only to refuse it, naming a declared input instead.
    for (const name of foreign) {
      expect(asked).toContain(name)
      expect(declared).not.toContain(name)
      expect(declared).toContain(FOREIGN_INPUTS[name]!.use)
    }
  })

  it('gives the CLI deploy command one option per input, in action.yml’s order', () => {
    expect([...ACTION_INPUT_NAMES]).toEqual(Object.keys(action.inputs))
  })

  it('lists in the functions output every status the code gives a function, and no other', () => {
    const source = ['steps/deploy-functions.ts', 'presentation/report.ts']
      .map(file => readFileSync(path.join(root, 'src', file), 'utf8'))
      .join('\n')
    const deployed = /export type FunctionStatus = ([^\n]+)/.exec(source)?.[1] ?? ''
    const reported = /status: result\?\.status \?\? \(plan \? '([a-z-]+)' : '([a-z-]+)'\)/.exec(
      source
    )
    const statuses = [
      ...[...deployed.matchAll(/'([a-z-]+)'/g)].map(match => match[1]!),
      reported?.[1],
      reported?.[2]
    ]
    expect(statuses).toContain('created')
    expect(statusesIn(action.outputs.functions!.description).sort()).toEqual(statuses.sort())
  })

  it('gives in the README inputs table the default action.yml declares', () => {
    const section = readme.split('### Inputs\n')[1]?.split('\n### ')[0] ?? ''
    const readmeDefaults = new Map(
      [...section.matchAll(/^\| `([a-z0-9-]+)`\s*\|\s*([^|]*?)\s*\|/gm)].map(match => [
        match[1]!,
        match[2]!
      ])
    )
    const mismatches = Object.entries(action.inputs)
      .filter(([, input]) => input.default !== undefined)
      .filter(([name, input]) => readmeDefaults.get(name) !== `\`${input.default}\``)
      .map(
        ([name, input]) =>
          `${name}: action.yml ${input.default}, README ${readmeDefaults.get(name)}`
      )
    expect(mismatches).toEqual([])
  })
})
