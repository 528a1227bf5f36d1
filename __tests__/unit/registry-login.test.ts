import { describe, expect, it } from '@jest/globals'
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  writeFileSync
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  userDockerContext,
  withRegistryLogin,
  withRegistryLogins
} from '../../src/adapters/registry-login.js'

const credentials = { username: 'AWS', password: 'pa55word-for-the-registry' }
const REGISTRY = '111111111111.dkr.ecr.us-east-1.amazonaws.com'

function userConfig(config: object | undefined, withContexts: boolean): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'user-docker-config-'))
  if (config) writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config))
  if (withContexts) mkdirSync(path.join(dir, 'contexts', 'meta'), { recursive: true })
  return dir
}

describe('userDockerContext', () => {
  it('finds the current context and the contexts directory of DOCKER_CONFIG', () => {
    const dir = userConfig({ currentContext: 'colima' }, true)
    expect(userDockerContext({ DOCKER_CONFIG: dir })).toEqual({
      contextsDir: path.join(dir, 'contexts'),
      currentContext: 'colima'
    })
  })

  it('is the default context when the config names none or cannot be read', () => {
    expect(userDockerContext({ DOCKER_CONFIG: userConfig({ auths: {} }, false) })).toEqual({
      contextsDir: undefined,
      currentContext: undefined
    })
    const broken = userConfig(undefined, false)
    writeFileSync(path.join(broken, 'config.json'), '{not json')
    expect(userDockerContext({ DOCKER_CONFIG: broken }).currentContext).toBeUndefined()
  })
})

describe('withRegistryLogin', () => {
  it('writes only the registry credential, keeps the user context, and removes it all after', async () => {
    const user = userConfig({ currentContext: 'rootless', credsStore: 'desktop' }, true)
    const previous = process.env.DOCKER_CONFIG
    process.env.DOCKER_CONFIG = user
    let seen = ''
    try {
      await withRegistryLogin(REGISTRY, credentials, dir => {
        seen = dir
        const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<
          string,
          unknown
        >
        expect(Object.keys(config).sort()).toEqual(['auths', 'currentContext'])
        expect(config.currentContext).toBe('rootless')
        expect(lstatSync(path.join(dir, 'config.json')).mode & 0o777).toBe(0o600)
        expect(readlinkSync(path.join(dir, 'contexts'))).toBe(path.join(user, 'contexts'))
        return Promise.resolve()
      })
    } finally {
      if (previous === undefined) delete process.env.DOCKER_CONFIG
      else process.env.DOCKER_CONFIG = previous
    }
    expect(existsSync(seen)).toBe(false)
    // Removing the temporary config removes the link, never the user's contexts.
    expect(existsSync(path.join(user, 'contexts', 'meta'))).toBe(true)
  })

  it("keeps the user's buildx, and their logins to other registries, for builds", async () => {
    const user = userConfig(
      {
        auths: { 'ghcr.io': { auth: 'dXNlcjpwYXQ=' }, [REGISTRY]: { auth: 'c3RhbGU=' } },
        credHelpers: { 'gcr.io': 'gcloud' },
        credsStore: 'desktop'
      },
      false
    )
    mkdirSync(path.join(user, 'cli-plugins'))
    mkdirSync(path.join(user, 'buildx', 'instances'), { recursive: true })
    const previous = process.env.DOCKER_CONFIG
    process.env.DOCKER_CONFIG = user
    try {
      await withRegistryLogins(
        [{ registry: REGISTRY, credentials }],
        dir => {
          expect(readlinkSync(path.join(dir, 'cli-plugins'))).toBe(path.join(user, 'cli-plugins'))
          expect(readlinkSync(path.join(dir, 'buildx'))).toBe(path.join(user, 'buildx'))
          expect(existsSync(path.join(dir, 'contexts'))).toBe(false)
          const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as {
            auths: Record<string, { auth: string }>
          }
          // The user's other logins stay; the ECR token replaces theirs; no credsStore.
          expect(config).toEqual({
            auths: {
              'ghcr.io': { auth: 'dXNlcjpwYXQ=' },
              [REGISTRY]: { auth: Buffer.from(`AWS:${credentials.password}`).toString('base64') }
            },
            credHelpers: { 'gcr.io': 'gcloud' }
          })
          return Promise.resolve()
        },
        { keepUserLogins: true }
      )
    } finally {
      if (previous === undefined) delete process.env.DOCKER_CONFIG
      else process.env.DOCKER_CONFIG = previous
    }
    expect(existsSync(path.join(user, 'buildx', 'instances'))).toBe(true)
  })
})
