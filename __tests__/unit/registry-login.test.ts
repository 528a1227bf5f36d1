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
  withLogins,
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

  it("keeps the user's buildx and their whole config for builds, with the ECR token put in", async () => {
    const user = userConfig(
      {
        auths: {
          'ghcr.io': { auth: 'dXNlcjpwYXQ=' },
          'https://index.docker.io/v1/': {},
          [REGISTRY]: { auth: 'c3RhbGU=' }
        },
        credHelpers: { 'gcr.io': 'gcloud', [REGISTRY]: 'ecr-login' },
        credsStore: 'desktop',
        proxies: { default: { httpProxy: 'http://proxy.internal:3128', noProxy: '*.internal' } },
        currentContext: 'rootless',
        psFormat: 'table {{.ID}}'
      },
      true
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
          expect(readlinkSync(path.join(dir, 'contexts'))).toBe(path.join(user, 'contexts'))
          expect(lstatSync(path.join(dir, 'config.json')).mode & 0o777).toBe(0o600)
          const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as unknown
          // Everything of the user's stays but the ECR registry's entries: its token replaces
          // theirs, and its helper is "" so that docker reads the token from this file.
          expect(config).toEqual({
            auths: {
              'ghcr.io': { auth: 'dXNlcjpwYXQ=' },
              'https://index.docker.io/v1/': {},
              [REGISTRY]: { auth: Buffer.from(`AWS:${credentials.password}`).toString('base64') }
            },
            credHelpers: { 'gcr.io': 'gcloud', [REGISTRY]: '' },
            credsStore: 'desktop',
            proxies: {
              default: { httpProxy: 'http://proxy.internal:3128', noProxy: '*.internal' }
            },
            currentContext: 'rootless',
            psFormat: 'table {{.ID}}'
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
    // The user's own config is left as it was.
    expect(JSON.parse(readFileSync(path.join(user, 'config.json'), 'utf8'))).toMatchObject({
      auths: { [REGISTRY]: { auth: 'c3RhbGU=' } },
      credHelpers: { [REGISTRY]: 'ecr-login' }
    })
  })
})

describe('withLogins', () => {
  const token = { auth: 'QVdTOnRva2Vu' }
  it.each([
    ['no user config: the token alone', {}, { auths: { [REGISTRY]: token } }],
    [
      'no store and no helpers: no helper entry is added',
      { auths: { 'ghcr.io': { auth: 'eA==' } }, proxies: { default: { noProxy: 'x' } } },
      {
        auths: { 'ghcr.io': { auth: 'eA==' }, [REGISTRY]: token },
        proxies: { default: { noProxy: 'x' } }
      }
    ],
    [
      'a store: kept, and kept away from the ECR registry',
      { credsStore: 'pass', auths: { 'ghcr.io': {} } },
      {
        credsStore: 'pass',
        auths: { 'ghcr.io': {}, [REGISTRY]: token },
        credHelpers: { [REGISTRY]: '' }
      }
    ],
    [
      "helpers only: the others kept, the ECR registry's replaced",
      { credHelpers: { [REGISTRY]: 'ecr-login', 'gcr.io': 'gcloud' } },
      { auths: { [REGISTRY]: token }, credHelpers: { 'gcr.io': 'gcloud', [REGISTRY]: '' } }
    ],
    [
      'malformed auths and helpers: ignored, as docker would fail on them anyway',
      { auths: ['x'], credHelpers: 'nope', credsStore: '' },
      { auths: { [REGISTRY]: token }, credsStore: '' }
    ]
  ])('%s', (_case, user, expected) => {
    expect(withLogins(user, { [REGISTRY]: token })).toEqual(expected)
  })
})
