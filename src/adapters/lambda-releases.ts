import {
  CreateAliasCommand,
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdatedV2
} from '@aws-sdk/client-lambda'
import { ActionError } from '../domain/errors.js'
import type { CurrentAlias, CurrentSettings, SettingsChange } from '../domain/function-changes.js'
import { PUBLISH_TO_LATEST_PUBLISHED, type VersionState } from '../domain/function-kinds.js'
import { errorName, explainAwsError } from './aws-errors.js'

export interface FunctionSettings extends CurrentSettings {
  readonly revisionId: string
}

/**
 * What happens to a function after its code is updated: its runtime settings, versions and
 * aliases. Every write carries the RevisionId it was based on, so a concurrent change by
 * someone else makes it fail instead of being overwritten.
 */
export interface ReleaseService {
  settings(functionName: string): Promise<FunctionSettings>
  updateSettings(functionName: string, change: SettingsChange, revisionId: string): Promise<void>
  /** Waits for a settings update to finish; the code update has its own waiter (lambda.ts). */
  waitForSettings(functionName: string, timeoutSeconds: number): Promise<void>
  publish(
    functionName: string,
    codeSha256: string,
    description: string,
    revisionId: string
  ): Promise<string>
  /**
   * PublishVersion with PublishTo LATEST_PUBLISHED (Lambda Managed Instances): creates or
   * replaces $LATEST.PUBLISHED, the version unqualified invokes run. Answers the Version named.
   */
  publishLatest(
    functionName: string,
    codeSha256: string,
    description: string,
    revisionId: string
  ): Promise<string>
  /** A version's State (GetFunctionConfiguration with Qualifier); undefined when there is none. */
  versionState(functionName: string, version: string): Promise<VersionState | undefined>
  alias(functionName: string, name: string): Promise<CurrentAlias | undefined>
  createAlias(
    functionName: string,
    name: string,
    version: string,
    weights: Readonly<Record<string, number>>
  ): Promise<void>
  /**
   * Points the alias at a version, with weights to one other version (empty: none). Without a
   * revisionId the write is unconditional (a rollback must not lose to a concurrent change).
   * Answers the alias's new RevisionId.
   */
  updateAlias(
    functionName: string,
    name: string,
    version: string,
    weights: Readonly<Record<string, number>>,
    revisionId: string | undefined
  ): Promise<string>
  /** UpdateFunctionCode with DryRun: proves permission and state without changing anything. */
  dryRunCodeUpdate(functionName: string, imageUri: string): Promise<void>
}

export function createReleaseService(client: LambdaClient): ReleaseService {
  const explain = (error: unknown, operation: string, functionName: string) => {
    if (errorName(error) === 'PreconditionFailedException') {
      return new ActionError(
        'concurrent-change',
        `${functionName} changed while this step was working on it (lambda:${operation} was refused: its RevisionId no longer matches).`,
        'Someone or something else updated the function or alias at the same time. Check who, then run the step again; nothing was overwritten.'
      )
    }
    return explainAwsError(error, `lambda:${operation}`, `function ${functionName}`)
  }
  return {
    async settings(functionName) {
      try {
        const answer = await client.send(
          new GetFunctionConfigurationCommand({ FunctionName: functionName })
        )
        const imageConfig = answer.ImageConfigResponse?.ImageConfig
        return {
          entryPoint: imageConfig?.EntryPoint,
          command: imageConfig?.Command,
          workingDirectory: imageConfig?.WorkingDirectory,
          environment: answer.Environment?.Variables ?? {},
          revisionId: answer.RevisionId ?? ''
        }
      } catch (error) {
        throw explain(error, 'GetFunctionConfiguration', functionName)
      }
    },

    async updateSettings(functionName, change, revisionId) {
      try {
        await client.send(
          new UpdateFunctionConfigurationCommand({
            FunctionName: functionName,
            RevisionId: revisionId,
            ImageConfig: change.imageConfig
              ? {
                  EntryPoint: change.imageConfig.entryPoint && [...change.imageConfig.entryPoint],
                  Command: change.imageConfig.command && [...change.imageConfig.command],
                  WorkingDirectory: change.imageConfig.workingDirectory
                }
              : undefined,
            Environment: change.environment ? { Variables: { ...change.environment } } : undefined
          })
        )
      } catch (error) {
        throw explain(error, 'UpdateFunctionConfiguration', functionName)
      }
    },

    async waitForSettings(functionName, timeoutSeconds) {
      const result = await waitUntilFunctionUpdatedV2(
        // Poll every second, as the AWS CLI does: success is noticed within a second.
        { client, maxWaitTime: timeoutSeconds, minDelay: 1, maxDelay: 1 },
        { FunctionName: functionName }
      ).catch((error: unknown) => ({ state: 'FAILURE', reason: error }))
      if (result.state !== 'SUCCESS') {
        let current
        try {
          current = await client.send(
            new GetFunctionConfigurationCommand({ FunctionName: functionName })
          )
        } catch (error) {
          throw explain(error, 'GetFunctionConfiguration', functionName)
        }
        if (current.LastUpdateStatus === 'InProgress') {
          throw new ActionError(
            'configuration-update-timeout',
            `The configuration update of ${functionName} was still InProgress after ${timeoutSeconds} s.`,
            'Raise wait-timeout, or check the function in the Lambda console; the new code is deployed.'
          )
        }
        throw new ActionError(
          'configuration-update-failed',
          `The configuration update of ${functionName} ended ${current.LastUpdateStatus ?? 'unknown'}: ${current.LastUpdateStatusReason || 'no reason given'}.`,
          'Fix the setting named above in function-config and run again; the new code is deployed, the settings are as before.'
        )
      }
    },

    async publish(functionName, codeSha256, description, revisionId) {
      try {
        const answer = await client.send(
          new PublishVersionCommand({
            FunctionName: functionName,
            CodeSha256: codeSha256,
            Description: description,
            RevisionId: revisionId
          })
        )
        return answer.Version ?? ''
      } catch (error) {
        throw explain(error, 'PublishVersion', functionName)
      }
    },

    async publishLatest(functionName, codeSha256, description, revisionId) {
      try {
        const answer = await client.send(
          new PublishVersionCommand({
            FunctionName: functionName,
            CodeSha256: codeSha256,
            Description: description,
            RevisionId: revisionId,
            PublishTo: PUBLISH_TO_LATEST_PUBLISHED
          })
        )
        return answer.Version ?? ''
      } catch (error) {
        throw explain(error, 'PublishVersion', functionName)
      }
    },

    async versionState(functionName, version) {
      try {
        const answer = await client.send(
          new GetFunctionConfigurationCommand({ FunctionName: functionName, Qualifier: version })
        )
        return {
          version: answer.Version ?? version,
          state: answer.State ?? '',
          stateReason: answer.StateReason ?? '',
          stateReasonCode: answer.StateReasonCode ?? '',
          codeSha256: answer.CodeSha256 ?? ''
        }
      } catch (error) {
        if (errorName(error) === 'ResourceNotFoundException') return undefined
        throw explain(error, 'GetFunctionConfiguration', functionName)
      }
    },

    async alias(functionName, name) {
      try {
        const answer = await client.send(
          new GetAliasCommand({ FunctionName: functionName, Name: name })
        )
        return {
          functionVersion: answer.FunctionVersion ?? '',
          weights: answer.RoutingConfig?.AdditionalVersionWeights ?? {},
          revisionId: answer.RevisionId ?? ''
        }
      } catch (error) {
        if (errorName(error) === 'ResourceNotFoundException') return undefined
        throw explain(error, 'GetAlias', functionName)
      }
    },

    async createAlias(functionName, name, version, weights) {
      try {
        await client.send(
          new CreateAliasCommand({
            FunctionName: functionName,
            Name: name,
            FunctionVersion: version,
            RoutingConfig:
              Object.keys(weights).length > 0
                ? { AdditionalVersionWeights: { ...weights } }
                : undefined
          })
        )
      } catch (error) {
        throw explain(error, 'CreateAlias', functionName)
      }
    },

    async updateAlias(functionName, name, version, weights, revisionId) {
      try {
        const answer = await client.send(
          new UpdateAliasCommand({
            FunctionName: functionName,
            Name: name,
            FunctionVersion: version,
            // An empty map clears a previous canary split.
            RoutingConfig: { AdditionalVersionWeights: { ...weights } },
            RevisionId: revisionId
          })
        )
        return answer.RevisionId ?? ''
      } catch (error) {
        throw explain(error, 'UpdateAlias', functionName)
      }
    },

    async dryRunCodeUpdate(functionName, imageUri) {
      try {
        await client.send(
          new UpdateFunctionCodeCommand({
            FunctionName: functionName,
            ImageUri: imageUri,
            DryRun: true
          })
        )
      } catch (error) {
        throw explain(error, 'UpdateFunctionCode', functionName)
      }
    }
  }
}
