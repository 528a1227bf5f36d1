import { describe, expect, it } from '@jest/globals'
import { Ajv, type ValidateFunction } from 'ajv'
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { groupsJson } from '../../src/cli/commands/group-functions.js'

/**
 * The action's metadata, this repository's workflows and the example workflows: valid against
 * SchemaStore's schemas (vendored in __tests__/schemas), every `with:` given to this action or to
 * the reusable workflow names a real input and no required one is left out, third-party code is
 * pinned by commit, and no expression that carries outside text is spliced into a shell script.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const read = (file: string): unknown => parse(readFileSync(path.join(root, file), 'utf8'))
const yamlFilesIn = (dir: string) =>
  readdirSync(path.join(root, dir))
    .filter(name => /\.ya?ml$/.test(name))
    .map(name => `${dir}/${name}`)

const workflowFiles = [...yamlFilesIn('.github/workflows'), ...yamlFilesIn('examples')]

const ajv = new Ajv({ strict: false, allErrors: true })
const schema = (name: string): ValidateFunction =>
  ajv.compile(
    JSON.parse(readFileSync(path.join(root, '__tests__/schemas', name), 'utf8')) as object
  )
const validateAction = schema('github-action.json')
const validateWorkflow = schema('github-workflow.json')

type Json = Record<string, unknown>
interface Step {
  readonly uses?: string
  readonly run?: string
  readonly id?: string
  readonly with?: Json
}
interface InputSpec {
  readonly required?: boolean
  readonly default?: unknown
}
interface Interface {
  readonly inputs: Readonly<Record<string, InputSpec>>
  readonly outputs: ReadonlySet<string>
}

const asObject = (value: unknown): Json =>
  typeof value === 'object' && value !== null ? (value as Json) : {}

function jobsOf(workflow: unknown): [string, Json][] {
  return Object.entries(asObject(asObject(workflow).jobs)).map(([id, job]) => [id, asObject(job)])
}

function stepsOf(workflow: unknown): Step[] {
  return jobsOf(workflow).flatMap(([, job]) =>
    Array.isArray(job.steps) ? (job.steps as unknown[]).map(step => asObject(step) as Step) : []
  )
}

const actionMetadata = asObject(read('action.yml'))
const actionInterface: Interface = {
  inputs: asObject(actionMetadata.inputs) as Record<string, InputSpec>,
  outputs: new Set(Object.keys(asObject(actionMetadata.outputs)))
}

/** Steps that run this action: `./` in this repository, or a checkout of it under its name. */
export function isThisAction(uses: string | undefined): boolean {
  return (
    uses !== undefined &&
    (/^\.\/?$/.test(uses) ||
      /^\.\/lambda-image-deploy\/?$/.test(uses) ||
      /^[^/]+\/lambda-image-deploy@/.test(uses))
  )
}

/** Names given in `with:` that the interface lacks, and required inputs not given. */
export function inputProblems(given: Json | undefined, spec: Interface): string[] {
  const names = Object.keys(given ?? {})
  const unknown = names
    .filter(name => !(name in spec.inputs))
    .map(name => `unknown input "${name}"`)
  const missing = Object.entries(spec.inputs)
    .filter(([, input]) => input.required === true && input.default === undefined)
    .filter(([name]) => !names.includes(name))
    .map(([name]) => `required input "${name}" not given`)
  return [...unknown, ...missing]
}

/** Outputs read as steps.ID.outputs.NAME from a step of this action that the action lacks. */
export function outputProblems(workflow: unknown, spec: Interface): string[] {
  const problems: string[] = []
  for (const [, job] of jobsOf(workflow)) {
    const steps = Array.isArray(job.steps) ? (job.steps as unknown[]).map(asObject) : []
    const actionIds = new Set(
      steps.filter(step => isThisAction(step.uses as string | undefined)).map(step => step.id)
    )
    const text = JSON.stringify(job)
    for (const [, id, name] of text.matchAll(
      /steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)/g
    )) {
      if (actionIds.has(id) && !spec.outputs.has(name!)) problems.push(`unknown output "${name}"`)
    }
  }
  return problems
}

const FULL_SHA = /@[0-9a-f]{40}$/

/** `uses:` of steps and jobs that name another repository without a full commit SHA. */
export function unpinned(workflow: unknown): string[] {
  const uses = [
    ...stepsOf(workflow).map(step => step.uses),
    ...jobsOf(workflow).map(([, job]) => job.uses as string | undefined)
  ].filter((value): value is string => typeof value === 'string')
  // This action and its reusable workflow are written at the major tag (README, "Versions and
  // pinning"); only other repositories' code must be pinned by commit.
  const thisRepositoryAtMajor = /^OWNER\/lambda-image-deploy(\/\.github\/workflows\/[^@]+)?@v\d+$/
  return uses.filter(
    value =>
      !value.startsWith('./') &&
      !value.startsWith('docker://') &&
      !FULL_SHA.test(value) &&
      !thisRepositoryAtMajor.test(value)
  )
}

// Values the workflow's caller or the triggering event control; inside `run:` they become shell
// code (script injection). They belong in `env:` and are read as "$VARIABLE".
const SPLICED = /\$\{\{\s*(inputs\.|github\.event\b)/

export function splicedIntoRun(workflow: unknown): string[] {
  return stepsOf(workflow)
    .map(step => step.run)
    .filter((run): run is string => typeof run === 'string' && SPLICED.test(run))
}

function workflowCallInterface(file: string): Interface {
  const on = asObject(asObject(read(file)).on)
  const call = asObject(on.workflow_call)
  return {
    inputs: asObject(call.inputs) as Record<string, InputSpec>,
    outputs: new Set(Object.keys(asObject(call.outputs)))
  }
}

describe('action.yml', () => {
  it("is valid against SchemaStore's github-action schema", () => {
    const valid = validateAction(actionMetadata)
    expect(validateAction.errors ?? []).toEqual([])
    expect(valid).toBe(true)
  })
})

describe.each(workflowFiles)('%s', file => {
  const workflow = read(file)

  it("is valid against SchemaStore's github-workflow schema", () => {
    const valid = validateWorkflow(workflow)
    expect(validateWorkflow.errors ?? []).toEqual([])
    expect(valid).toBe(true)
  })

  it('gives this action only inputs action.yml declares, and all the required ones', () => {
    const problems = stepsOf(workflow)
      .filter(step => isThisAction(step.uses))
      .flatMap(step => inputProblems(step.with, actionInterface))
    expect(problems).toEqual([])
  })

  it('reads only outputs action.yml declares from steps that run this action', () => {
    expect(outputProblems(workflow, actionInterface)).toEqual([])
  })

  it('pins every other repository’s action or workflow to a full commit SHA', () => {
    expect(unpinned(workflow)).toEqual([])
  })

  it('splices no ${{ inputs.* }} or ${{ github.event.* }} into a run: script', () => {
    expect(splicedIntoRun(workflow)).toEqual([])
  })
})

describe('calls of the reusable refresh workflow', () => {
  const reusable = workflowCallInterface('.github/workflows/refresh-base-image.yml')

  it.each(workflowFiles)('%s passes it only inputs it declares, and the required ones', file => {
    const calls = jobsOf(read(file)).filter(
      ([, job]) =>
        typeof job.uses === 'string' &&
        job.uses.includes('/.github/workflows/refresh-base-image.yml')
    )
    const problems = calls.flatMap(([, job]) => inputProblems(asObject(job.with), reusable))
    expect(problems).toEqual([])
  })

  it('is called by the example caller on a schedule', () => {
    const caller = asObject(read('examples/refresh-caller.yml'))
    expect(asObject(caller.on).schedule).toEqual([{ cron: expect.any(String) }])
    expect(
      jobsOf(caller).some(
        ([, job]) => typeof job.uses === 'string' && job.uses.includes('refresh-base-image.yml')
      )
    ).toBe(true)
  })

  it('asks for no more than id-token: write and contents: read', () => {
    const workflow = asObject(read('.github/workflows/refresh-base-image.yml'))
    expect(workflow.permissions).toEqual({ 'id-token': 'write', contents: 'read' })
    for (const [, job] of jobsOf(workflow)) expect(job.permissions).toBeUndefined()
  })
})

describe('the reusable refresh workflow groups functions by the image they run', () => {
  const workflow = asObject(read('.github/workflows/refresh-base-image.yml'))
  const jobs = asObject(workflow.jobs)
  const groupsJob = asObject(jobs.groups)
  const refreshJob = asObject(jobs.refresh)
  const stepsIn = (job: Json) => (job.steps as unknown[]).map(step => asObject(step) as Step)
  const groupStep = stepsIn(groupsJob).find(step => step.id === 'group')!
  const deployStep = stepsIn(refreshJob).find(step => isThisAction(step.uses))!
  const callInputs = workflowCallInterface('.github/workflows/refresh-base-image.yml').inputs

  it('has a groups job whose output feeds the refresh job’s matrix, one entry per group', () => {
    expect(Object.keys(jobs)).toEqual(['groups', 'refresh', 'report'])
    expect(refreshJob.needs).toBe('groups')
    expect(groupsJob.outputs).toEqual({ fleet: '${{ steps.group.outputs.fleet }}' })
    expect(asObject(asObject(refreshJob.strategy).matrix)).toEqual({
      group: '${{ fromJSON(needs.groups.outputs.fleet).groups }}'
    })
    expect(asObject(refreshJob.strategy)['fail-fast']).toBe(false)
  })

  it('groups with the action’s group-functions command, from function-names and aws-region', () => {
    expect(groupStep.run).toContain(
      'node lambda-image-deploy/dist/cli/index.js group-functions "$FUNCTION_NAMES" --region "$FUNCTIONS_REGION"'
    )
    expect(groupStep.run).toContain('echo "fleet=$fleet" >> "$GITHUB_OUTPUT"')
    // The path is the package's bin, the bundle CI keeps equal to src/cli.ts.
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      bin: Record<string, string>
    }
    expect(pkg.bin['lambda-image-deploy']).toBe('dist/cli/index.js')
    expect(asObject((groupStep as Json).env)).toEqual({
      FUNCTION_NAMES: '${{ inputs.function-names }}',
      FUNCTIONS_REGION: '${{ inputs.aws-region }}'
    })
  })

  it('reads only keys the group-functions command prints', () => {
    const printed = groupsJson([{ image: 'r@sha256:0', architecture: 'arm64', functions: ['f'] }])
    expect(Object.keys(printed)).toEqual(['groups'])
    const keys = new Set(Object.keys(asObject((printed.groups as unknown[])[0])))
    const read = [...JSON.stringify(refreshJob).matchAll(/matrix\.([a-z]+)\.([a-zA-Z]+)/g)]
    expect(read.length).toBeGreaterThan(0)
    for (const [, matrixKey, key] of read) {
      expect(matrixKey).toBe('group')
      expect(keys).toContain(key)
    }
  })

  it('deploys each group in one step: function-name is all of the group’s functions', () => {
    expect(deployStep.with?.['function-name']).toBe("${{ join(matrix.group.functions, ',') }}")
    expect(asObject(refreshJob.concurrency).group).toContain('${{ matrix.group.image }}')
  })

  it('keeps ref, rebuild, architecture and the build inputs for every group', () => {
    const checkout = stepsIn(refreshJob).find(step => asObject(step.with).path === 'app')!
    expect(asObject(checkout.with).ref).toBe('${{ inputs.ref }}')
    expect(deployStep.with).toEqual(
      expect.objectContaining({
        rebuild: '${{ inputs.rebuild }}',
        architecture: '${{ inputs.architecture }}',
        repository: '${{ inputs.repository }}',
        'build-args': '${{ inputs.build-args }}',
        'aws-region': '${{ inputs.aws-region }}'
      })
    )
    expect(callInputs.ref).toBeDefined()
    expect(callInputs.rebuild).toBeDefined()
    expect(callInputs.architecture).toBeDefined()
  })

  it.each(['groups', 'refresh'])(
    'checks the action out at this workflow’s own commit, named by the job context, in the %s job',
    id => {
      const steps = stepsIn(asObject(jobs[id]))
      const action = steps.find(step => asObject(step.with).path === 'lambda-image-deploy')!
      expect(asObject(action.with)).toEqual(
        expect.objectContaining({
          repository: '${{ job.workflow_repository }}',
          ref: '${{ job.workflow_sha }}',
          'persist-credentials': false
        })
      )
      // No second OIDC token is requested to find it.
      expect(JSON.stringify(steps)).not.toContain('ACTIONS_ID_TOKEN_REQUEST')
      // Credentials come before the step that calls AWS.
      const credentials = steps.findIndex(step =>
        step.uses?.startsWith('aws-actions/configure-aws-credentials@')
      )
      const callsAws = steps.findIndex(step => step.id === (id === 'groups' ? 'group' : 'deploy'))
      expect(credentials).toBeGreaterThanOrEqual(0)
      expect(credentials).toBeLessThan(callsAws)
    }
  )
})

describe('the checks themselves', () => {
  it('flag an unknown input and a missing required one', () => {
    expect(
      inputProblems(
        { 'function-nme': 'f' },
        { inputs: { 'function-name': { required: true } }, outputs: new Set() }
      )
    ).toEqual(['unknown input "function-nme"', 'required input "function-name" not given'])
  })

  it('flag an output the action does not declare', () => {
    const workflow = {
      jobs: {
        j: {
          steps: [
            { id: 'd', uses: './' },
            { run: 'echo "$X"', env: { X: '${{ steps.d.outputs.imag-uri }}' } }
          ]
        }
      }
    }
    expect(outputProblems(workflow, { inputs: {}, outputs: new Set(['image-uri']) })).toEqual([
      'unknown output "imag-uri"'
    ])
  })

  it('flag a tag-pinned action and a tag-pinned reusable workflow, not local ones', () => {
    const workflow = {
      jobs: {
        a: {
          steps: [{ uses: 'actions/checkout@v4' }, { uses: './' }, { uses: 'docker://alpine' }]
        },
        b: { uses: 'o/r/.github/workflows/w.yml@main' },
        c: { uses: './.github/workflows/w.yml' }
      }
    }
    expect(unpinned(workflow)).toEqual(['actions/checkout@v4', 'o/r/.github/workflows/w.yml@main'])
  })

  it('flag inputs and event fields spliced into run:', () => {
    const workflow = {
      jobs: {
        j: {
          steps: [
            { run: 'echo ${{ inputs.name }}' },
            { run: 'echo "${{github.event.issue.title}}"' },
            { run: 'echo "$NAME"' }
          ]
        }
      }
    }
    expect(splicedIntoRun(workflow)).toHaveLength(2)
  })

  it('reject a workflow the schema forbids', () => {
    expect(validateWorkflow({ on: 'push', jobs: { j: { 'runs-on': 'x', stepz: [] } } })).toBe(false)
  })
})
