import { LAMBDA_ARCHITECTURES, LAMBDA_MESSAGES } from './aws-wording.js'
import type { FunctionSettings, ImageConfig } from './state.js'
import { lambdaError } from './wire.js'

/**
 * Reading Lambda request bodies: each member checked as the service model constrains it, with
 * Lambda's validation errors for what does not fit.
 */

export function updatedSettings(
  settings: FunctionSettings,
  body: Record<string, unknown>
): FunctionSettings {
  const timeout = optionalNumber(body, 'Timeout', 1, 900)
  const memorySize = optionalNumber(body, 'MemorySize', 128, 10240)
  const environment = body.Environment as { Variables?: Record<string, string> } | undefined
  const imageConfig = body.ImageConfig as ImageConfig | undefined
  return {
    ...settings,
    description: optionalString(body, 'Description') ?? settings.description,
    role: optionalString(body, 'Role') ?? settings.role,
    timeout: timeout ?? settings.timeout,
    memorySize: memorySize ?? settings.memorySize,
    environment:
      environment === undefined ? settings.environment : { ...(environment.Variables ?? {}) },
    imageConfig: imageConfig === undefined ? settings.imageConfig : withoutEmpty(imageConfig)
  }
}

/** An empty ImageConfig clears the overrides, so the image's own ENTRYPOINT/CMD/WORKDIR apply. */
function withoutEmpty(config: ImageConfig): ImageConfig | undefined {
  const kept = Object.fromEntries(
    Object.entries(config).filter(([, value]) => value !== undefined && value !== null)
  )
  return Object.keys(kept).length === 0 ? undefined : kept
}

export function optionalArchitectures(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined
  const list = Array.isArray(value) ? value : [value]
  if (list.length !== 1) {
    throw lambdaError(
      'ValidationException',
      LAMBDA_MESSAGES.validation(
        JSON.stringify(list),
        'architectures',
        'Member must have length less than or equal to 1'
      )
    )
  }
  if (!LAMBDA_ARCHITECTURES.includes(list[0] as (typeof LAMBDA_ARCHITECTURES)[number])) {
    throw lambdaError(
      'ValidationException',
      LAMBDA_MESSAGES.validation(
        `[${String(list[0])}]`,
        'architectures',
        `Member must satisfy constraint: [Member must satisfy enum value set: [${LAMBDA_ARCHITECTURES.join(', ')}]]`
      )
    )
  }
  return [list[0] as string]
}

export function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') {
    throw lambdaError('InvalidParameterValueException', `${name} must be a string.`)
  }
  return value
}

export function requiredString(body: Record<string, unknown>, name: string): string {
  const value = optionalString(body, name)
  if (value === undefined || value === '') {
    throw lambdaError(
      'ValidationException',
      LAMBDA_MESSAGES.validation('null', name, 'Member must not be null')
    )
  }
  return value
}

export function optionalNumber(
  body: Record<string, unknown>,
  name: string,
  min: number,
  max: number
): number | undefined {
  const value = body[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || value < min || value > max) {
    throw lambdaError(
      'ValidationException',
      LAMBDA_MESSAGES.validation(
        JSON.stringify(value),
        name,
        `Member must have value between ${min} and ${max}`
      )
    )
  }
  return value
}
