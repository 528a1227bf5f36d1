import { expect } from '@jest/globals'
import { CreateAliasCommand, PublishVersionCommand } from '@aws-sdk/client-lambda'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { repoRoot, type ActionRun } from '../../stack/run-action.js'
import type { StandInControl } from '../../stack/stand-in/control-client.js'
import { GATE_HEADER } from '../../stack/registry-gate.js'
import topology from '../../stack/topology.json' with { type: 'json' }
import {
  DEFAULT_REGION,
  TOOLING_ACCOUNT,
  WORKLOAD_ACCOUNT,
  registryHost,
  type Sandbox
} from './harness.js'

/**
 * The README's IAM policies as the two readme-policy suites test it: the JSON policies of the
 * README's "Permissions" section (the policy for a default deploy, the statements per feature and
 * the workload account's role), read from README.md at test time, and the features that need
 * their statements. A feature that deploys an image already in ECR is shown in
 * aws/readme-policy.test.ts (once); one whose permissions exist only because the action builds
 * and pushes is shown in engine/readme-policy.test.ts (on every image store). One table, so that
 * which feature shows each documented action is decided once for both suites.
 */

export const ROLE = 'lambda-deployer'
export const DEPLOYER = `arn:aws:iam::${TOOLING_ACCOUNT}:user/stand-in`
export const WORKLOAD_ROLE = `arn:aws:iam::${WORKLOAD_ACCOUNT}:role/${ROLE}`
const REGION = DEFAULT_REGION

export interface Statement {
  Sid: string
  Effect: string
  Action: string | string[]
  Resource: string | string[]
}
export interface Policy {
  Version: string
  Statement: Statement[]
}

/** The README's headings of the policies, under "## Permissions". */
export const DEFAULT_POLICY_HEADING = '### The policy for a default deploy'
const PER_FEATURE_HEADING = '### Statements per feature'
const WORKLOAD_HEADING = '#### The role in each workload account'

/** The JSON blocks of the README's "Permissions" section, each with the heading it is under and
 * that heading's `###` section. */
export function permissionBlocks(): { section: string; heading: string; json: string }[] {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8')
  const start = readme.indexOf('\n## Permissions\n')
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1))
  if (start < 0) throw new Error('README.md has no "## Permissions" section')
  const blocks: { section: string; heading: string; json: string }[] = []
  let heading = ''
  let within = ''
  for (const part of section.split(/^(#{3,4} .*)$/m)) {
    if (/^#{3,4} /.test(part)) {
      heading = part
      if (part.startsWith('### ')) within = part
    } else
      for (const match of part.matchAll(/```json\n([\s\S]*?)```/g))
        blocks.push({ section: within, heading, json: match[1]! })
  }
  return blocks
}

/** The README's policies as the suites attach them: the deploying role's (the default deploy's
 * statements plus every per-feature statement, one policy) and the workload account role's. */
export function readmePolicies(): [string, string] {
  const blocks = permissionBlocks()
  const deployer = blocks.filter(
    block =>
      block.heading === DEFAULT_POLICY_HEADING ||
      (block.section === PER_FEATURE_HEADING && block.heading !== WORKLOAD_HEADING)
  )
  const workload = blocks.filter(block => block.heading === WORKLOAD_HEADING)
  if (deployer[0]?.heading !== DEFAULT_POLICY_HEADING || workload.length !== 1) {
    throw new Error(
      `README.md: "Permissions" must hold a JSON policy under "${DEFAULT_POLICY_HEADING}" and one under "${WORKLOAD_HEADING}"`
    )
  }
  const policies = deployer.map(block => JSON.parse(block.json) as Policy)
  const merged: Policy = {
    Version: policies[0]!.Version,
    Statement: policies.flatMap(policy => policy.Statement)
  }
  return [JSON.stringify(merged, null, 2), workload[0]!.json]
}

export interface Names {
  readonly account: string
  readonly repository: string
  readonly function: string
  readonly repositoryAccount?: string
  /** The role a function the action creates runs as (create-function-role). */
  readonly executionRole?: string
}

/** The execution role the create-function scenarios name (a role of the stand-in's accounts). */
export const EXECUTION_ROLE_NAME = 'lambda-exec'

/** A README policy with its placeholders filled in (longest names first). */
export function fill(text: string, names: Names): Policy {
  return JSON.parse(
    text
      .replace(/\bREPOSITORY_ACCOUNT\b/g, names.repositoryAccount ?? names.account)
      .replace(/\bEXECUTION_ROLE\b/g, names.executionRole ?? EXECUTION_ROLE_NAME)
      .replace(/\bREPOSITORY\b/g, names.repository)
      .replace(/\bFUNCTION\b/g, names.function)
      .replace(/\bACCOUNT\b/g, names.account)
      .replace(/\bREGION\b/g, REGION)
      .replace(/\bROLE\b/g, ROLE)
  ) as Policy
}

export const actionsOf = (statement: Statement) => [statement.Action].flat()

/** One action taken out of one role's README policy. */
export interface Removal {
  readonly role: 'deployer' | 'workload'
  readonly action: string
}

/** Documented actions whose removal no deploy can show, each with why it stays documented. */
export const UNPROVABLE: Record<string, string> = {
  'ecr:BatchCheckLayerAvailability':
    'docker reads a refused layer check (a HEAD without a body) as "layer absent" and uploads the layer anyway (registry-gate.test.ts shows the refusal); the ECR User Guide lists it among the permissions docker push needs'
}

/** The statements named, minus one action (wherever it appears), as a one-policy set. */
export function attachable(policy: Policy, sids: readonly string[], without?: string) {
  const known = policy.Statement.map(statement => statement.Sid)
  const missing = sids.filter(sid => !known.includes(sid))
  if (missing.length > 0) throw new Error(`README policy has no statement ${missing.join(', ')}`)
  const Statement = policy.Statement.filter(statement => sids.includes(statement.Sid))
    .map(statement => ({
      ...statement,
      Action: actionsOf(statement).filter(action => action !== without)
    }))
    .filter(statement => statement.Action.length > 0)
  return { ReadmePolicy: { Version: policy.Version, Statement } }
}

/** A feature and the README statements it needs; each suite runs the features it is named for. */
export interface Feature {
  readonly name: string
  /** aws: deploys an image already in ECR; engine: the action builds (or reads its own build). */
  readonly suite: 'aws' | 'engine'
  /** Statements of the deploying role's README policy this feature needs. */
  readonly deployer: readonly string[]
  /** Statements of the workload role's README policy (cross-account only). */
  readonly workload?: readonly string[]
  /** Actions whose removal this feature is the one to show (when an earlier one does not). */
  readonly proves?: readonly string[]
}

/** What every deploy of an image by URI needs: the login, the image read, Lambda's grant and
 * the update. */
const DEPLOY_IMAGE = ['RegistryLogin', 'ReadImage', 'GrantLambdaPull', 'UpdateFunction'] as const

/** In the order that decides which feature shows an action's removal: the first that needs it. */
export const FEATURES = [
  {
    name: 'deploy-only image',
    suite: 'aws',
    deployer: [...DEPLOY_IMAGE]
  },
  {
    name: 'the checks of the images in ECR (deleted and expiring images)',
    suite: 'aws',
    deployer: [...DEPLOY_IMAGE, 'CheckImagesInEcr']
  },
  {
    name: 'function-config, publish and alias',
    suite: 'aws',
    deployer: [...DEPLOY_IMAGE, 'SettingsVersionsAliases']
  },
  {
    name: 'publish and a new alias',
    suite: 'aws',
    deployer: [...DEPLOY_IMAGE, 'SettingsVersionsAliases'],
    proves: ['lambda:CreateAlias']
  },
  {
    name: 'cross-account',
    suite: 'aws',
    deployer: ['RegistryLogin', 'ReadImage', 'GrantLambdaPull', 'CrossAccountFunctions'],
    workload: ['UpdateFunction', 'PullImageFromAnotherAccount']
  },
  {
    name: 'build and push, repository by name',
    suite: 'engine',
    deployer: [
      'RegistryLogin',
      'PushImage',
      'DescribeRepository',
      'GrantLambdaPull',
      'UpdateFunction'
    ]
  },
  {
    name: 'verify-event (a real invocation after the deploy)',
    suite: 'aws',
    deployer: [...DEPLOY_IMAGE, 'VerifyInvoke']
  },
  {
    name: 'rebuild: if-base-changed',
    suite: 'engine',
    deployer: ['RegistryLogin', 'ReadImage', 'UpdateFunction']
  },
  {
    name: 'rebuild: if-inputs-changed, with an image of the same inputs in the repository',
    suite: 'engine',
    deployer: ['RegistryLogin', 'PushImage', 'ReadImage', 'GrantLambdaPull', 'UpdateFunction']
  },
  {
    name: 'dry-run',
    suite: 'engine',
    deployer: ['GrantLambdaPull', 'UpdateFunction']
  },
  {
    name: 'rollout with alarms',
    suite: 'aws',
    deployer: [...DEPLOY_IMAGE, 'SettingsVersionsAliases', 'WatchRolloutAlarms']
  },
  {
    name: 'create-function-role (a missing function created from the image)',
    suite: 'aws',
    deployer: [...DEPLOY_IMAGE, 'CreateMissingFunction', 'PassExecutionRole']
  },
  {
    name: 'create-repository (a missing repository created for the build)',
    suite: 'engine',
    deployer: [
      'RegistryLogin',
      'PushImage',
      'DescribeRepository',
      'GrantLambdaPull',
      'UpdateFunction',
      'CreateMissingRepository'
    ]
  },
  {
    // The quick start: function-name alone, the repository the function runs from. Last, so
    // that it shows no removal another feature shows: its own test is that the README's default
    // policy, unchanged, is enough for it, with every check done (no notice of a skipped one).
    name: 'the default deploy (function-name alone) with the policy for a default deploy',
    suite: 'engine',
    deployer: [
      'RegistryLogin',
      'PushImage',
      'ReadImage',
      'DescribeRepository',
      'GrantLambdaPull',
      'UpdateFunction',
      'CheckImagesInEcr'
    ]
  }
] as const satisfies readonly Feature[]

/** The names of the features one suite runs: that suite must have a run for each. */
export type FeatureName<Suite extends Feature['suite']> = Extract<
  (typeof FEATURES)[number],
  { suite: Suite }
>['name']

export function featuresOf(suite: Feature['suite']): readonly Feature[] {
  return FEATURES.filter(feature => feature.suite === suite)
}

export interface DocumentedAction extends Removal {
  readonly sid: string
}

/** Every action of both README policies, with the statement that documents it. */
export function documentedActions(): DocumentedAction[] {
  const [deployerText, workloadText] = readmePolicies()
  const names: Names = { account: TOOLING_ACCOUNT, repository: 'r', function: 'f' }
  return [
    ...fill(deployerText, names).Statement.map(statement => ({
      statement,
      role: 'deployer' as const
    })),
    ...fill(workloadText, names).Statement.map(statement => ({
      statement,
      role: 'workload' as const
    }))
  ].flatMap(({ statement, role }) =>
    actionsOf(statement).map(action => ({ action, sid: statement.Sid, role }))
  )
}

/** Each action once per policy it is documented in (the two roles are tested apart). */
export function uniqueRemovals(): Removal[] {
  return [
    ...new Map(
      documentedActions().map(entry => [
        `${entry.role} ${entry.action}`,
        { role: entry.role, action: entry.action }
      ])
    ).values()
  ]
}

/** The feature that shows a removal: the one that proves it, else the first whose policy for
 * that role holds the action. */
export function featureFor(removal: Removal): Feature | undefined {
  const documented = documentedActions()
  return (
    (removal.role === 'deployer'
      ? FEATURES.find(feature => ((feature as Feature).proves ?? []).includes(removal.action))
      : undefined) ??
    FEATURES.find(feature =>
      documented.some(
        entry =>
          entry.action === removal.action &&
          entry.role === removal.role &&
          (entry.role === 'deployer'
            ? (feature as Feature).deployer
            : ((feature as Feature).workload ?? [])
          ).includes(entry.sid)
      )
    )
  )
}

/** The removals one suite shows: those whose feature it runs, except the unprovable. */
export function removalsOf(suite: Feature['suite']): Removal[] {
  return uniqueRemovals().filter(
    removal => !(removal.action in UNPROVABLE) && featureFor(removal)?.suite === suite
  )
}

/** Attaches the named README statements for a feature's resources, minus one action if given,
 * to the deploying principal and the workload account's role. */
export async function attach(
  control: StandInControl,
  feature: Pick<Feature, 'deployer' | 'workload'>,
  names: Names,
  without?: Removal
): Promise<void> {
  const [deployer, workload] = readmePolicies()
  await control.setIdentityPolicies(
    DEPLOYER,
    attachable(
      fill(deployer, names),
      feature.deployer,
      without?.role === 'deployer' ? without.action : undefined
    )
  )
  await control.setIdentityPolicies(
    WORKLOAD_ROLE,
    attachable(
      fill(workload, {
        ...names,
        account: WORKLOAD_ACCOUNT,
        repositoryAccount: names.repositoryAccount ?? TOOLING_ACCOUNT
      }),
      feature.workload ?? [],
      without?.role === 'workload' ? without.action : undefined
    )
  )
}

/** Lambda's pull grant for an account's functions, as a repository policy statement. */
export const lambdaPull = (account: string) => ({
  Sid: 'LambdaECRImageRetrievalPolicy',
  Effect: 'Allow',
  Principal: { Service: 'lambda.amazonaws.com' },
  Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
  Condition: { StringLike: { 'aws:sourceArn': `arn:aws:lambda:${REGION}:${account}:function:*` } }
})

/** The policy of the repository the shared image is in: Lambda may pull it in both accounts. */
export const SHARED_IMAGE_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    lambdaPull(TOOLING_ACCOUNT),
    {
      Sid: 'LambdaECRImageCrossAccountRetrievalPolicy',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${WORKLOAD_ACCOUNT}:root` },
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
    },
    lambdaPull(WORKLOAD_ACCOUNT)
  ]
})

// ---------------------------------------------------------------------------------------------
// How both suites run their features: one scenario per feature, run on fresh resources.

export interface Scenario {
  /** Creates the scenario's resources; the names its policy is filled in for, and the inputs. */
  readonly prepare: () => Promise<{ names: Names; inputs: Record<string, string> }>
  /** What success looks like beyond exit code 0. */
  readonly succeeded?: (run: ActionRun) => void
}

/** Runs a feature once on fresh resources, with its README statements (minus one) attached. */
export async function runFeature(
  sandbox: Sandbox,
  scenarios: Readonly<Record<string, Scenario>>,
  name: string,
  without?: Removal
): Promise<ActionRun> {
  const feature = FEATURES.find(candidate => candidate.name === name)!
  const { names, inputs } = await scenarios[name]!.prepare()
  await attach(sandbox.control, feature, names, without)
  return sandbox.run(inputs)
}

/** The feature deployed with its README statements: exit code 0 and the scenario's success. */
export function expectFeatureSucceeded(run: ActionRun, scenario: Scenario): void {
  if (run.exitCode !== 0) console.log(run.stdout)
  expect(run.exitCode).toBe(0)
  scenario.succeeded?.(run)
}

/** The feature, run without one documented action, did not succeed (exit code or its check). */
export function expectFeatureFailed(run: ActionRun, scenario: Scenario, removal: Removal): void {
  let succeeded = run.exitCode === 0
  if (succeeded && scenario.succeeded) {
    try {
      scenario.succeeded(run)
    } catch {
      succeeded = false
    }
  }
  if (succeeded) {
    const name = featureFor(removal)?.name
    console.log(
      `${removal.action} removed (${removal.role}), "${name}" still succeeded:\n${run.stdout}`
    )
  }
  expect(succeeded).toBe(false)
}

/** The registry gate's header on an account's registry ('1' where stack/setup.sh put the gate). */
export async function registryGateHeader(account = TOOLING_ACCOUNT): Promise<string | null> {
  const answer = await fetch(`https://${registryHost(account)}/v2/`)
  return answer.headers.get(GATE_HEADER)
}

/** An Image function with no image yet, in an account of the sandbox. */
export async function seedImageFunction(
  sandbox: Sandbox,
  account: string,
  name: string
): Promise<void> {
  await sandbox.control.createFunction({ account, region: REGION, name, packageType: 'Image' })
}

/** Version 1 published and the alias live on it (with the default, administrator, policy). */
export async function withLiveAliasOnVersion1(sandbox: Sandbox, fn: string): Promise<void> {
  await sandbox.control.setIdentityPolicies(DEPLOYER, topology.iam.defaultPolicies)
  const lambda = sandbox.clients(TOOLING_ACCOUNT).lambda
  await lambda.send(new PublishVersionCommand({ FunctionName: fn }))
  await lambda.send(
    new CreateAliasCommand({ FunctionName: fn, Name: 'live', FunctionVersion: '1' })
  )
}
