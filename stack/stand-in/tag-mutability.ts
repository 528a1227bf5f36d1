import { ECR_MESSAGES } from './aws-wording.js'
import { AwsError } from './wire.js'

/**
 * A repository's image tag mutability, as CreateRepository and PutImageTagMutability take it
 * (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImageTagMutability.html,
 * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageTagMutabilityExclusionFilter.html):
 * MUTABLE or IMMUTABLE for every tag, or one of the two *_WITH_EXCLUSION settings, whose
 * wildcard filters name the tags that take the opposite setting.
 */

export const TAG_MUTABILITY_SETTINGS = [
  'MUTABLE',
  'IMMUTABLE',
  'MUTABLE_WITH_EXCLUSION',
  'IMMUTABLE_WITH_EXCLUSION'
] as const
export type TagMutabilitySetting = (typeof TAG_MUTABILITY_SETTINGS)[number]

export interface ExclusionFilter {
  readonly filter: string
  readonly filterType: 'WILDCARD'
}

export interface TagMutability {
  readonly imageTagMutability: TagMutabilitySetting
  /** Empty unless the setting is one of the *_WITH_EXCLUSION ones. */
  readonly imageTagMutabilityExclusionFilters: readonly ExclusionFilter[]
}

export const DEFAULT_TAG_MUTABILITY: TagMutability = {
  imageTagMutability: 'MUTABLE',
  imageTagMutabilityExclusionFilters: []
}

// API_ImageTagMutabilityExclusionFilter: filter pattern and length; API_PutImageTagMutability:
// "Array Members: Minimum number of 1 item. Maximum number of 5 items."
const FILTER_PATTERN = /^[0-9a-zA-Z._*-]{1,128}$/
const MAX_FILTERS = 5

/** The setting a request asks for; an InvalidParameterException for anything ECR would refuse. */
export function parseTagMutability(input: Record<string, unknown>): TagMutability {
  const setting = input.imageTagMutability ?? 'MUTABLE'
  if (!TAG_MUTABILITY_SETTINGS.includes(setting as TagMutabilitySetting)) {
    throw invalid(
      'imageTagMutability',
      `Member must satisfy enum value set: [${TAG_MUTABILITY_SETTINGS.join(', ')}]`
    )
  }
  const raw = input.imageTagMutabilityExclusionFilters ?? []
  if (!Array.isArray(raw)) throw invalid('imageTagMutabilityExclusionFilters', 'must be a list')
  const filters = raw.map((entry: unknown): ExclusionFilter => {
    const { filter, filterType } = (entry ?? {}) as Record<string, unknown>
    if (typeof filter !== 'string' || !FILTER_PATTERN.test(filter)) {
      throw invalid(
        'imageTagMutabilityExclusionFilters.filter',
        'Member must satisfy regular expression pattern: ^[0-9a-zA-Z._*-]{1,128}$'
      )
    }
    if (filterType !== 'WILDCARD') {
      throw invalid(
        'imageTagMutabilityExclusionFilters.filterType',
        'Member must satisfy enum value set: [WILDCARD]'
      )
    }
    return { filter, filterType }
  })
  if (filters.length > MAX_FILTERS) {
    throw invalid(
      'imageTagMutabilityExclusionFilters',
      `Member must have length less than or equal to ${MAX_FILTERS}`
    )
  }
  // The API reference does not say what ECR does with filters on a setting without exclusions,
  // or with an exclusion setting without filters; the stand-in refuses both (the stricter
  // reading), so a test cannot rely on filters that would be ignored.
  const withExclusion = (setting as string).endsWith('_WITH_EXCLUSION')
  if (withExclusion !== filters.length > 0) {
    throw invalid(
      'imageTagMutabilityExclusionFilters',
      withExclusion
        ? `${setting as string} needs at least one exclusion filter`
        : `exclusion filters apply only to MUTABLE_WITH_EXCLUSION or IMMUTABLE_WITH_EXCLUSION`
    )
  }
  return {
    imageTagMutability: setting as TagMutabilitySetting,
    imageTagMutabilityExclusionFilters: filters
  }
}

/** True when an existing `tag` may not be moved or written again. */
export function tagIsImmutable(mutability: TagMutability, tag: string): boolean {
  const excluded = mutability.imageTagMutabilityExclusionFilters.some(({ filter }) =>
    wildcardMatches(filter, tag)
  )
  switch (mutability.imageTagMutability) {
    case 'MUTABLE':
      return false
    case 'IMMUTABLE':
      return true
    case 'MUTABLE_WITH_EXCLUSION':
      return excluded
    case 'IMMUTABLE_WITH_EXCLUSION':
      return !excluded
  }
}

/** A WILDCARD filter: `*` stands for any run of characters, everything else for itself. */
export function wildcardMatches(filter: string, tag: string): boolean {
  const pattern = filter
    .split('*')
    .map(part => part.replace(/[.\\+?^${}()|[\]-]/g, '\\$&'))
    .join('.*')
  return new RegExp(`^${pattern}$`).test(tag)
}

function invalid(name: string, constraint: string): AwsError {
  return new AwsError(
    'InvalidParameterException',
    ECR_MESSAGES.invalidParameter(name, constraint),
    400
  )
}
