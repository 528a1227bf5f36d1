import * as core from '@actions/core'
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { RegistryCredentials } from './ecr.js'
import { makeSecretDirectory, removeSecretDirectory } from './temporary-files.js'

/** One registry's credentials for a temporary docker config. */
export interface RegistryLogin {
  readonly registry: string
  readonly credentials: RegistryCredentials
}

/**
 * Runs `work` with a DOCKER_CONFIG directory that holds only this registry's credentials.
 * The config is written directly (no `docker login`), so the token never reaches a command line,
 * a credential helper or ~/.docker, and the directory is gone afterwards in every outcome.
 * It keeps the user's docker context (`docker context use`, colima, rootless engines), so that
 * docker talks to the engine the image was built in.
 */
export function withRegistryLogin<T>(
  registry: string,
  credentials: RegistryCredentials,
  work: (dockerConfigDir: string) => Promise<T>
): Promise<T> {
  return withRegistryLogins([{ registry, credentials }], work)
}

/**
 * The same for a build that reads or writes ECR (a private base image, the registry cache): the
 * config is the user's own docker config with the ECR logins put in, so the build reaches every
 * other registry as the user's docker would. Kept: the buildx plugin and builders, `auths`
 * entries for other registries (docker/login-action writes them there), `credHelpers`,
 * `credsStore` (which answers for the `{}` entries it leaves in `auths`; without it those
 * registries would be pulled from anonymously), `proxies` (the build's proxy variables) and
 * every other setting. Replaced, for the registries given here only: their `auths` entry, and
 * their `credHelpers` entry (see withLogins), so that the token is read from this file, handed
 * to no program and written nowhere else.
 */
export async function withRegistryLogins<T>(
  logins: readonly RegistryLogin[],
  work: (dockerConfigDir: string) => Promise<T>,
  options: { keepUserLogins?: boolean } = {}
): Promise<T> {
  const auths: Record<string, unknown> = {}
  for (const { registry, credentials } of logins) {
    const auth = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')
    core.setSecret(credentials.password)
    core.setSecret(auth)
    auths[registry] = { auth }
  }
  const dir = makeSecretDirectory('docker-config')
  try {
    const engine = userDockerContext()
    if (engine.contextsDir) symlinkSync(engine.contextsDir, path.join(dir, 'contexts'))
    if (options.keepUserLogins) {
      for (const [name, shared] of userBuildxDirs()) symlinkSync(shared, path.join(dir, name))
    }
    const config = options.keepUserLogins
      ? withLogins(readUserConfig(), auths)
      : { auths, ...(engine.currentContext ? { currentContext: engine.currentContext } : {}) }
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config), { mode: 0o600 })
    return await work(dir)
  } finally {
    removeSecretDirectory(dir)
  }
}

/** A docker config.json as read; only the keys the action replaces are named. */
export interface DockerConfigFile {
  readonly auths?: unknown
  readonly credHelpers?: unknown
  readonly credsStore?: unknown
  readonly [setting: string]: unknown
}

/** The user's docker config.json; empty when there is none or docker could not read it either. */
function readUserConfig(): DockerConfigFile {
  const configDir = process.env.DOCKER_CONFIG || path.join(os.homedir(), '.docker')
  try {
    const parsed = JSON.parse(readFileSync(path.join(configDir, 'config.json'), 'utf8')) as unknown
    return isObject(parsed) ? parsed : {}
  } catch {
    return {}
  }
}

/**
 * The user's config with these `auths` entries put in, everything else kept. docker looks a
 * registry's credentials up in `credHelpers[registry]` first, then in `credsStore`, and in
 * `auths` only when neither names a program; a helper named "" names none (docker/cli
 * configfile GetCredentialsStore: `if helper := getConfiguredCredentialStore(...); helper != ""`).
 * So where the user has a store or helpers, each of our registries gets the helper "": docker
 * reads its token from `auths`, and never asks the user's store about it.
 */
export function withLogins(
  user: DockerConfigFile,
  auths: Readonly<Record<string, unknown>>
): DockerConfigFile {
  const ours = new Set(Object.keys(auths))
  const userHelpers = isObject(user.credHelpers) ? user.credHelpers : {}
  const credHelpers: Record<string, unknown> = Object.fromEntries(
    Object.entries(userHelpers).filter(([registry]) => !ours.has(registry))
  )
  const programsInPlay =
    (typeof user.credsStore === 'string' && user.credsStore !== '') ||
    Object.keys(userHelpers).length > 0
  if (programsInPlay) for (const registry of ours) credHelpers[registry] = ''
  const rest: Record<string, unknown> = { ...user }
  delete rest.credHelpers
  return {
    ...rest,
    auths: { ...(isObject(user.auths) ? user.auths : {}), ...auths },
    ...(Object.keys(credHelpers).length > 0 ? { credHelpers } : {})
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The user's buildx plugin (docker/setup-buildx-action installs it in the config directory's
 * cli-plugins) and its builder instances (buildx/), which a temporary DOCKER_CONFIG would hide.
 */
export function userBuildxDirs(env: NodeJS.ProcessEnv = process.env): [string, string][] {
  const configDir = env.DOCKER_CONFIG || path.join(os.homedir(), '.docker')
  return ['cli-plugins', 'buildx']
    .map((name): [string, string] => [name, path.join(configDir, name)])
    .filter(([, dir]) => existsSync(dir))
}

/**
 * Where the user's docker keeps its contexts, and which one is current. A context lives in the
 * docker config directory (contexts/meta, contexts/tls), which a temporary DOCKER_CONFIG would
 * otherwise hide; DOCKER_CONTEXT and DOCKER_HOST, being variables, pass through by themselves.
 */
export function userDockerContext(env: NodeJS.ProcessEnv = process.env): {
  readonly contextsDir?: string
  readonly currentContext?: string
} {
  const configDir = env.DOCKER_CONFIG || path.join(os.homedir(), '.docker')
  const contextsDir = path.join(configDir, 'contexts')
  let currentContext: string | undefined
  try {
    const config = JSON.parse(readFileSync(path.join(configDir, 'config.json'), 'utf8')) as {
      currentContext?: unknown
    }
    if (typeof config.currentContext === 'string' && config.currentContext !== '') {
      currentContext = config.currentContext
    }
  } catch {
    // No config, or one docker itself could not read either: the default context.
  }
  return { contextsDir: existsSync(contextsDir) ? contextsDir : undefined, currentContext }
}
