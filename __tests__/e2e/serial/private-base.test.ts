import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { cpSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  DEFAULT_REGION,
  TOOLING_ACCOUNT,
  WORKLOAD_ACCOUNT,
  fixturesDir,
  registryHost,
  useSandbox,
  useWorkDir
} from '../harness.js'
import {
  expectNoCredentialLeft,
  filesUnder,
  holdsRegistryCredential,
  publishPrivateBase
} from '../support.js'

/**
 * A base image in a private ECR registry of another account, on a runner whose engine does not
 * have it: the build logs in to that registry the way the push does (a temporary docker config,
 * gone afterwards), so buildx can pull it. Without the login the registry answers 401 and the
 * build fails. Serial: a fresh runner's engine is made by pruning the whole builder.
 */

const ACCOUNT = TOOLING_ACCOUNT
const BASE_ACCOUNT = WORKLOAD_ACCOUNT
const REGION = DEFAULT_REGION
const BASE_HOST = registryHost(BASE_ACCOUNT, REGION)

const sandbox = useSandbox()
const work = useWorkDir('private-base-')

describe('a private base image in another account’s ECR registry', () => {
  it('is pulled by the build with a login of its own, when the engine does not have it', async () => {
    const { name, repository } = await sandbox.seed({ label: 'private-base' })
    // As in AWS, the other account's repository must let this account pull.
    await sandbox.control.createRepository({
      account: BASE_ACCOUNT,
      region: REGION,
      name: `${name}-base`,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'PullFromTheToolingAccount',
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
            Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
          }
        ]
      })
    })
    const base = `${BASE_HOST}/${name}-base:al2023`
    publishPrivateBase(base, 'private-base=true')
    // What a fresh runner has of it: nothing.
    execFileSync('docker', ['image', 'rm', '--force', base], { timeout: 60_000 })
    execFileSync('docker', ['builder', 'prune', '--all', '--force'], { timeout: 120_000 })

    const context = path.join(work.dir, 'context')
    cpSync(path.join(fixturesDir, 'base-from-build-arg'), context, { recursive: true })
    const run = await sandbox.run({
      'function-name': name,
      repository,
      context,
      'build-args': `BASE=${base}`,
      tags: 'v1'
    })
    if (run.exitCode !== 0) throw new Error(`The run failed:\n${run.stdout}\n${run.stderr}`)
    expect(run.outputs.deployed).toBe('true')
    expect(run.outputs['base-image']).toBe(base)
    expect(run.outputs['base-image-digest']).toMatch(/^sha256:/)
    // The base's token was masked, and no login was left behind.
    expectNoCredentialLeft(run)
    const dockerConfig = process.env.DOCKER_CONFIG || path.join(os.homedir(), '.docker')
    for (const file of filesUnder(dockerConfig).filter(f => f.endsWith('config.json'))) {
      expect(holdsRegistryCredential(readFileSync(file, 'utf8'))).toBe(false)
    }
  })
})
