import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'

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
