import { beforeAll, describe, expect, it } from '@jest/globals'
import path from 'node:path'
import {
  DEFAULT_REGION as REGION,
  TOOLING_ACCOUNT as TOOLING,
  fixtureImage,
  fixturesDir,
  registryHost,
  useSandbox
} from '../harness.js'
import {
  SHARED_IMAGE_POLICY,
  expectFeatureFailed,
  expectFeatureSucceeded,
  featureFor,
  featuresOf,
  registryGateHeader,
  removalsOf,
  runFeature,
  seedImageFunction,
  type FeatureName,
  type Scenario
} from '../readme-policy.js'
import { expectNoCredentialLeft } from '../support.js'

/**
 * The README's IAM policy is the tested policy, for the features whose permissions exist because
 * the action builds: it pushes (PushImage), finds the repository by name and reads its tag
 * mutability before a push (DescribeRepository), and reads back an image it built (the rebuild
 * modes). The features that deploy an image already in ECR, and the check that every documented
 * action is shown by some feature, are in aws/readme-policy.test.ts (../readme-policy.ts says
 * which is which). Each feature must deploy with its README statements; and each documented
 * action it is the one to show is removed, and the feature must then fail.
 *
 * Registry requests are authorized by the registry gate stack/setup.sh puts in front of each ECR
 * registry, so the upload actions of a docker push are part of it.
 */

const sandbox = useSandbox()
const fixture = path.join(fixturesDir, 'provided-multistage')
const host = registryHost(TOOLING)

/** The image the rebuild scenarios find, built and pushed by the action with the default
 * (administrator) policy: its labels and inputs tag are the action's own. */
let pushedRepository = ''
let pushedImage = ''

beforeAll(async () => {
  const source = await sandbox.seed({ label: 'readme-source', policy: SHARED_IMAGE_POLICY })
  pushedRepository = source.name
  const built = await sandbox.run(
    buildInputs(source.name, source.repository, { 'build-args': `VERSION=${pushedRepository}` })
  )
  if (built.exitCode !== 0) throw new Error(`the source image did not deploy:\n${built.stdout}`)
  pushedImage = built.outputs['image-uri']!
})

/** The inputs that build the fixture's runtime target for a function. */
function buildInputs(fn: string, repository: string, inputs: Record<string, string> = {}) {
  return { 'function-name': fn, repository, context: fixture, target: 'runtime', ...inputs }
}

/** The inputs the shared image was built from, deploying it to `fn`. */
function sharedImageInputs(fn: string, inputs: Record<string, string> = {}) {
  return buildInputs(fn, `${host}/${pushedRepository}`, {
    'build-args': `VERSION=${pushedRepository}`,
    ...inputs
  })
}

const scenarios: Record<FeatureName<'engine'>, Scenario> = {
  'build and push, repository by name': {
    succeeded: run => {
      expect(run.outputs.deployed).toBe('true')
      expectNoCredentialLeft(run)
    },
    async prepare() {
      const fn = await sandbox.seed({ label: 'readme-push' })
      return {
        names: { account: TOOLING, repository: fn.name, function: fn.name },
        // A new layer for every run, so docker has to upload it.
        inputs: buildInputs(fn.name, fn.name, { 'build-args': `VERSION=${fn.name}` })
      }
    }
  },
  'rebuild: if-base-changed': {
    succeeded: run => {
      expect(run.outputs['base-image-updated']).toBe('false')
      expect(run.stdout).not.toContain('::group::Build')
    },
    async prepare() {
      const fn = sandbox.uniqueName('readme-refresh')
      // The function runs the image the action built (its labels name the base).
      await sandbox.control.createFunction({
        account: TOOLING,
        region: REGION,
        name: fn,
        packageType: 'Image',
        imageUri: pushedImage
      })
      return {
        names: { account: TOOLING, repository: pushedRepository, function: fn },
        inputs: sharedImageInputs(fn, { rebuild: 'if-base-changed' })
      }
    }
  },
  'rebuild: if-inputs-changed, with an image of the same inputs in the repository': {
    succeeded: run => {
      expect(run.outputs.built).toBe('false')
      expect(run.outputs.deployed).toBe('true')
      expect(run.stdout).not.toContain('::group::Build')
    },
    async prepare() {
      const fn = sandbox.uniqueName('readme-unchanged')
      await seedImageFunction(sandbox, TOOLING, fn)
      return {
        names: { account: TOOLING, repository: pushedRepository, function: fn },
        // The inputs the shared image was built from.
        inputs: sharedImageInputs(fn)
      }
    }
  },
  'create-repository (a missing repository created for the build)': {
    succeeded: run => {
      expect(run.outputs.deployed).toBe('true')
      expect(run.summary).toContain('Repository created')
    },
    async prepare() {
      const fn = await sandbox.seed({ label: 'readme-create-repo', noRepository: true })
      return {
        names: { account: TOOLING, repository: fn.name, function: fn.name },
        inputs: buildInputs(fn.name, fn.name, {
          'build-args': `VERSION=${fn.name}`,
          'create-repository': 'true'
        })
      }
    }
  },
  'the default deploy (function-name alone) with the policy for a default deploy': {
    succeeded: run => {
      expect(run.outputs.built).toBe('true')
      expect(run.outputs.deployed).toBe('true')
      expect(run.outputs.repository).toBe(`${host}/${run.outputs.repository?.split('/').pop()}`)
      // Every check of a default deploy was made: none was skipped for want of a permission.
      expect(run.stdout).not.toContain('Cannot read the tag mutability')
      expect(run.stdout).not.toContain('were not fully checked')
      expectNoCredentialLeft(run)
    },
    async prepare() {
      // A function that already runs an image from its own repository: the quick start's case.
      const fn = await sandbox.seed({
        label: 'readme-default',
        image: await fixtureImage({ fixture: 'provided-multistage', target: 'runtime' })
      })
      return {
        names: { account: TOOLING, repository: fn.name, function: fn.name },
        // function-name alone, and where the Dockerfile is; a new layer, so the image is pushed.
        inputs: {
          'function-name': fn.name,
          context: fixture,
          target: 'runtime',
          'build-args': `VERSION=${fn.name}`
        }
      }
    }
  },
  'dry-run': {
    succeeded: run => {
      expect(run.outputs.deployed).toBe('false')
    },
    async prepare() {
      const fn = await sandbox.seed({ label: 'readme-dry' })
      return {
        names: { account: TOOLING, repository: fn.name, function: fn.name },
        inputs: buildInputs(fn.name, fn.repository, { 'dry-run': 'true' })
      }
    }
  }
}

describe('the stack', () => {
  it('authorizes registry requests as the principal whose token they carry (registry gate)', async () => {
    expect(await registryGateHeader(TOOLING)).toBe('1')
  })
})

describe('the README policy, per feature that builds', () => {
  it.each(featuresOf('engine').map(feature => [feature.name] as const))(
    'is enough for %s',
    async name => {
      const run = await runFeature(sandbox, scenarios, name)
      expectFeatureSucceeded(run, scenarios[name as FeatureName<'engine'>])
    }
  )
})

describe('every documented permission a build needs', () => {
  it.each(removalsOf('engine').map(removal => [removal.action, removal.role] as const))(
    'is needed: without %s in the %s policy a deploy fails',
    async (action, role) => {
      const name = featureFor({ action, role })!.name as FeatureName<'engine'>
      const run = await runFeature(sandbox, scenarios, name, { action, role })
      expectFeatureFailed(run, scenarios[name], { action, role })
    }
  )
})
