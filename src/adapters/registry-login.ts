import * as core from '@actions/core'
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { RegistryCredentials } from './ecr.js'
import { makeSecretDirectory, removeSecretDirectory } from './temporary-files.js'

/**
 * Runs `work` with a DOCKER_CONFIG directory that holds only this registry's credentials.
 * The config is written directly (no `docker login`), so the token never reaches a command line,
 * a credential helper or ~/.docker, and the directory is gone afterwards in every outcome.
 * It keeps the user's docker context (`docker context use`, colima, rootless engines), so that
 * docker talks to the engine the image was built in.
 */
export async function withRegistryLogin<T>(
  registry: string,
  credentials: RegistryCredentials,
  work: (dockerConfigDir: string) => Promise<T>
): Promise<T> {
  const auth = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')
  core.setSecret(credentials.password)
  core.setSecret(auth)
  const dir = makeSecretDirectory('docker-config')
  try {
    const engine = userDockerContext()
    if (engine.contextsDir) symlinkSync(engine.contextsDir, path.join(dir, 'contexts'))
    writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({
        auths: { [registry]: { auth } },
        ...(engine.currentContext ? { currentContext: engine.currentContext } : {})
      }),
      { mode: 0o600 }
    )
    return await work(dir)
  } finally {
    removeSecretDirectory(dir)
  }
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
