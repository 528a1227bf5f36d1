import {
  LambdaClient,
  ListAliasesCommand,
  ListVersionsByFunctionCommand
} from '@aws-sdk/client-lambda'
import { explainAwsError } from './aws-errors.js'

/** A published version of a function and the image it runs (versions are immutable). */
export interface PublishedVersion {
  readonly version: string
  /** The manifest digest's hex, without "sha256:". */
  readonly codeSha256: string
  /** The aliases that point at this version (routing weights included). */
  readonly aliases: readonly string[]
}

/** The images a function's published versions and aliases keep running. Reads only. */
export interface VersionReader {
  publishedVersions(functionName: string): Promise<PublishedVersion[]>
}

export function createVersionReader(client: LambdaClient): VersionReader {
  return {
    async publishedVersions(functionName) {
      const versions: { version: string; codeSha256: string }[] = []
      const aliases = new Map<string, string[]>()
      try {
        let marker: string | undefined
        do {
          const page = await client.send(
            new ListVersionsByFunctionCommand({ FunctionName: functionName, Marker: marker })
          )
          for (const configuration of page.Versions ?? []) {
            // $LATEST is the function itself, which this run deploys.
            if (!configuration.Version || configuration.Version === '$LATEST') continue
            versions.push({
              version: configuration.Version,
              codeSha256: configuration.CodeSha256 ?? ''
            })
          }
          marker = page.NextMarker
        } while (marker)
      } catch (error) {
        throw explainAwsError(error, 'lambda:ListVersionsByFunction', `function ${functionName}`)
      }
      try {
        let marker: string | undefined
        do {
          const page = await client.send(
            new ListAliasesCommand({ FunctionName: functionName, Marker: marker })
          )
          for (const alias of page.Aliases ?? []) {
            if (!alias.Name) continue
            const pointed = [
              alias.FunctionVersion ?? '',
              ...Object.keys(alias.RoutingConfig?.AdditionalVersionWeights ?? {})
            ]
            for (const version of pointed) {
              aliases.set(version, [...(aliases.get(version) ?? []), alias.Name])
            }
          }
          marker = page.NextMarker
        } while (marker)
      } catch (error) {
        throw explainAwsError(error, 'lambda:ListAliases', `function ${functionName}`)
      }
      return versions.map(version => ({ ...version, aliases: aliases.get(version.version) ?? [] }))
    }
  }
}
