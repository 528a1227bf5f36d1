import { createHash } from 'node:crypto'
import {
  ECR_FAILURE_CODES,
  ECR_MESSAGES,
  ECR_TOKEN_LIFETIME_MS,
  SINGLE_IMAGE_MEDIA_TYPES
} from './aws-wording.js'
import {
  archiveFields,
  imageStatus,
  pullRefused,
  restoredByPush,
  statusFilterAdmits,
  updateImageStorageClass
} from './ecr-archive.js'
import { lifecycleOperations } from './ecr-lifecycle.js'
import { ecrPolicyLayout, policyTextProblem } from './ecr-policy.js'
import type { FaultPlan } from './faults.js'
import {
  RegistryUnavailableError,
  type ImageRegistry,
  type StoredManifest
} from './registry-client.js'
import type { Caller } from './sigv4.js'
import { recordKey, type RepositoryRecord, type StandInState } from './state.js'
import {
  DEFAULT_TAG_MUTABILITY,
  parseTagMutability,
  tagIsImmutable,
  type TagMutability
} from './tag-mutability.js'
import { registryEndpoint, registryHost, topology, type RegistryEndpoint } from './topology.js'
import { AwsError } from './wire.js'

/**
 * Amazon ECR's control plane (JSON 1.1). Repositories and their policies live in the stand-in;
 * images live only in the real registry, which is read for every image question, so what docker
 * pushed is what ECR reports. Region comes from the signature; the registry (account) is the
 * caller's unless `registryId` names another.
 */

export type EcrInput = Record<string, unknown>

export interface EcrDependencies {
  readonly state: StandInState
  readonly registry: ImageRegistry
  readonly faults: FaultPlan
}

export interface Ecr {
  has(operation: string): boolean
  call(operation: string, input: EcrInput, caller: Caller): Promise<unknown>
}

interface ImageIdentifier {
  imageDigest?: string
  imageTag?: string
}

// https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html#ECR-CreateRepository-request-repositoryName
const REPOSITORY_NAME =
  /^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/

export function createEcr({ state, registry, faults }: EcrDependencies): Ecr {
  const operations: Record<string, (input: EcrInput, caller: Caller) => unknown> = {
    GetAuthorizationToken(input, caller) {
      const registryIds = optionalStrings(input, 'registryIds') ?? [caller.account]
      const password = registryPassword(registry)
      const expiresAt = (Date.now() + ECR_TOKEN_LIFETIME_MS) / 1000
      return {
        authorizationData: registryIds.map(registryId => ({
          authorizationToken: Buffer.from(`AWS:${password}`).toString('base64'),
          expiresAt,
          proxyEndpoint: `https://${registryHost(registryId, caller.region)}`
        }))
      }
    },

    CreateRepository(input, caller) {
      const { account, name } = target(input, caller)
      if (!REPOSITORY_NAME.test(name)) {
        throw invalidParameter('repositoryName', 'must satisfy regular expression pattern')
      }
      const key = recordKey(account, caller.region, name)
      if (state.repositories.has(key)) {
        throw new AwsError(
          'RepositoryAlreadyExistsException',
          ECR_MESSAGES.repositoryExists(name, account),
          400
        )
      }
      const repository: RepositoryRecord = {
        account,
        region: caller.region,
        name,
        createdAt: Math.floor(Date.now() / 1000),
        tagMutability: parseTagMutability(input),
        scanOnPush: scanOnPushOf(input)
      }
      state.repositories.set(key, repository)
      return { repository: repositoryShape(repository) }
    },

    DescribeRepositories(input, caller) {
      const account = optionalString(input, 'registryId') ?? caller.account
      const names = optionalStrings(input, 'repositoryNames')
      if (!names) {
        const all = [...state.repositories.values()]
          .filter(
            repository => repository.account === account && repository.region === caller.region
          )
          .sort((a, b) => a.name.localeCompare(b.name))
        return { repositories: all.map(repositoryShape) }
      }
      return {
        repositories: names.map(name =>
          repositoryShape(findRepository(state, account, caller.region, name))
        )
      }
    },

    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImageTagMutability.html
    PutImageTagMutability(input, caller) {
      const repository = requireRepository(input, caller)
      if (input.imageTagMutability === undefined) {
        throw invalidParameter('imageTagMutability', 'must not be null')
      }
      repository.tagMutability = parseTagMutability(input)
      return {
        registryId: repository.account,
        repositoryName: repository.name,
        ...tagMutabilityShape(repository.tagMutability)
      }
    },

    async DescribeImages(input, caller) {
      const repository = requireRepository(input, caller)
      const endpoint = registryEndpoint(repository.account, repository.region)
      const ids = optionalImageIds(input)
      const tagsByDigest = await tagIndex(registry, endpoint, repository.name)
      if (!ids) {
        const filter = input.filter
        const details = await Promise.all(
          [...tagsByDigest.keys()].map(async digest => {
            // DescribeImagesFilter.imageStatus: ACTIVE only unless asked (ecr-archive.ts).
            if (!statusFilterAdmits(filter, imageStatus(repository, digest))) return undefined
            const manifest = await manifestOf(registry, endpoint, repository.name, digest)
            return manifest ? imageDetail(repository, manifest, tagsByDigest) : undefined
          })
        )
        return { imageDetails: details.filter(detail => detail !== undefined) }
      }
      const details = []
      for (const id of ids) {
        const reference = id.imageDigest ?? id.imageTag
        const manifest = reference
          ? await manifestOf(registry, endpoint, repository.name, reference)
          : undefined
        if (!manifest) {
          throw new AwsError(
            'ImageNotFoundException',
            ECR_MESSAGES.imageNotFound(
              id.imageDigest,
              id.imageTag,
              repository.name,
              repository.account
            ),
            400
          )
        }
        details.push(imageDetail(repository, manifest, tagsByDigest))
      }
      return { imageDetails: details }
    },

    async BatchGetImage(input, caller) {
      const repository = requireRepository(input, caller)
      const endpoint = registryEndpoint(repository.account, repository.region)
      const accepted = optionalStrings(input, 'acceptedMediaTypes')
      const images = []
      const failures = []
      for (const id of optionalImageIds(input) ?? []) {
        const reference = id.imageDigest ?? id.imageTag
        if (!reference) {
          failures.push({
            imageId: id,
            failureCode: ECR_FAILURE_CODES.missingDigestAndTag,
            failureReason: ECR_MESSAGES.missingDigestAndTagFailure
          })
          continue
        }
        const manifest = await manifestOf(registry, endpoint, repository.name, reference)
        // An archived image cannot be pulled (ecr-archive.ts): BatchGetImage is the pull's read.
        if (!manifest || pullRefused(repository, manifest.digest)) {
          failures.push({
            imageId: id,
            failureCode: ECR_FAILURE_CODES.imageNotFound,
            failureReason: ECR_MESSAGES.imageNotFoundFailure
          })
          continue
        }
        if (accepted && !accepted.includes(manifest.mediaType)) {
          failures.push({
            imageId: { ...id, imageDigest: manifest.digest },
            failureCode: ECR_FAILURE_CODES.unsupportedImageType,
            failureReason: ECR_MESSAGES.unsupportedImageTypeFailure
          })
          continue
        }
        images.push({
          registryId: repository.account,
          repositoryName: repository.name,
          imageId: { imageDigest: manifest.digest, imageTag: id.imageTag },
          imageManifest: manifest.body,
          imageManifestMediaType: manifest.mediaType
        })
      }
      return { images, failures }
    },

    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImage.html: a manifest
    // whose layers and config the repository holds, stored under a tag (retagging without a
    // pull: ECR user guide, "Retagging an image"). A tag that names another manifest moves,
    // unless the repository's tag mutability makes it immutable (ImageTagAlreadyExistsException,
    // API reference "Errors": "The specified image is tagged with a tag that already exists. The
    // repository is configured for tag immutability.").
    async PutImage(input, caller) {
      const repository = requireRepository(input, caller)
      const endpoint = registryEndpoint(repository.account, repository.region)
      const body = requiredString(input, 'imageManifest')
      const tag = typeof input.imageTag === 'string' ? input.imageTag : undefined
      const given = typeof input.imageDigest === 'string' ? input.imageDigest : undefined
      const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`
      if (given !== undefined && given !== digest) {
        throw new AwsError(
          'ImageDigestDoesNotMatchException',
          ECR_MESSAGES.imageDigestMismatch(given, digest),
          400
        )
      }
      const mediaType =
        (typeof input.imageManifestMediaType === 'string' && input.imageManifestMediaType) ||
        ((JSON.parse(body) as { mediaType?: string }).mediaType ?? '')
      if (tag !== undefined && endpoint) {
        const current = await manifestOf(registry, endpoint, repository.name, tag)
        if (current?.digest === digest) {
          throw new AwsError(
            'ImageAlreadyExistsException',
            ECR_MESSAGES.imageAlreadyExists(digest, tag, repository.name, repository.account),
            400
          )
        }
        if (current && tagIsImmutable(repository.tagMutability ?? DEFAULT_TAG_MUTABILITY, tag)) {
          throw new AwsError(
            'ImageTagAlreadyExistsException',
            ECR_MESSAGES.tagImmutable(tag, repository.name),
            400
          )
        }
      }
      if (!endpoint) throw new AwsError('ServerException', 'No registry for this region', 500)
      try {
        await registry.storeManifest(endpoint, repository.name, tag ?? digest, mediaType, body)
        restoredByPush(repository, digest)
      } catch (error) {
        if (error instanceof RegistryUnavailableError)
          throw new AwsError('ServerException', error.message, 500)
        throw new AwsError(
          'LayersNotFoundException',
          ECR_MESSAGES.layersNotFound(repository.name),
          400
        )
      }
      return {
        image: {
          registryId: repository.account,
          repositoryName: repository.name,
          imageId: { imageDigest: digest, ...(tag !== undefined ? { imageTag: tag } : {}) },
          imageManifest: body,
          imageManifestMediaType: mediaType
        }
      }
    },

    // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_UpdateImageStorageClass.html
    async UpdateImageStorageClass(input, caller) {
      const repository = requireRepository(input, caller)
      const endpoint = registryEndpoint(repository.account, repository.region)
      const id = (input.imageId ?? {}) as ImageIdentifier
      const reference = id.imageDigest ?? id.imageTag
      const manifest = reference
        ? await manifestOf(registry, endpoint, repository.name, reference)
        : undefined
      if (!manifest) {
        throw new AwsError(
          'ImageNotFoundException',
          ECR_MESSAGES.imageNotFound(
            id.imageDigest,
            id.imageTag,
            repository.name,
            repository.account
          ),
          400
        )
      }
      const answer = updateImageStorageClass(repository, manifest.digest, input.targetStorageClass)
      return {
        registryId: repository.account,
        repositoryName: repository.name,
        imageId: {
          imageDigest: manifest.digest,
          ...(id.imageTag ? { imageTag: id.imageTag } : {})
        },
        imageStatus: answer.imageStatus
      }
    },

    GetRepositoryPolicy(input, caller) {
      const repository = requireRepository(input, caller)
      if (repository.policyText === undefined) {
        throw new AwsError(
          'RepositoryPolicyNotFoundException',
          ECR_MESSAGES.policyNotFound(repository.name, repository.account),
          400
        )
      }
      return policyAnswer(repository)
    },

    SetRepositoryPolicy(input, caller) {
      const repository = requireRepository(input, caller)
      const policyText = requiredString(input, 'policyText')
      const problem = policyTextProblem(policyText)
      if (problem) throw invalidParameter('PolicyText', problem)
      // ECR stores and hands back its own layout, not the text it was given (ecr-policy.ts).
      repository.policyText = ecrPolicyLayout(policyText)
      const answer = policyAnswer(repository)
      // A concurrent writer (another pipeline) replaces the policy right after this write.
      const race = faults.take('ecr', 'SetRepositoryPolicy', ['policy-race'])
      if (race?.policy !== undefined) repository.policyText = race.policy
      return answer
    },

    DeleteRepositoryPolicy(input, caller) {
      const repository = requireRepository(input, caller)
      if (repository.policyText === undefined) {
        throw new AwsError(
          'RepositoryPolicyNotFoundException',
          ECR_MESSAGES.policyNotFound(repository.name, repository.account),
          400
        )
      }
      const answer = policyAnswer(repository)
      repository.policyText = undefined
      return answer
    }
  }

  function requireRepository(input: EcrInput, caller: Caller): RepositoryRecord {
    const { account, name } = target(input, caller)
    return findRepository(state, account, caller.region, name)
  }

  // Lifecycle policies and their preview (ecr-lifecycle.ts).
  for (const [operation, handler] of Object.entries(
    lifecycleOperations({
      repository: requireRepository,
      images: async repository => {
        const endpoint = registryEndpoint(repository.account, repository.region)
        const index = await tagIndex(registry, endpoint, repository.name)
        return [...index.entries()].map(([digest, tags]) => ({
          digest,
          tags,
          archivedAt:
            imageStatus(repository, digest) === 'ACTIVE'
              ? undefined
              : repository.archivedImages?.[digest]?.archivedAt,
          lastPulledAt: repository.imagePulledAt?.[digest]
        }))
      }
    })
  )) {
    operations[operation] = handler
  }

  return {
    has: operation => Object.hasOwn(operations, operation),
    call: async (operation, input, caller) => await operations[operation]!(input, caller)
  }
}

function target(input: EcrInput, caller: Caller): { account: string; name: string } {
  return {
    account: optionalString(input, 'registryId') ?? caller.account,
    name: requiredString(input, 'repositoryName')
  }
}

function findRepository(
  state: StandInState,
  account: string,
  region: string,
  name: string
): RepositoryRecord {
  const repository = state.repositories.get(recordKey(account, region, name))
  if (!repository) {
    throw new AwsError(
      'RepositoryNotFoundException',
      ECR_MESSAGES.repositoryNotFound(name, account),
      400
    )
  }
  return repository
}

export function repositoryShape(repository: RepositoryRecord) {
  return {
    repositoryArn: `arn:${topology.partition}:ecr:${repository.region}:${repository.account}:repository/${repository.name}`,
    registryId: repository.account,
    repositoryName: repository.name,
    repositoryUri: `${registryHost(repository.account, repository.region)}/${repository.name}`,
    createdAt: repository.createdAt,
    ...tagMutabilityShape(repository.tagMutability ?? DEFAULT_TAG_MUTABILITY),
    imageScanningConfiguration: { scanOnPush: repository.scanOnPush ?? false },
    encryptionConfiguration: { encryptionType: 'AES256' }
  }
}

/** CreateRepository's imageScanningConfiguration (ECR API reference, ImageScanningConfiguration:
 * one member, scanOnPush, a boolean; left out, scanning on push is off). */
function scanOnPushOf(input: EcrInput): boolean | undefined {
  const configuration = input.imageScanningConfiguration
  if (configuration === undefined || configuration === null) return undefined
  const scanOnPush = (configuration as { scanOnPush?: unknown }).scanOnPush
  if (
    typeof configuration !== 'object' ||
    (scanOnPush !== undefined && typeof scanOnPush !== 'boolean')
  ) {
    throw invalidParameter(
      'imageScanningConfiguration',
      'must be an object with a boolean scanOnPush'
    )
  }
  return scanOnPush === true
}

/** The filters only where there are some (a MUTABLE repository has none to show). */
function tagMutabilityShape(mutability: TagMutability) {
  const filters = mutability.imageTagMutabilityExclusionFilters
  return {
    imageTagMutability: mutability.imageTagMutability,
    ...(filters.length > 0 ? { imageTagMutabilityExclusionFilters: filters } : {})
  }
}

function policyAnswer(repository: RepositoryRecord) {
  return {
    registryId: repository.account,
    repositoryName: repository.name,
    policyText: repository.policyText
  }
}

function registryPassword(registry: ImageRegistry): string {
  try {
    return registry.password()
  } catch (error) {
    if (error instanceof RegistryUnavailableError)
      throw new AwsError('ServerException', error.message, 500)
    throw error
  }
}

/** A manifest from the registry; a registry that is down is ECR failing, not an image missing. */
async function manifestOf(
  registry: ImageRegistry,
  endpoint: RegistryEndpoint | undefined,
  repository: string,
  reference: string
): Promise<StoredManifest | undefined> {
  if (!endpoint) return undefined
  try {
    return await registry.manifest(endpoint, repository, reference)
  } catch (error) {
    if (error instanceof RegistryUnavailableError)
      throw new AwsError('ServerException', error.message, 500)
    throw error
  }
}

async function tagIndex(
  registry: ImageRegistry,
  endpoint: RegistryEndpoint | undefined,
  repository: string
): Promise<Map<string, string[]>> {
  const index = new Map<string, string[]>()
  if (!endpoint) return index
  try {
    for (const tag of await registry.tags(endpoint, repository)) {
      const digest = await registry.digestOf(endpoint, repository, tag)
      if (digest) index.set(digest, [...(index.get(digest) ?? []), tag])
    }
  } catch (error) {
    if (error instanceof RegistryUnavailableError)
      throw new AwsError('ServerException', error.message, 500)
    throw error
  }
  return index
}

function imageDetail(
  repository: RepositoryRecord,
  manifest: StoredManifest,
  tagsByDigest: Map<string, string[]>
) {
  const parsed = JSON.parse(manifest.body) as {
    config?: { mediaType?: string }
    layers?: { size?: number }[]
  }
  const singleImage = SINGLE_IMAGE_MEDIA_TYPES.includes(manifest.mediaType)
  return {
    registryId: repository.account,
    repositoryName: repository.name,
    imageDigest: manifest.digest,
    imageTags: tagsByDigest.get(manifest.digest) ?? [],
    // ECR reports the compressed size of the layers; an index has no layers of its own.
    imageSizeInBytes: singleImage
      ? (parsed.layers ?? []).reduce((sum, layer) => sum + (layer.size ?? 0), 0)
      : undefined,
    imageManifestMediaType: manifest.mediaType,
    artifactMediaType: singleImage ? parsed.config?.mediaType : undefined,
    // The registry keeps no push time: the first time the stand-in saw the image stands for it
    // (ecr-lifecycle.ts), so DescribeImages and the lifecycle preview agree on it.
    imagePushedAt: ((repository.imagePushedAt ??= {})[manifest.digest] ??= Date.now()) / 1000,
    ...archiveFields(repository, manifest.digest),
    ...(repository.imagePulledAt?.[manifest.digest] !== undefined
      ? { lastRecordedPullTime: repository.imagePulledAt[manifest.digest]! / 1000 }
      : {})
  }
}

function requiredString(input: EcrInput, name: string): string {
  const value = input[name]
  if (typeof value !== 'string' || value === '') throw invalidParameter(name, 'must not be null')
  return value
}

function optionalString(input: EcrInput, name: string): string | undefined {
  const value = input[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw invalidParameter(name, 'must be a string')
  return value
}

function optionalStrings(input: EcrInput, name: string): string[] | undefined {
  const value = input[name]
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value) || value.some(entry => typeof entry !== 'string')) {
    throw invalidParameter(name, 'must be a list of strings')
  }
  return value as string[]
}

function optionalImageIds(input: EcrInput): ImageIdentifier[] | undefined {
  const value = input.imageIds
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value)) throw invalidParameter('imageIds', 'must be a list')
  return value.map(entry => {
    const id = (entry ?? {}) as Record<string, unknown>
    return {
      imageDigest: typeof id.imageDigest === 'string' ? id.imageDigest : undefined,
      imageTag: typeof id.imageTag === 'string' ? id.imageTag : undefined
    }
  })
}

function invalidParameter(name: string, constraint: string): AwsError {
  return new AwsError(
    'InvalidParameterException',
    ECR_MESSAGES.invalidParameter(name, constraint),
    400
  )
}
