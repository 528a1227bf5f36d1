import { beforeAll, describe, expect, it } from '@jest/globals'
import { PutLifecyclePolicyCommand } from '@aws-sdk/client-ecr'
import topology from '../../../stack/topology.json' with { type: 'json' }
import {
  DEFAULT_REGION as REGION,
  TOOLING_ACCOUNT as TOOLING,
  WORKLOAD_ACCOUNT as WORKLOAD,
  fixtureImage,
  useSandbox
} from '../harness.js'
import {
  DEFAULT_POLICY_HEADING,
  DEPLOYER,
  EXECUTION_ROLE_NAME,
  FEATURES,
  ROLE,
  SHARED_IMAGE_POLICY,
  UNPROVABLE,
  WORKLOAD_ROLE,
  attachable,
  expectFeatureFailed,
  expectFeatureSucceeded,
  featureFor,
  featuresOf,
  fill,
  permissionBlocks,
  readmePolicies,
  registryGateHeader,
  removalsOf,
  runFeature,
  seedImageFunction,
  uniqueRemovals,
  withLiveAliasOnVersion1,
  type FeatureName,
  type Scenario
} from '../readme-policy.js'

/**
 * The README's IAM policy is the tested policy, for every feature that deploys an image already
 * in ECR (the features that build are in engine/readme-policy.test.ts; ../readme-policy.ts says
 * which is which). The statements each feature needs are read from README.md and attached to
 * the deploying principal (the IAM user of the tooling account) and to the workload account's
 * role, replacing the stand-in's default administrator policy. Each feature must then deploy;
 * and for every action the README documents, the feature that needs it is run with that one
 * action removed and must fail.
 *
 * Registry requests are authorized by the registry gate stack/setup.sh puts in front of each ECR
 * registry, so the registry actions (BatchGetImage, GetDownloadUrlForLayer) are part of it.
 */

const sandbox = useSandbox()

/** The image every scenario deploys, in a repository Lambda may pull from in both accounts. */
let pushedImage = ''
let pushedRepository = ''

beforeAll(async () => {
  const source = await sandbox.seed({
    label: 'readme-source',
    policy: SHARED_IMAGE_POLICY,
    image: await fixtureImage({ fixture: 'provided-multistage', target: 'runtime' })
  })
  pushedRepository = source.name
  pushedImage = source.image!
})

/** The shared image's repository without a policy: the action has to write Lambda's grant. */
async function withoutRepositoryPolicy(): Promise<void> {
  await sandbox.control.createRepository({
    account: TOOLING,
    region: REGION,
    name: pushedRepository
  })
}

const seedFunction = (account: string, name: string) => seedImageFunction(sandbox, account, name)

const scenarios: Record<FeatureName<'aws'>, Scenario> = {
  'deploy-only image': {
    async prepare() {
      const fn = sandbox.uniqueName('readme-image')
      await seedFunction(TOOLING, fn)
      await withoutRepositoryPolicy()
      return {
        names: { account: TOOLING, repository: pushedRepository, function: fn },
        inputs: { 'function-name': fn, image: pushedImage }
      }
    }
  },
  'the checks of the images in ECR (deleted and expiring images)': {
    // Without one of its actions the deploy still succeeds (the checks only warn), with a
    // notice that the images were not fully checked: that is the failure this scenario shows.
    succeeded: run => {
      expect(run.stdout).not.toContain('were not fully checked')
      expect(run.summary).toContain("ECR's lifecycle preview expires none of the images in use")
    },
    async prepare() {
      const fn = sandbox.uniqueName('readme-retention')
      // The function runs an image of the repository, so its versions are listed too.
      await sandbox.control.createFunction({
        account: TOOLING,
        region: REGION,
        name: fn,
        packageType: 'Image',
        imageUri: pushedImage
      })
      await sandbox.control.setIdentityPolicies(DEPLOYER, topology.iam.defaultPolicies)
      await sandbox.clients(TOOLING).ecr.send(
        new PutLifecyclePolicyCommand({
          repositoryName: pushedRepository,
          lifecyclePolicyText: JSON.stringify({
            rules: [
              {
                rulePriority: 1,
                description: 'archive old builds not pulled for 30 days',
                selection: {
                  tagStatus: 'tagged',
                  tagPatternList: ['readme-old*'],
                  countType: 'sinceImagePulled',
                  countUnit: 'days',
                  countNumber: 30
                },
                action: { type: 'transition', targetStorageClass: 'archive' }
              }
            ]
          })
        })
      )
      // An old build, last pulled 40 days ago: the rule can change something (so ECR's preview
      // runs and its permissions are needed), but not the image in use.
      const old = await sandbox.copyImage(
        await fixtureImage({
          fixture: 'provided-multistage',
          target: 'runtime',
          buildArgs: { VERSION: 'expiring-1' }
        }),
        pushedImage.slice(0, pushedImage.indexOf('@')),
        'readme-old'
      )
      await sandbox.control.recordPull(
        TOOLING,
        REGION,
        pushedRepository,
        old.slice(old.indexOf('@') + 1),
        Date.now() - 40 * 24 * 60 * 60 * 1000
      )
      return {
        names: { account: TOOLING, repository: pushedRepository, function: fn },
        inputs: { 'function-name': fn, image: pushedImage }
      }
    }
  },
  'function-config, publish and alias': {
    succeeded: run => {
      expect(run.outputs.version).toBe('2')
    },
    async prepare() {
      const fn = sandbox.uniqueName('readme-release')
      await seedFunction(TOOLING, fn)
      // The alias exists already (on version 1), so the deploy moves it: lambda:UpdateAlias.
      await withLiveAliasOnVersion1(sandbox, fn)
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
  },
  'publish and a new alias': {
    succeeded: run => {
      expect(run.outputs.version).toBe('1')
    },
    async prepare() {
      const fn = sandbox.uniqueName('readme-alias')
      await seedFunction(TOOLING, fn)
      return {
        names: { account: TOOLING, repository: pushedRepository, function: fn },
        inputs: { 'function-name': fn, image: pushedImage, publish: 'true', alias: 'live' }
      }
    }
  },
  'cross-account': {
    async prepare() {
      const fn = sandbox.uniqueName('readme-cross')
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
  },
  'verify-event (a real invocation after the deploy)': {
    succeeded: run => {
      expect(run.outputs.verified).toBe('true')
    },
    async prepare() {
      // An image that runs: the stand-in runs it for Invoke.
      const fn = await sandbox.seed({ label: 'readme-verify' })
      const image = await sandbox.copyImage(
        await fixtureImage({ fixture: 'smoke-good' }),
        fn.repository
      )
      return {
        names: { account: TOOLING, repository: fn.name, function: fn.name },
        inputs: { 'function-name': fn.name, image, 'verify-event': '{}' }
      }
    }
  },
  'create-function-role (a missing function created from the image)': {
    succeeded: run => {
      expect(JSON.parse(run.outputs.functions ?? '[]')).toEqual([
        expect.objectContaining({ status: 'created' })
      ])
    },
    async prepare() {
      // No function of this name: the action creates it, running as the execution role.
      const fn = sandbox.uniqueName('readme-create-fn')
      await withoutRepositoryPolicy()
      return {
        names: {
          account: TOOLING,
          repository: pushedRepository,
          function: fn,
          executionRole: EXECUTION_ROLE_NAME
        },
        inputs: {
          'function-name': fn,
          image: pushedImage,
          'create-function-role': EXECUTION_ROLE_NAME
        }
      }
    }
  },
  'rollout with alarms': {
    succeeded: run => {
      expect(run.outputs.version).toBe('2')
      expect(run.stdout).toContain('live moved from 1 to 2 by rollout')
    },
    async prepare() {
      const fn = sandbox.uniqueName('readme-rollout')
      await seedFunction(TOOLING, fn)
      // The alias exists on version 1, so there is traffic to shift.
      await withLiveAliasOnVersion1(sandbox, fn)
      // OK: an alarm without data for the whole rollout would stop it.
      await sandbox.control.createAlarm({
        account: TOOLING,
        region: REGION,
        name: `${fn}-errors`,
        state: 'OK',
        reason: 'no errors'
      })
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
  }
}

describe('the stack', () => {
  it('authorizes registry requests as the principal whose token they carry (registry gate)', async () => {
    expect(await registryGateHeader(TOOLING)).toBe('1')
  })
})

describe('the README policy, per feature', () => {
  it.each(featuresOf('aws').map(feature => [feature.name] as const))(
    'is enough for %s',
    async name => {
      const run = await runFeature(sandbox, scenarios, name)
      expectFeatureSucceeded(run, scenarios[name as FeatureName<'aws'>])
    }
  )
})

describe('every documented permission', () => {
  // Over both suites' features: those that build are run by engine/readme-policy.test.ts.
  it('is used by some scenario', () => {
    const removals = uniqueRemovals()
    expect(
      Object.keys(UNPROVABLE).filter(action => !removals.some(entry => entry.action === action))
    ).toEqual([])
    expect(removals.filter(removal => !featureFor(removal)).map(entry => entry.action)).toEqual([])
  })

  it('the default deploy is run with exactly the README’s policy for a default deploy', () => {
    const block = permissionBlocks().find(entry => entry.heading === DEFAULT_POLICY_HEADING)!
    const sids = (JSON.parse(block.json) as { Statement: { Sid: string }[] }).Statement.map(
      statement => statement.Sid
    )
    const feature = FEATURES.find(entry => entry.name.startsWith('the default deploy'))!
    expect([...feature.deployer]).toEqual(sids)
  })

  it.each(removalsOf('aws').map(removal => [removal.action, removal.role] as const))(
    'is needed: without %s in the %s policy a deploy fails',
    async (action, role) => {
      const name = featureFor({ action, role })!.name as FeatureName<'aws'>
      const run = await runFeature(sandbox, scenarios, name, { action, role })
      expectFeatureFailed(run, scenarios[name], { action, role })
    }
  )
})

describe('cross-account deploys and the workload role’s ECR permissions', () => {
  it('fails without them, with a hint that names them and the identity policy', async () => {
    const [deployerText, workloadText] = readmePolicies()
    const fn = sandbox.uniqueName('readme-cross-hint')
    await seedFunction(WORKLOAD, fn)
    const names = { account: TOOLING, repository: pushedRepository, function: fn }
    await sandbox.control.setIdentityPolicies(
      DEPLOYER,
      attachable(fill(deployerText, names), [
        'RegistryLogin',
        'ReadImage',
        'GrantLambdaPull',
        'CrossAccountFunctions'
      ])
    )
    await sandbox.control.setIdentityPolicies(
      WORKLOAD_ROLE,
      attachable(fill(workloadText, { ...names, account: WORKLOAD, repositoryAccount: TOOLING }), [
        'UpdateFunction'
      ])
    )
    const run = await sandbox.run({
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
