import type { AwsServices } from '../adapters/aws-clients.js'
import { parseFunctionReference } from '../domain/aws-names.js'
import { ActionError } from '../domain/errors.js'
import {
  groupFunctionsByImage,
  splitFunctionList,
  type FunctionGroup
} from '../domain/function-groups.js'
import { mapConcurrently } from './concurrency.js'

/**
 * GetFunction for every function of a fleet, few at a time (Lambda's control-plane quota is
 * shared with whatever else the account does), and the groups of functions that run one image.
 */
export const GROUPING_CONCURRENCY = 4

export async function groupFleet(
  functionList: string,
  defaultRegion: string | undefined,
  aws: AwsServices
): Promise<FunctionGroup[]> {
  // Every name is checked before the first call, so a typo fails fast and alone.
  const targets = splitFunctionList(functionList).map(given => {
    const reference = parseFunctionReference(given)
    const region = reference.region ?? defaultRegion
    if (region === undefined || region === '') {
      throw new ActionError(
        'missing-region',
        `No AWS region is known for the function ${given}.`,
        'Pass --region (the workflow passes aws-region), set AWS_REGION, or give the function as a full ARN.'
      )
    }
    return { given, reference, region }
  })
  const described = await mapConcurrently(targets, GROUPING_CONCURRENCY, async target => {
    const fn = await aws.functions(target.region).describe(target.reference.apiName)
    return {
      given: target.given,
      arn: fn.arn,
      name: fn.name,
      packageType: fn.packageType,
      imageUri: fn.imageUri,
      resolvedImageUri: fn.resolvedImageUri,
      codeSha256: fn.codeSha256,
      architecture: fn.architectures[0] ?? 'x86_64'
    }
  })
  return groupFunctionsByImage(described)
}
