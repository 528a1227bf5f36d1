import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types'
import { ActionError } from '../domain/errors.js'
import { explainAwsError } from './aws-errors.js'

/**
 * Credentials for another account's functions: the workflow's own credentials assume a role in
 * that account (the usual cross-account deploy set-up). Refreshed before they expire.
 */
export function assumedRoleCredentials(
  sts: STSClient,
  roleArn: string,
  sessionName: string
): AwsCredentialIdentityProvider {
  let current: AwsCredentialIdentity | undefined
  // Clients that ask at the same time share one AssumeRole call.
  let pending: Promise<AwsCredentialIdentity> | undefined
  return async () => {
    const expiresSoon =
      current?.expiration !== undefined && current.expiration.getTime() - Date.now() < 5 * 60_000
    if (current && !expiresSoon) return current
    pending ??= assume().finally(() => {
      pending = undefined
    })
    return await pending
  }

  async function assume(): Promise<AwsCredentialIdentity> {
    try {
      const answer = await sts.send(
        new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName })
      )
      const credentials = answer.Credentials
      if (!credentials?.AccessKeyId || !credentials.SecretAccessKey) {
        throw new Error('AssumeRole returned no credentials')
      }
      current = {
        accessKeyId: credentials.AccessKeyId,
        secretAccessKey: credentials.SecretAccessKey,
        sessionToken: credentials.SessionToken,
        expiration: credentials.Expiration
      }
      return current
    } catch (error) {
      const explained = explainAwsError(error, 'sts:AssumeRole', `role ${roleArn}`)
      if (explained instanceof ActionError) {
        throw new ActionError(
          'cross-account-role-refused',
          explained.reason,
          `Let the workflow's role assume ${roleArn} (its trust policy must name the workflow's role), or fix cross-account-role.`
        )
      }
      throw explained
    }
  }
}

export async function callerAccount(sts: STSClient): Promise<string> {
  try {
    const answer = await sts.send(new GetCallerIdentityCommand({}))
    return answer.Account ?? ''
  } catch (error) {
    throw explainAwsError(error, 'sts:GetCallerIdentity', 'the workflow credentials')
  }
}
