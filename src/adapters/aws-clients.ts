import { ECRClient } from '@aws-sdk/client-ecr'
import { LambdaClient } from '@aws-sdk/client-lambda'
import { createContainerRegistry, type ContainerRegistry } from './ecr.js'
import { createFunctionService, type FunctionService } from './lambda.js'

/**
 * The one place SDK clients are made. Endpoints, credentials and retries come from the SDK's
 * standard settings (AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_LAMBDA, AWS_MAX_ATTEMPTS, ...), so the
 * action has no test-only paths.
 */
export interface AwsServices {
  registry(region: string): ContainerRegistry
  functions(region: string): FunctionService
}

const USER_AGENT: [string, string][] = [['lambda-image-deploy', '0.1.0']]

export function createAwsServices(): AwsServices {
  const registries = new Map<string, ContainerRegistry>()
  const functions = new Map<string, FunctionService>()
  const clientSettings = (region: string) => ({
    region,
    customUserAgent: USER_AGENT,
    retryMode: 'adaptive' as const
  })
  return {
    registry(region) {
      let registry = registries.get(region)
      if (!registry) {
        registry = createContainerRegistry(new ECRClient(clientSettings(region)))
        registries.set(region, registry)
      }
      return registry
    },
    functions(region) {
      let service = functions.get(region)
      if (!service) {
        service = createFunctionService(new LambdaClient(clientSettings(region)))
        functions.set(region, service)
      }
      return service
    }
  }
}
