import { describe, expect, it } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { declarationProblems } from '../e2e/declarations.js'

const e2eRoot = path.join(import.meta.dirname, '..', 'e2e')

function e2eFiles(dir = e2eRoot): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(entry =>
    entry.isDirectory()
      ? e2eFiles(path.join(dir, entry.name))
      : [path.relative(e2eRoot, path.join(dir, entry.name)).split(path.sep).join('/')]
  )
}

describe('e2e suites declare what they depend on by where they live', () => {
  it('every e2e suite is in a folder a jest project runs, and no AWS-only suite uses the engine', () => {
    const problems = e2eFiles().flatMap(file =>
      declarationProblems(file, readFileSync(path.join(e2eRoot, file), 'utf8'))
    )
    expect(problems).toEqual([])
  })

  it.each([
    ["import { execFileSync } from 'node:child_process'", 'starts processes'],
    ["run('docker', ['image', 'inspect', ref])", 'runs the docker CLI'],
    ["publishPrivateBase(reference, 'v=1')", 'builds and pushes an image'],
    ['const docker = createDockerEngine()', 'drives the engine']
  ])('flags an AWS-only suite that %s', (source, what) => {
    const [problem] = declarationProblems('aws/example.test.ts', source)
    expect(problem?.message).toContain(what)
  })

  it('lets engine and serial suites use the engine', () => {
    const source = "import { execFileSync } from 'node:child_process'\nexecFileSync('docker', [])"
    expect(declarationProblems('engine/example.test.ts', source)).toEqual([])
    expect(declarationProblems('serial/example.test.ts', source)).toEqual([])
  })

  it('flags a suite outside the three folders, which no project would run', () => {
    expect(declarationProblems('example.test.ts', '')[0]?.message).toContain(
      'no jest project runs it'
    )
  })

  it('ignores the harness and other helpers', () => {
    expect(declarationProblems('harness.ts', "execFileSync('docker', [])")).toEqual([])
  })
})
