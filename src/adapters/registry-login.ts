import * as core from '@actions/core'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import type { RegistryCredentials } from './ecr.js'
import { makeSecretDirectory, removeSecretDirectory } from './temporary-files.js'

/**
 * Runs `work` with a DOCKER_CONFIG directory that holds only this registry's credentials.
 * The config is written directly (no `docker login`), so the token never reaches a command line,
 * a credential helper or ~/.docker, and the directory is gone afterwards in every outcome.
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
    writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({ auths: { [registry]: { auth } } }),
      {
        mode: 0o600
      }
    )
    return await work(dir)
  } finally {
    removeSecretDirectory(dir)
  }
}
