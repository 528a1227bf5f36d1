import { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import { ECRClient } from '@aws-sdk/client-ecr'
import { LambdaClient } from '@aws-sdk/client-lambda'
import { STSClient } from '@aws-sdk/client-sts'
import { topology } from './topology.js'

/**
 * Real SDK clients pointed at a stand-in, signed with an account's keys from topology.json.
 * One attempt by default, so that throttling and server errors reach the test instead of being
 * retried away.
 */

export interface StandInClients {
  readonly ecr: ECRClient
  readonly lambda: LambdaClient
  readonly sts: STSClient
  readonly cloudwatch: CloudWatchClient
}

export interface ClientOptions {
  readonly region?: string
  readonly maxAttempts?: number
  /** Sign with this secret instead of the account's own (to provoke a signature mismatch). */
  readonly secretAccessKey?: string
  readonly accessKeyId?: string
  /** Sign with these credentials instead (e.g. an AssumeRole session's, with its token). */
  readonly credentials?: {
    readonly accessKeyId: string
    readonly secretAccessKey: string
    readonly sessionToken?: string
  }
}

export function credentialsOf(account: string): { accessKeyId: string; secretAccessKey: string } {
  const found = topology.accounts.find(candidate => candidate.id === account)
  if (!found) throw new Error(`No account ${account} in stack/topology.json`)
  return { accessKeyId: found.accessKeyId, secretAccessKey: found.secretAccessKey }
}

export function clientsFor(
  url: string,
  account: string,
  options: ClientOptions = {}
): StandInClients {
  const own = credentialsOf(account)
  const settings = {
    region: options.region ?? topology.regions[0]!,
    endpoint: url,
    maxAttempts: options.maxAttempts ?? 1,
    credentials: options.credentials ?? {
      accessKeyId: options.accessKeyId ?? own.accessKeyId,
      secretAccessKey: options.secretAccessKey ?? own.secretAccessKey
    }
  }
  return {
    ecr: new ECRClient(settings),
    lambda: new LambdaClient(settings),
    sts: new STSClient(settings),
    cloudwatch: new CloudWatchClient(settings)
  }
}
