import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { parseConfig } from '../../src/inputs.js'

/**
 * The reusable refresh workflow (.github/workflows/refresh-base-image.yml) beyond its schema
 * (workflow-files.test.ts): which runner an arm64 group gets, when emulation is set up, which
 * inputs reach the action, and what its outputs hold. Expressions are evaluated with GitHub's
 * rules (https://docs.github.com/en/actions/reference/workflows-and-actions/expressions) by the
 * small evaluator below; the steps' scripts are run with bash and node as a runner would.
 */

type Json = Record<string, unknown>
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const asObject = (value: unknown): Json =>
  typeof value === 'object' && value !== null ? (value as Json) : {}
const workflow = asObject(
  parse(readFileSync(path.join(root, '.github/workflows/refresh-base-image.yml'), 'utf8'))
)
const action = asObject(parse(readFileSync(path.join(root, 'action.yml'), 'utf8')))
const call = asObject(asObject(workflow.on).workflow_call)
const callInputs = asObject(call.inputs)
const jobs = asObject(workflow.jobs)
const stepsOf = (job: string) => (asObject(jobs[job]).steps as unknown[]).map(asObject)
const refreshSteps = stepsOf('refresh')
const deployStep = refreshSteps.find(step => step.id === 'deploy')!
const deployWith = asObject(deployStep.with)

/** The inputs as a caller that gives only the required ones sees them. */
function defaults(overrides: Record<string, string> = {}): Json {
  const values: Json = {}
  for (const [name, spec] of Object.entries(callInputs)) values[name] = asObject(spec).default ?? ''
  return { ...values, 'role-to-assume': 'arn:aws:iam::123456789012:role/r', ...overrides }
}

// ---- A GitHub Actions expression evaluator, enough for this workflow's runs-on, if and with.

type Value = string | number | boolean | null | Value[] | { [key: string]: Value }
const TOKEN =
  /\s*(?:(\d+(?:\.\d+)?)|'((?:[^']|'')*)'|([A-Za-z_][A-Za-z0-9_-]*)|(==|!=|&&|\|\||[()!.,]))/y

function tokenize(text: string): { kind: string; value: string }[] {
  const tokens: { kind: string; value: string }[] = []
  TOKEN.lastIndex = 0
  while (TOKEN.lastIndex < text.trimEnd().length) {
    const at = TOKEN.lastIndex
    const match = TOKEN.exec(text)
    if (!match) throw new Error(`cannot read the expression at ${at}: ${text}`)
    if (match[1] !== undefined) tokens.push({ kind: 'number', value: match[1] })
    else if (match[2] !== undefined)
      tokens.push({ kind: 'string', value: match[2].replace(/''/g, "'") })
    else if (match[3] !== undefined) tokens.push({ kind: 'name', value: match[3] })
    else tokens.push({ kind: 'op', value: match[4]! })
  }
  return tokens
}

const truthy = (value: Value): boolean =>
  !(value === false || value === null || value === '' || value === 0)

function equals(a: Value, b: Value): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase()
  if (typeof a === typeof b) return a === b
  return Number(a) === Number(b)
}

export function evaluate(expression: string, contexts: Record<string, Value>): Value {
  const tokens = tokenize(expression)
  let position = 0
  const peek = () => tokens[position]
  const take = (value?: string) => {
    const token = tokens[position++]
    if (!token || (value !== undefined && token.value !== value)) {
      throw new Error(`expected ${value ?? 'more'} in ${expression}`)
    }
    return token
  }
  const or = (): Value => {
    let left = and()
    while (peek()?.value === '||') {
      take()
      const right = and()
      left = truthy(left) ? left : right
    }
    return left
  }
  const and = (): Value => {
    let left = equality()
    while (peek()?.value === '&&') {
      take()
      const right = equality()
      left = truthy(left) ? right : left
    }
    return left
  }
  const equality = (): Value => {
    let left = unary()
    while (peek()?.value === '==' || peek()?.value === '!=') {
      const op = take().value
      const right = unary()
      left = op === '==' ? equals(left, right) : !equals(left, right)
    }
    return left
  }
  const unary = (): Value => {
    if (peek()?.value === '!') {
      take()
      return !truthy(unary())
    }
    let value = primary()
    while (peek()?.value === '.') {
      take()
      const key = take().value
      const object = value && typeof value === 'object' && !Array.isArray(value) ? value : {}
      // A property that does not exist is null (an empty string in text).
      value = (object as Record<string, Value>)[key] ?? null
    }
    return value
  }
  const primary = (): Value => {
    const token = take()
    if (token.kind === 'number') return Number(token.value)
    if (token.kind === 'string') return token.value
    if (token.value === '(') {
      const value = or()
      take(')')
      return value
    }
    if (token.kind === 'name') {
      if (token.value === 'true') return true
      if (token.value === 'false') return false
      if (token.value === 'null') return null
      if (peek()?.value === '(') {
        // contains(search, item): for text, a case-insensitive substring test (GitHub's docs,
        // "Expressions", contains); no other function is evaluated here.
        if (token.value !== 'contains') {
          throw new Error(`functions are not evaluated here: ${token.value}`)
        }
        take('(')
        const search = or()
        take(',')
        const item = or()
        take(')')
        const text = (value: Value) =>
          typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value ?? '')
        return Array.isArray(search)
          ? search.some(entry => equals(entry, item))
          : text(search).toLowerCase().includes(text(item).toLowerCase())
      }
      if (!(token.value in contexts)) throw new Error(`no context ${token.value}`)
      return contexts[token.value]!
    }
    throw new Error(`unexpected ${token.value} in ${expression}`)
  }
  const value = or()
  if (position !== tokens.length) throw new Error(`left over in ${expression}`)
  return value
}

/** `${{ EXPR }}` as a whole value (runs-on, with:), or an `if:` condition without the braces. */
const unwrap = (text: string) => /^\$\{\{(.*)\}\}$/s.exec(text.trim())?.[1] ?? text

// ---- The runner each group gets, and emulation.

/** What GitHub's hosted runner labels report as runner.arch. */
const RUNNER_ARCH: Record<string, string> = {
  'ubuntu-24.04': 'X64',
  'ubuntu-24.04-arm': 'ARM64'
}

function planGroup(groupArchitecture: string, inputs: Record<string, string> = {}) {
  const contexts = {
    inputs: defaults(inputs) as Value,
    matrix: { group: { image: 'r@sha256:0', architecture: groupArchitecture, functions: ['f'] } }
  }
  const runsOn = evaluate(unwrap(String(asObject(jobs.refresh)['runs-on'])), contexts) as string
  const emulation = refreshSteps.find(step =>
    String(step.uses).startsWith('docker/setup-qemu-action@')
  )!
  const withRunner = { ...contexts, runner: { arch: RUNNER_ARCH[runsOn] ?? 'unknown' } }
  const emulates = truthy(evaluate(unwrap(String(emulation.if)), withRunner))
  const platforms = evaluate(unwrap(String(asObject(emulation.with).platforms)), withRunner)
  return { runsOn, emulates, platforms }
}

describe('the refresh job of a group', () => {
  it('runs an arm64 group on the arm64 runner, natively', () => {
    expect(planGroup('arm64')).toEqual({
      runsOn: 'ubuntu-24.04-arm',
      emulates: false,
      platforms: 'arm64'
    })
  })

  it('runs an x86_64 group on the x86_64 runner, natively', () => {
    expect(planGroup('x86_64')).toMatchObject({ runsOn: 'ubuntu-24.04', emulates: false })
  })

  it('emulates arm64 on the x86_64 runner when arm64-runner is empty', () => {
    expect(planGroup('arm64', { 'arm64-runner': '' })).toEqual({
      runsOn: 'ubuntu-24.04',
      emulates: true,
      platforms: 'arm64'
    })
  })

  it('follows the architecture input over the functions’ own', () => {
    expect(planGroup('x86_64', { architecture: 'arm64' }).runsOn).toBe('ubuntu-24.04-arm')
    // The action takes build-push-action's spelling too.
    expect(planGroup('x86_64', { architecture: 'linux/arm64' })).toMatchObject({
      runsOn: 'ubuntu-24.04-arm',
      platforms: 'arm64'
    })
    expect(planGroup('arm64', { architecture: 'x86_64' })).toMatchObject({
      runsOn: 'ubuntu-24.04',
      emulates: false
    })
  })

  it('takes the runner labels the caller gives', () => {
    expect(planGroup('x86_64', { runner: 'ubuntu-24.04' }).runsOn).toBe('ubuntu-24.04')
    expect(planGroup('arm64', { 'arm64-runner': 'my-arm-runners' }).runsOn).toBe('my-arm-runners')
  })

  it('sets up emulation before the action runs', () => {
    const emulation = refreshSteps.findIndex(step =>
      String(step.uses).startsWith('docker/setup-qemu-action@')
    )
    expect(emulation).toBeGreaterThanOrEqual(0)
    expect(emulation).toBeLessThan(refreshSteps.indexOf(deployStep))
  })
})

// ---- Inputs passed through to the action.

const PASSED_THROUGH = [
  'publish',
  'alias',
  'rollout',
  'rollout-alarms',
  'target',
  'cross-account-role'
]

/**
 * The action's config when the runner gives it the workflow's `with:` values: an input given in
 * `with:` (even empty) replaces action.yml's default, one left out takes it.
 */
const context = mkdtempSync(path.join(os.tmpdir(), 'refresh-pass-through-'))
writeFileSync(path.join(context, 'Dockerfile'), 'FROM public.ecr.aws/lambda/provided:al2023\n')

function configFrom(withValues: Record<string, string>) {
  const inputs: Record<string, string> = {}
  for (const [name, spec] of Object.entries(asObject(action.inputs))) {
    const value = asObject(spec).default
    if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') {
      inputs[name] = String(value)
    }
  }
  Object.assign(
    inputs,
    { 'function-name': 'my-fn', 'aws-region': 'eu-west-1', context },
    withValues
  )
  return parseConfig(name => inputs[name] ?? '', {})
}

describe('inputs the refresh passes to the action', () => {
  it.each(PASSED_THROUGH)('%s: an input of the workflow, given to the action as is', name => {
    expect(asObject(action.inputs)[name]).toBeDefined()
    expect(asObject(callInputs[name])).toEqual(
      expect.objectContaining({ type: 'string', required: false, default: '' })
    )
    expect(deployWith[name]).toBe(`\${{ inputs.${name} }}`)
  })

  it('alias reaches the action, so functions served through an alias get the refreshed image', () => {
    const contexts = { inputs: defaults({ alias: 'live' }) as Value }
    expect(evaluate(unwrap(String(deployWith.alias)), contexts)).toBe('live')
    expect(evaluate(unwrap(String(deployWith.publish)), contexts)).toBe('')
  })

  it('build secrets come as a workflow secret and reach the action’s secrets input', () => {
    expect(asObject(asObject(call.secrets).BUILD_SECRETS)).toEqual(
      expect.objectContaining({ required: false })
    )
    expect(deployWith.secrets).toBe('${{ secrets.BUILD_SECRETS }}')
    expect(asObject(action.inputs).secrets).toBeDefined()
  })

  it('a pass-through input the caller leaves out means what leaving it out of the action means', () => {
    const omitted = configFrom({})
    const passedEmpty = configFrom({
      ...Object.fromEntries(PASSED_THROUGH.map(name => [name, ''])),
      secrets: ''
    })
    expect(passedEmpty).toEqual(omitted)
  })

  it('an alias alone publishes a version and moves the alias to it', () => {
    const config = configFrom({ alias: 'live', publish: '' })
    expect(config.publish).toBe(true)
    expect(config.alias?.name).toBe('live')
  })

  it('reads functions in another account with cross-account-role in the grouping job too', () => {
    const chained = stepsOf('groups').find(step => asObject(step.with)['role-chaining'] === true)!
    expect(asObject(chained.with)['role-to-assume']).toBe('${{ inputs.cross-account-role }}')
    expect(chained.if).toBe("inputs.cross-account-role != ''")
    const groupStep = stepsOf('groups').findIndex(step => step.id === 'group')
    expect(stepsOf('groups').indexOf(chained)).toBeLessThan(groupStep)
  })
})

// ---- Outputs.

describe('the workflow’s outputs', () => {
  it('are groups, results, rebuilt and deployed, each from a job output that exists', () => {
    const outputs = asObject(call.outputs)
    expect(Object.keys(outputs)).toEqual(['groups', 'results', 'rebuilt', 'deployed'])
    for (const spec of Object.values(outputs)) {
      const [, job, name] = /^\$\{\{ jobs\.([a-z-]+)\.outputs\.([a-z-]+) \}\}$/.exec(
        String(asObject(spec).value)
      )!
      expect(asObject(asObject(jobs[job!]).outputs)[name!]).toBeDefined()
    }
    expect(asObject(asObject(jobs.report).outputs)).toEqual({
      results: '${{ steps.collect.outputs.results }}',
      rebuilt: '${{ steps.collect.outputs.rebuilt }}',
      deployed: '${{ steps.collect.outputs.deployed }}'
    })
  })

  it('collect what every group rebuilt and deployed, also when one failed', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'refresh-workflow-'))
    const record = refreshSteps.find(step => step.id === 'result')!
    const runStep = (step: Json, cwd: string, env: Record<string, string>) =>
      execFileSync('bash', ['-e', '-c', String(step.run)], {
        cwd,
        env: { PATH: process.env.PATH, ...env },
        encoding: 'utf8'
      })
    // Three groups as three matrix legs would leave them (the artifact of leg N is
    // refresh-result-N): one rebuilt and deployed one of its two functions, one found its base
    // unchanged, one failed in the action.
    const legs: Record<string, string>[] = [
      {
        FUNCTIONS: '["api", "worker", "jobs", "mi"]',
        ARCHITECTURE: 'arm64',
        OUTCOME: 'success',
        BUILT: 'true',
        DEPLOYED: 'true',
        // jobs got its code and then failed (a verify, a rollout): not deployed. mi's code was
        // already there, and its $LATEST.PUBLISHED was published again: deployed.
        FUNCTION_RESULTS: JSON.stringify([
          { function: 'api', status: 'updated', deployed: true },
          { function: 'worker', status: 'unchanged', deployed: false },
          { function: 'jobs', status: 'failed', deployed: true },
          { function: 'mi', status: 'updated', deployed: false }
        ])
      },
      {
        FUNCTIONS: '["cron"]',
        ARCHITECTURE: 'x86_64',
        OUTCOME: 'success',
        DEPLOYED: 'false',
        BASE_UPDATED: 'false',
        FUNCTION_RESULTS: JSON.stringify([
          { function: 'cron', status: 'unchanged', deployed: false }
        ])
      },
      { FUNCTIONS: '["broken"]', ARCHITECTURE: 'x86_64', OUTCOME: 'failure' }
    ]
    legs.forEach((env, index) => {
      const leg = path.join(dir, `leg-${index}`)
      mkdirSync(leg)
      runStep(record, leg, { IMAGE_BEFORE: `r@sha256:${index}`, ...env })
      const artifact = path.join(dir, 'report', 'refresh-results', `refresh-result-${index}`)
      mkdirSync(artifact, { recursive: true })
      writeFileSync(
        path.join(artifact, 'result.json'),
        readFileSync(path.join(leg, 'refresh-result', 'result.json'))
      )
    })
    const outputFile = path.join(dir, 'github-output')
    writeFileSync(outputFile, '')
    const collect = stepsOf('report').find(step => step.id === 'collect')!
    runStep(collect, path.join(dir, 'report'), { GITHUB_OUTPUT: outputFile })
    interface Collected {
      readonly results: Json[]
      readonly rebuilt: string[]
      readonly deployed: string[]
    }
    const outputs = Object.fromEntries(
      readFileSync(outputFile, 'utf8')
        .trim()
        .split('\n')
        .map(line => [
          line.slice(0, line.indexOf('=')),
          JSON.parse(line.slice(line.indexOf('=') + 1)) as unknown
        ])
    ) as unknown as Collected
    expect(outputs.rebuilt).toEqual(['api', 'worker', 'jobs', 'mi'])
    expect(outputs.deployed).toEqual(['api', 'mi'])
    expect(outputs.results).toHaveLength(3)
    expect(outputs.results[0]).toMatchObject({
      functions: ['api', 'worker', 'jobs', 'mi'],
      imageBefore: 'r@sha256:0',
      architecture: 'arm64',
      outcome: 'success',
      built: true,
      deployed: true
    })
    expect(outputs.results[1]).toMatchObject({ built: null, baseImageUpdated: false })
    expect(outputs.results[2]).toMatchObject({
      functions: ['broken'],
      outcome: 'failure',
      deployed: null,
      results: null
    })
  })

  it('name each leg’s artifact by its matrix index, so no leg overwrites another', () => {
    const upload = refreshSteps.find(step =>
      String(step.uses).startsWith('actions/upload-artifact@')
    )!
    expect(asObject(upload.with).name).toBe('refresh-result-${{ strategy.job-index }}')
    const download = stepsOf('report').find(step =>
      String(step.uses).startsWith('actions/download-artifact@')
    )!
    expect(asObject(download.with)).toEqual(
      expect.objectContaining({ pattern: 'refresh-result-*', path: 'refresh-results' })
    )
    expect(asObject(jobs.report).needs).toEqual(['groups', 'refresh'])
    expect(asObject(jobs.report).if).toContain('always()')
  })
})

describe('the expression evaluator', () => {
  it('follows GitHub’s rules for &&, || and case-insensitive ==', () => {
    const contexts = { inputs: { a: 'ARM64', b: '' } }
    expect(evaluate("inputs.a == 'arm64' && 'x' || 'y'", contexts)).toBe('x')
    expect(evaluate("inputs.b == 'arm64' && 'x' || 'y'", contexts)).toBe('y')
    expect(evaluate('inputs.b || inputs.a', contexts)).toBe('ARM64')
    // A property that does not exist is null, which equals '' (both coerce to 0).
    expect(evaluate("inputs.missing != ''", contexts)).toBe(false)
    expect(evaluate("!(inputs.b != '')", contexts)).toBe(true)
  })
})
