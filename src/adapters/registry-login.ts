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
 * The same for a build that reads or writes ECR (a private base image, the registry cache):
 * the config also keeps what a build needs of the user's own docker config: the buildx plugin
 * and builders, and the logins the user made for other registries (docker/login-action writes
 * them into `auths`, or names a helper in `credHelpers`), which the ECR tokens here override.
 * A `credsStore` is left out: docker would ask it for every registry, ECR's included.
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
    const user = options.keepUserLogins ? userLogins(Object.keys(auths)) : {}
    if (options.keepUserLogins) {
      for (const [name, shared] of userBuildxDirs()) symlinkSync(shared, path.join(dir, name))
    }
    writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({
        auths: { ...user.auths, ...auths },
        ...(user.credHelpers ? { credHelpers: user.credHelpers } : {}),
        ...(engine.currentContext ? { currentContext: engine.currentContext } : {})
      }),
      { mode: 0o600 }
    )
    return await work(dir)
  } finally {
    removeSecretDirectory(dir)
  }
}

/** The user's inline logins and per-registry helpers, except for the registries given here. */
function userLogins(ours: readonly string[]): {
  auths?: Record<string, unknown>
  credHelpers?: Record<string, string>
} {
  const configDir = process.env.DOCKER_CONFIG || path.join(os.homedir(), '.docker')
  let config: { auths?: unknown; credHelpers?: unknown }
  try {
    config = JSON.parse(readFileSync(path.join(configDir, 'config.json'), 'utf8')) as typeof config
  } catch {
    return {}
  }
  const without = <V>(entries: unknown): Record<string, V> | undefined => {
    if (typeof entries !== 'object' || entries === null) return undefined
    const kept = Object.entries(entries as Record<string, V>).filter(
      ([registry]) => !ours.includes(registry)
    )
    return kept.length > 0 ? Object.fromEntries(kept) : undefined
  }
  return { auths: without(config.auths), credHelpers: without<string>(config.credHelpers) }
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
