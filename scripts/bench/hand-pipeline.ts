import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { credentialsFor } from '../../stack/run-action.js'
import { runCommand, type CommandResult } from './host-tools.js'

/**
 * The baseline: the deploy that users script by hand with Debian's awscli and plain docker, as
 * in the Lambda developer guide: log in, build, push, update-function-code by tag, wait.
 * awscli 2.9 predates the AWS_ENDPOINT_URL_<SERVICE> variables (2.13), so every call carries
 * --endpoint-url. Docker credentials go into a temporary DOCKER_CONFIG, removed afterwards.
 */

export const AWS_CLI = '/usr/bin/aws'

export interface HandPipeline {
  readonly endpoint: string
  readonly account: string
  readonly region: string
  readonly registryHost: string
  readonly image: string
  readonly context: string
  readonly functions: readonly string[]
  /** Extra `docker build` arguments (cache, --pull --no-cache). */
  readonly buildArgs?: readonly string[]
  /** An engine other than the stack's (a fresh runner's). */
  readonly dockerHost?: string
}

export interface HandRun extends CommandResult {
  /** Date.now() when the last `aws lambda wait` returned. */
  readonly waitedAt?: number
}

const SCRIPT = `set -euo pipefail
aws() { "$AWS_CLI" --region "$REGION" --endpoint-url "$ENDPOINT" "$@"; }
aws ecr get-login-password | docker login --username AWS --password-stdin "$REGISTRY_HOST"
started=$(date +%s%3N)
# shellcheck disable=SC2086 # BUILD_ARGS is a list of words
docker build --platform linux/amd64 --provenance=false $BUILD_ARGS -t "$IMAGE" "$CONTEXT"
echo "BUILD_MS=$(($(date +%s%3N) - started))"
docker push "$IMAGE"
for fn in $FUNCTIONS; do
  aws lambda update-function-code --function-name "$fn" --image-uri "$IMAGE" > /dev/null
  aws lambda wait function-updated-v2 --function-name "$fn"
  echo "WAITED_AT=$(date +%s%3N)"
done
`

export async function runHandPipeline(pipeline: HandPipeline): Promise<HandRun> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'bench-hand-'))
  const credentials = credentialsFor(pipeline.account)
  try {
    const result = await runCommand('bash', ['-c', SCRIPT], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: work,
        DOCKER_CONFIG: path.join(work, 'docker'),
        AWS_CLI,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_PAGER: '',
        AWS_EC2_METADATA_DISABLED: 'true',
        REGION: pipeline.region,
        ENDPOINT: pipeline.endpoint,
        REGISTRY_HOST: pipeline.registryHost,
        IMAGE: pipeline.image,
        CONTEXT: pipeline.context,
        FUNCTIONS: pipeline.functions.join(' '),
        BUILD_ARGS: (pipeline.buildArgs ?? []).join(' '),
        ...(pipeline.dockerHost ? { DOCKER_HOST: pipeline.dockerHost } : {})
      }
    })
    const waited = [...result.stdout.matchAll(/WAITED_AT=(\d+)/g)].map(match => Number(match[1]))
    return { ...result, waitedAt: waited.at(-1) }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

/** `docker login` into a fresh DOCKER_CONFIG with awscli, as amazon-ecr-login does for a job. */
export async function loginDockerConfig(options: {
  endpoint: string
  account: string
  region: string
  registryHost: string
}): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-docker-config-'))
  const credentials = credentialsFor(options.account)
  const password = await runCommand(
    AWS_CLI,
    ['--region', options.region, '--endpoint-url', options.endpoint, 'ecr', 'get-login-password'],
    {
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_EC2_METADATA_DISABLED: 'true'
      }
    }
  )
  if (password.exitCode !== 0) throw new Error(`get-login-password failed: ${password.stderr}`)
  const login = await runCommand(
    'docker',
    ['login', '--username', 'AWS', '--password-stdin', options.registryHost],
    { env: { ...process.env, DOCKER_CONFIG: dir }, input: password.stdout.trim() }
  )
  if (login.exitCode !== 0) throw new Error(`docker login failed: ${login.stderr}`)
  return dir
}
