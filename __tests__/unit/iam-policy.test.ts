import { describe, expect, it } from '@jest/globals'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Every AWS API call the action's source makes must be allowed by the IAM policy the README
 * documents, so that a user who copies that policy never meets AccessDenied. The calls are found
 * in the source itself: `new XxxCommand(` with Xxx imported from an @aws-sdk/client-* package,
 * the SDK waiters, and `docker push` (which calls ECR's layer and image APIs).
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

/** IAM's service prefix for each SDK client package. */
const SERVICE_PREFIX: Record<string, string> = {
  ecr: 'ecr',
  lambda: 'lambda',
  sts: 'sts'
}

/** The operation each waiter polls (the SDK's waiters/*.js). */
const WAITER_OPERATION: Record<string, string> = {
  waitUntilFunctionUpdatedV2: 'lambda:GetFunction',
  waitUntilFunctionActiveV2: 'lambda:GetFunction',
  waitUntilFunctionExists: 'lambda:GetFunction',
  waitUntilFunctionUpdated: 'lambda:GetFunctionConfiguration',
  waitUntilFunctionActive: 'lambda:GetFunctionConfiguration',
  waitUntilPublishedVersionActive: 'lambda:GetFunctionConfiguration',
  waitUntilImageScanComplete: 'ecr:DescribeImageScanFindings',
  waitUntilLifecyclePolicyPreviewComplete: 'ecr:GetLifecyclePolicyPreview'
}

/** What `docker push` to ECR needs (ECR User Guide, "Pushing a Docker image", IAM permissions). */
const DOCKER_PUSH_ACTIONS = [
  'ecr:BatchCheckLayerAvailability',
  'ecr:InitiateLayerUpload',
  'ecr:UploadLayerPart',
  'ecr:CompleteLayerUpload',
  'ecr:PutImage'
]

/** Operations whose IAM action has another name (Service Authorization Reference, Lambda). */
const IAM_ACTION_OF: Record<string, string> = { 'lambda:Invoke': 'lambda:InvokeFunction' }

/** Calls IAM does not authorize: "No permissions are required to perform this operation." */
const NEEDS_NO_PERMISSION = new Set(['sts:GetCallerIdentity'])

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap(entry => {
    const full = path.join(dir, entry)
    if (statSync(full).isDirectory()) return sourceFiles(full)
    return full.endsWith('.ts') ? [full] : []
  })
}

/** IAM actions one source file needs, each with the reason it was found. */
function iamActionsIn(source: string): Map<string, string> {
  const found = new Map<string, string>()
  const imported = new Map<string, string>()
  for (const match of source.matchAll(
    /import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/client-([a-z0-9-]+)'/g
  )) {
    const prefix = SERVICE_PREFIX[match[2]!] ?? match[2]!
    for (const name of match[1]!.split(',')) {
      const local = name
        .replace(/^\s*type\s+/, '')
        .split(/\s+as\s+/)
        .pop()!
        .trim()
      if (local) imported.set(local, prefix)
    }
  }
  for (const match of source.matchAll(/new\s+([A-Z][A-Za-z0-9]*)Command\s*\(/g)) {
    const prefix = imported.get(`${match[1]!}Command`)
    if (!prefix) continue
    const operation = `${prefix}:${match[1]!}`
    found.set(IAM_ACTION_OF[operation] ?? operation, `new ${match[1]!}Command`)
  }
  for (const match of source.matchAll(/\b(waitUntil[A-Za-z0-9]+)\s*\(/g)) {
    if (!imported.has(match[1]!)) continue
    const operation = WAITER_OPERATION[match[1]!]
    found.set(operation ?? `unknown waiter ${match[1]!}`, match[1]!)
  }
  if (/\[\s*'push'\s*,/.test(source)) {
    for (const action of DOCKER_PUSH_ACTIONS) found.set(action, 'docker push')
  }
  return found
}

interface PolicyStatement {
  Effect?: string
  Action?: string | string[]
}

/** The Allow actions of every JSON policy block in the README. */
function documentedActions(readme: string): string[] {
  const actions: string[] = []
  for (const block of readme.matchAll(/```json\n([\s\S]*?)```/g)) {
    let policy: { Statement?: PolicyStatement | PolicyStatement[] }
    try {
      policy = JSON.parse(block[1]!) as typeof policy
    } catch {
      continue
    }
    const statements = policy.Statement === undefined ? [] : [policy.Statement].flat()
    for (const statement of statements) {
      if (statement.Effect !== 'Allow') continue
      actions.push(...[statement.Action ?? []].flat())
    }
  }
  return actions
}

/** IAM action matching: case-insensitive, `*` and `?` wildcards. */
function allows(pattern: string, action: string): boolean {
  const source = pattern
    .split('')
    .map(ch => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('')
  return new RegExp(`^${source}$`, 'i').test(action)
}

describe('the IAM policy in the README', () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8')
  const documented = documentedActions(readme)
  const needed = new Map<string, string>()
  for (const file of sourceFiles(path.join(root, 'src'))) {
    for (const [action, why] of iamActionsIn(readFileSync(file, 'utf8'))) {
      needed.set(action, `${why} in ${path.relative(root, file)}`)
    }
  }

  it('is found in the README', () => {
    expect(documented.length).toBeGreaterThan(0)
  })

  it('finds the calls every deploy makes in the source', () => {
    for (const action of [
      'lambda:GetFunction',
      'lambda:UpdateFunctionCode',
      'ecr:GetAuthorizationToken',
      'ecr:BatchGetImage',
      'ecr:PutImage'
    ]) {
      expect([...needed.keys()]).toContain(action)
    }
  })

  it('allows every AWS call the source makes', () => {
    const missing = [...needed]
      .filter(([action]) => !NEEDS_NO_PERMISSION.has(action))
      .filter(([action]) => !documented.some(pattern => allows(pattern, action)))
      .map(([action, why]) => `${action} (${why})`)
    expect(missing).toEqual([])
  })
})

describe('finding the calls in source text', () => {
  it('maps commands to their service by the package they are imported from', () => {
    const source = [
      "import { GetFunctionCommand, waitUntilFunctionUpdated } from '@aws-sdk/client-lambda'",
      "import { PutImageCommand as Put } from '@aws-sdk/client-ecr'",
      'await client.send(new GetFunctionCommand({}))',
      'await waitUntilFunctionUpdated({ client }, {})',
      "new OtherCommand('x')"
    ].join('\n')
    expect([...iamActionsIn(source).keys()].sort()).toEqual([
      'lambda:GetFunction',
      'lambda:GetFunctionConfiguration'
    ])
  })

  it('names a waiter it does not know instead of passing it', () => {
    const source = [
      "import { waitUntilSomethingNew } from '@aws-sdk/client-lambda'",
      'await waitUntilSomethingNew({ client }, {})'
    ].join('\n')
    expect([...iamActionsIn(source).keys()]).toEqual(['unknown waiter waitUntilSomethingNew'])
  })

  it('counts docker push as ECR’s push actions', () => {
    expect([...iamActionsIn("await this.run(['push', reference])").keys()]).toEqual(
      DOCKER_PUSH_ACTIONS
    )
  })
})
