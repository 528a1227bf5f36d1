import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { PutLifecyclePolicyCommand } from '@aws-sdk/client-ecr'
import { CreateAliasCommand, PublishVersionCommand } from '@aws-sdk/client-lambda'
import { repoRoot, runAction, type ActionRun } from '../../stack/run-action.js'
import { clientsFor } from '../../stack/stand-in/sdk-clients.js'
import topology from '../../stack/topology.json' with { type: 'json' }
import { GATE_HEADER } from '../../stack/registry-gate.js'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'
import { expectNoCredentialLeft } from './support.js'

/**
 * The README's IAM policy is the tested policy. The two JSON policies of the README's "Minimal
 * IAM policy" section are read from README.md at test time, their placeholders filled in, and
 * the statements each feature needs are attached to the deploying principal (the IAM user of
 * the tooling account) and to the workload account's role, replacing the stand-in's default
 * administrator policy. Each feature must then deploy; and for every action the README
 * documents, one scenario that needs it is run with that one action removed and must fail.
 *
 * Registry requests are authorized by the registry gate stack/setup.sh puts in front of each ECR
 * registry, so the registry actions (GetDownloadUrlForLayer, the upload actions) are part of it.
 */

const TOOLING = '111111111111'
const WORKLOAD = '222222222222'
const REGION = 'us-east-1'
const ROLE = 'lambda-deployer'
const DEPLOYER = `arn:aws:iam::${TOOLING}:user/stand-in`
const WORKLOAD_ROLE = `arn:aws:iam::${WORKLOAD}:role/${ROLE}`
const fixture = path.join(repoRoot, '__tests__', 'fixtures', 'provided-multistage')
const host = (account: string) => `${account}.dkr.ecr.${REGION}.amazonaws.com`

interface Statement {
  Sid: string
  Effect: string
  Action: string | string[]
  Resource: string | string[]
}
interface Policy {
  Version: string
  Statement: Statement[]
}

/** The JSON policies of the README's IAM section, in order: deploying role, workload role. */
function readmePolicies(): [string, string] {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8')
  const start = readme.indexOf('### Minimal IAM policy')
  const section = readme.slice(start, readme.indexOf('\n## ', start))
  const blocks = [...section.matchAll(/```json\n([\s\S]*?)```/g)].map(match => match[1]!)
  if (start < 0 || blocks.length !== 2) {
    throw new Error('README.md: the "Minimal IAM policy" section must hold two JSON policies')
  }
  return [blocks[0]!, blocks[1]!]
}

interface Names {
  readonly account: string
  readonly repository: string
  readonly function: string
  readonly repositoryAccount?: string
}

/** A README policy with its placeholders filled in (longest names first). */
function fill(text: string, names: Names): Policy {
  return JSON.parse(
    text
      .replace(/\bREPOSITORY_ACCOUNT\b/g, names.repositoryAccount ?? names.account)
      .replace(/\bREPOSITORY\b/g, names.repository)
      .replace(/\bFUNCTION\b/g, names.function)
      .replace(/\bACCOUNT\b/g, names.account)
      .replace(/\bREGION\b/g, REGION)
      .replace(/\bROLE\b/g, ROLE)
  ) as Policy
}

const actionsOf = (statement: Statement) => [statement.Action].flat()

/** One action taken out of one role's README policy. */
interface Removal {
  readonly role: 'deployer' | 'workload'
  readonly action: string
}

/** Documented actions whose removal no deploy can show, each with why it stays documented. */
const UNPROVABLE: Record<string, string> = {
  'ecr:BatchCheckLayerAvailability':
    'docker reads a refused layer check (a HEAD without a body) as "layer absent" and uploads the layer anyway (registry-gate.test.ts shows the refusal); the ECR User Guide lists it among the permissions docker push needs'
}

/** The statements named, minus one action (wherever it appears), as a one-policy set. */
function attachable(policy: Policy, sids: readonly string[], without?: string) {
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

let standIn: StandIn
let control: StandInControl
let unique = 0
/** The image every deploy-only scenario deploys, pushed once with the default policy. */
let pushedImage = ''
let pushedRepository = ''

interface Scenario {
  readonly name: string
  /** Statements of the deploying role's README policy this feature needs. */
  readonly deployer: readonly string[]
  /** Statements of the workload role's README policy (cross-account only). */
  readonly workload?: readonly string[]
  /** Runs the feature once on fresh resources, with the given policies already attached. */
  readonly run: () => Promise<ActionRun>
  /** What success looks like beyond exit code 0. */
  readonly succeeded?: (run: ActionRun) => void
  /** Actions whose removal this scenario is the one to show (when an earlier one does not). */
  readonly proves?: readonly string[]
}

function nextName(prefix: string): string {
  unique += 1
  return `readme-${prefix}-${process.pid}-${unique}`
}

const lambdaPull = (account: string) => ({
  Sid: 'LambdaECRImageRetrievalPolicy',
  Effect: 'Allow',
  Principal: { Service: 'lambda.amazonaws.com' },
  Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
  Condition: { StringLike: { 'aws:sourceArn': `arn:aws:lambda:${REGION}:${account}:function:*` } }
})

/** The shared image's repository without a policy: the action has to write Lambda's grant. */
async function withoutRepositoryPolicy(): Promise<void> {
  await control.createRepository({ account: TOOLING, region: REGION, name: pushedRepository })
}

async function seedFunction(account: string, name: string): Promise<void> {
  await control.createFunction({ account, region: REGION, name, packageType: 'Image' })
}

/** Attaches the named README statements for this scenario's resources. */
async function attach(
  scenario: Pick<Scenario, 'deployer' | 'workload'>,
  names: Names,
  without?: Removal
): Promise<void> {
  const [deployer, workload] = readmePolicies()
  await control.setIdentityPolicies(
    DEPLOYER,
    attachable(
      fill(deployer, names),
      scenario.deployer,
      without?.role === 'deployer' ? without.action : undefined
    )
  )
  await control.setIdentityPolicies(
    WORKLOAD_ROLE,
    attachable(
      fill(workload, {
        ...names,
        account: WORKLOAD,
        repositoryAccount: names.repositoryAccount ?? TOOLING
      }),
      scenario.workload ?? [],
      without?.role === 'workload' ? without.action : undefined
    )
  )
}

function act(inputs: Record<string, string>): Promise<ActionRun> {
  return runAction(inputs, { standInUrl: standIn.url, account: TOOLING, region: REGION })
}

/** Each scenario creates its resources, attaches the policy for them, and runs the action. */
function scenarios(without?: Removal): Scenario[] {
  const withPolicy =
    (
      scenario: Omit<Scenario, 'run'>,
      prepare: () => Promise<{ names: Names; inputs: Record<string, string> }>
    ) =>
    async (): Promise<ActionRun> => {
      const { names, inputs } = await prepare()
      await attach(scenario, names, without)
      return act(inputs)
    }
  const list: Omit<Scenario, 'run'>[] = []
  const build: Record<string, () => Promise<ActionRun>> = {}
  const add = (
    scenario: Omit<Scenario, 'run'>,
    prepare: () => Promise<{ names: Names; inputs: Record<string, string> }>
  ) => {
    list.push(scenario)
    build[scenario.name] = withPolicy(scenario, prepare)
  }

  add(
    {
      name: 'deploy-only image',
      deployer: ['RegistryLogin', 'ReadImage', 'GrantLambdaPull', 'UpdateFunction']
    },
    async () => {
      const fn = nextName('image')
      await seedFunction(TOOLING, fn)
      await withoutRepositoryPolicy()
      return {
        names: { account: TOOLING, repository: pushedRepository, function: fn },
        inputs: { 'function-name': fn, image: pushedImage }
      }
    }
  )
  add(
    {
      name: 'the checks of the images in ECR (deleted and expiring images)',
      deployer: [
        'RegistryLogin',
        'ReadImage',
        'GrantLambdaPull',
        'UpdateFunction',
        'CheckImagesInEcr'
      ],
      // Without one of its actions the deploy still succeeds (the checks only warn), with a
      // notice that the images were not fully checked: that is the failure this scenario shows.
      succeeded: run => {
        expect(run.stdout).not.toContain('were not fully checked')
        expect(run.summary).toContain("ECR's lifecycle preview expires none of the images in use")
      }
    },
    async () => {
      const fn = nextName('retention')
      // The function runs an image of the repository, so its versions are listed too.
      await control.createFunction({
        account: TOOLING,
        region: REGION,
        name: fn,
        packageType: 'Image',
        imageUri: pushedImage
      })
      await control.setIdentityPolicies(DEPLOYER, topology.iam.defaultPolicies)
      await clientsFor(standIn.url, TOOLING).ecr.send(
        new PutLifecyclePolicyCommand({
          repositoryName: pushedRepository,
          lifecyclePolicyText: JSON.stringify({
            rules: [
              {
                rulePriority: 1,
                description: 'expire untagged images after 30 days',
                selection: {
                  tagStatus: 'untagged',
                  countType: 'sinceImagePushed',
                  countUnit: 'days',
                  countNumber: 30
                },
                action: { type: 'expire' }
              }
            ]
          })
        })
      )
      return {
        names: { account: TOOLING, repository: pushedRepository, function: fn },
        inputs: { 'function-name': fn, image: pushedImage }
      }
    }
  )
  add(
    {
      name: 'function-config, publish and alias',
      deployer: [
        'RegistryLogin',
        'ReadImage',
        'GrantLambdaPull',
        'UpdateFunction',
        'SettingsVersionsAliases'
      ],
      succeeded: run => {
        expect(run.outputs.version).toBe('2')
      }
    },
    async () => {
      const fn = nextName('release')
      await seedFunction(TOOLING, fn)
      // The alias exists already (on version 1), so the deploy moves it: lambda:UpdateAlias.
      await control.setIdentityPolicies(DEPLOYER, topology.iam.defaultPolicies)
      const lambda = clientsFor(standIn.url, TOOLING).lambda
      await lambda.send(new PublishVersionCommand({ FunctionName: fn }))
      await lambda.send(
        new CreateAliasCommand({ FunctionName: fn, Name: 'live', FunctionVersion: '1' })
      )
      return {
        names: { account: TOOLING, repository: pushedRepository, function: fn },
        inputs: {
          'function-name': fn,
          image: pushedImage,
          'function-config': `${fn}:\n  environment:\n    STAGE: readme\n`,
          publish: 'true',
          alias: 'live'
        }
      }
    }
  )
  add(
    {
      name: 'publish and a new alias',
      deployer: [
        'RegistryLogin',
        'ReadImage',
        'GrantLambdaPull',
        'UpdateFunction',
        'SettingsVersionsAliases'
      ],
      proves: ['lambda:CreateAlias'],
      succeeded: run => {
        expect(run.outputs.version).toBe('1')
      }
    },
    async () => {
      const fn = nextName('alias')
      await seedFunction(TOOLING, fn)
      return {
        names: { account: TOOLING, repository: pushedRepository, function: fn },
        inputs: { 'function-name': fn, image: pushedImage, publish: 'true', alias: 'live' }
      }
    }
  )
  add(
    {
      name: 'cross-account',
      deployer: ['RegistryLogin', 'ReadImage', 'GrantLambdaPull', 'CrossAccountFunctions'],
      workload: ['UpdateFunction', 'PullImageFromAnotherAccount']
    },
    async () => {
      const fn = nextName('cross')
      await seedFunction(WORKLOAD, fn)
      await withoutRepositoryPolicy()
      return {
        names: {
          account: TOOLING,
          repository: pushedRepository,
          function: fn,
          repositoryAccount: TOOLING
        },
        inputs: {
          'function-name': `arn:aws:lambda:${REGION}:${WORKLOAD}:function:${fn}`,
          image: pushedImage,
          'cross-account-role': ROLE
        }
      }
    }
  )
  add(
    {
      name: 'build and push, repository by name',
      deployer: [
        'RegistryLogin',
        'PushImage',
        'FindRepositoryByName',
        'GrantLambdaPull',
        'UpdateFunction'
      ],
      succeeded: run => {
        expect(run.outputs.deployed).toBe('true')
        expectNoCredentialLeft(run)
      }
    },
    async () => {
      const name = nextName('push')
      await control.createRepository({ account: TOOLING, region: REGION, name })
      await seedFunction(TOOLING, name)
      return {
        names: { account: TOOLING, repository: name, function: name },
        inputs: {
          'function-name': name,
          repository: name,
          context: fixture,
          target: 'runtime',
          // A new layer for every run, so docker has to upload it.
          'build-args': `VERSION=${name}`
        }
      }
    }
  )
  add(
    {
      name: 'verify-event (a real invocation after the deploy)',
      deployer: ['RegistryLogin', 'PushImage', 'GrantLambdaPull', 'UpdateFunction', 'VerifyInvoke'],
      succeeded: run => {
        expect(run.outputs.verified).toBe('true')
      }
    },
    async () => {
      const name = nextName('verify')
      await control.createRepository({ account: TOOLING, region: REGION, name })
      await seedFunction(TOOLING, name)
      return {
        names: { account: TOOLING, repository: name, function: name },
        // An image that runs: the stand-in runs it for Invoke.
        inputs: {
          'function-name': name,
          repository: `${host(TOOLING)}/${name}`,
          context: path.join(repoRoot, '__tests__', 'fixtures', 'smoke-good'),
          'verify-event': '{}'
        }
      }
    }
  )
  add(
    {
      name: 'rebuild: if-base-changed',
      deployer: ['RegistryLogin', 'ReadImage', 'UpdateFunction'],
      succeeded: run => {
        expect(run.outputs['base-image-updated']).toBe('false')
        expect(run.stdout).not.toContain('::group::Build')
      }
    },
    async () => {
      const fn = nextName('refresh')
      // The function runs the image the action built (its labels name the base).
      await control.createFunction({
        account: TOOLING,
        region: REGION,
        name: fn,
        packageType: 'Image',
        imageUri: pushedImage
      })
      return {
        names: { account: TOOLING, repository: pushedRepository, function: fn },
        inputs: {
          'function-name': fn,
          repository: `${host(TOOLING)}/${pushedRepository}`,
          context: fixture,
          target: 'runtime',
          'build-args': `VERSION=${pushedRepository}`,
          rebuild: 'if-base-changed'
        }
      }
    }
  )
  add(
    {
      name: 'rebuild: if-inputs-changed, with an image of the same inputs in the repository',
      deployer: ['RegistryLogin', 'PushImage', 'ReadImage', 'GrantLambdaPull', 'UpdateFunction'],
      succeeded: run => {
        expect(run.outputs.built).toBe('false')
        expect(run.outputs.deployed).toBe('true')
        expect(run.stdout).not.toContain('::group::Build')
      }
    },
    async () => {
      const fn = nextName('unchanged')
      await seedFunction(TOOLING, fn)
      return {
        names: { account: TOOLING, repository: pushedRepository, function: fn },
        // The inputs the shared image was built from.
        inputs: {
          'function-name': fn,
          repository: `${host(TOOLING)}/${pushedRepository}`,
          context: fixture,
          target: 'runtime',
          'build-args': `VERSION=${pushedRepository}`
        }
      }
    }
  )
  add(
    {
      name: 'dry-run',
      deployer: ['GrantLambdaPull', 'UpdateFunction'],
      succeeded: run => {
        expect(run.outputs.deployed).toBe('false')
      }
    },
    async () => {
      const name = nextName('dry')
      await control.createRepository({ account: TOOLING, region: REGION, name })
      await seedFunction(TOOLING, name)
      return {
        names: { account: TOOLING, repository: name, function: name },
        inputs: {
          'function-name': name,
          repository: `${host(TOOLING)}/${name}`,
          context: fixture,
          target: 'runtime',
          'dry-run': 'true'
        }
      }
    }
  )
  add(
    {
      name: 'rollout with alarms',
      deployer: [
        'RegistryLogin',
        'ReadImage',
        'GrantLambdaPull',
        'UpdateFunction',
        'SettingsVersionsAliases',
        'WatchRolloutAlarms'
      ],
      succeeded: run => {
        expect(run.outputs.version).toBe('2')
        expect(run.stdout).toContain('live moved from 1 to 2 by rollout')
      }
    },
    async () => {
      const fn = nextName('rollout')
      await seedFunction(TOOLING, fn)
      // The alias exists on version 1, so there is traffic to shift.
      await control.setIdentityPolicies(DEPLOYER, topology.iam.defaultPolicies)
      const lambda = clientsFor(standIn.url, TOOLING).lambda
      await lambda.send(new PublishVersionCommand({ FunctionName: fn }))
      await lambda.send(
        new CreateAliasCommand({ FunctionName: fn, Name: 'live', FunctionVersion: '1' })
      )
      await control.createAlarm({ account: TOOLING, region: REGION, name: `${fn}-errors` })
      return {
        names: { account: TOOLING, repository: pushedRepository, function: fn },
        inputs: {
          'function-name': fn,
          image: pushedImage,
          publish: 'true',
          alias: 'live',
          rollout: 'canary 10% 1s',
          'rollout-alarms': `${fn}-errors`
        }
      }
    }
  )
  return list.map(scenario => ({ ...scenario, run: build[scenario.name]! }))
}

beforeAll(async () => {
  standIn = await startStandIn({ port: 0 })
  control = new StandInControl(standIn.url)
  // One image, built and pushed by the action with the default (administrator) policy, for the
  // deploy-only, cross-account and refresh scenarios; Lambda may pull it in both accounts.
  pushedRepository = nextName('source')
  await control.createRepository({
    account: TOOLING,
    region: REGION,
    name: pushedRepository,
    policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        lambdaPull(TOOLING),
        {
          Sid: 'LambdaECRImageCrossAccountRetrievalPolicy',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${WORKLOAD}:root` },
          Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
        },
        lambdaPull(WORKLOAD)
      ]
    })
  })
  await seedFunction(TOOLING, pushedRepository)
  const built = await act({
    'function-name': pushedRepository,
    repository: `${host(TOOLING)}/${pushedRepository}`,
    context: fixture,
    target: 'runtime',
    'build-args': `VERSION=${pushedRepository}`
  })
  if (built.exitCode !== 0) throw new Error(`the source image did not deploy:\n${built.stdout}`)
  pushedImage = built.outputs['image-uri']!
})

afterAll(async () => {
  await standIn.close()
})

describe('the stack', () => {
  it('authorizes registry requests as the principal whose token they carry (registry gate)', async () => {
    const answer = await fetch(`https://${host(TOOLING)}/v2/`)
    expect(answer.headers.get(GATE_HEADER)).toBe('1')
  })
})

describe('the README policy, per feature', () => {
  it.each(scenarios().map(scenario => [scenario.name, scenario] as const))(
    'is enough for %s',
    async (_name, scenario) => {
      const run = await scenario.run()
      if (run.exitCode !== 0) console.log(run.stdout)
      expect(run.exitCode).toBe(0)
      scenario.succeeded?.(run)
    }
  )
})

describe('every documented permission', () => {
  const [deployerText, workloadText] = readmePolicies()
  const names: Names = { account: TOOLING, repository: 'r', function: 'f' }
  const documented = [
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
  /** Each action once per policy it is documented in (the two roles are tested apart). */
  const unique = [
    ...new Map(documented.map(entry => [`${entry.role} ${entry.action}`, entry])).values()
  ]

  /** The first (cheapest) scenario whose policy for that role holds the action. */
  const scenarioFor = (removal: Removal) =>
    (removal.role === 'deployer'
      ? scenarios(removal).find(scenario => scenario.proves?.includes(removal.action))
      : undefined) ??
    scenarios(removal).find(scenario =>
      documented.some(
        entry =>
          entry.action === removal.action &&
          entry.role === removal.role &&
          (entry.role === 'deployer' ? scenario.deployer : (scenario.workload ?? [])).includes(
            entry.sid
          )
      )
    )

  it('is used by some scenario', () => {
    expect(
      Object.keys(UNPROVABLE).filter(action => !unique.some(entry => entry.action === action))
    ).toEqual([])
    expect(unique.filter(entry => !scenarioFor(entry)).map(entry => entry.action)).toEqual([])
  })

  it.each(
    unique
      .filter(entry => !(entry.action in UNPROVABLE))
      .map(entry => [entry.action, entry.role] as const)
  )('is needed: without %s in the %s policy a deploy fails', async (action, role) => {
    const scenario = scenarioFor({ action, role })!
    const run = await scenario.run()
    let succeeded = run.exitCode === 0
    if (succeeded && scenario.succeeded) {
      try {
        scenario.succeeded(run)
      } catch {
        succeeded = false
      }
    }
    if (succeeded) {
      console.log(`${action} removed (${role}), "${scenario.name}" still succeeded:\n${run.stdout}`)
    }
    expect(succeeded).toBe(false)
  })
})

describe('cross-account deploys and the workload role’s ECR permissions', () => {
  it('fails without them, with a hint that names them and the identity policy', async () => {
    const [deployerText, workloadText] = readmePolicies()
    const fn = nextName('cross-hint')
    await seedFunction(WORKLOAD, fn)
    const names = { account: TOOLING, repository: pushedRepository, function: fn }
    await control.setIdentityPolicies(
      DEPLOYER,
      attachable(fill(deployerText, names), [
        'RegistryLogin',
        'ReadImage',
        'GrantLambdaPull',
        'CrossAccountFunctions'
      ])
    )
    await control.setIdentityPolicies(
      WORKLOAD_ROLE,
      attachable(fill(workloadText, { ...names, account: WORKLOAD, repositoryAccount: TOOLING }), [
        'UpdateFunction'
      ])
    )
    const run = await act({
      'function-name': `arn:aws:lambda:${REGION}:${WORKLOAD}:function:${fn}`,
      image: pushedImage,
      'cross-account-role': ROLE
    })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('::error::[access-denied]')
    expect(run.stdout).toContain('Lambda does not have permission to access the ECR image')
    expect(run.stdout).toMatch(
      /Identity policy: .*ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on the repository/
    )
  })
})
