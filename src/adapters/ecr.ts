import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  GetRepositoryPolicyCommand,
  PutImageCommand,
  SetRepositoryPolicyCommand,
  type Repository
} from '@aws-sdk/client-ecr'
import { repositoryLocation, type RepositoryLocation } from '../domain/aws-names.js'
import { ActionError } from '../domain/errors.js'
import {
  DOCKER_MANIFEST_LIST,
  DOCKER_MANIFEST_V2,
  OCI_IMAGE_INDEX,
  OCI_IMAGE_MANIFEST
} from '../domain/lambda-limits.js'
import { MUTABLE_TAGS, tagMutabilityOf, type TagMutability } from '../domain/tag-mutability.js'
import { errorName, explainAwsError } from './aws-errors.js'

/** Amazon ECR, as the steps need it. One instance per region. */
export interface ContainerRegistry {
  findRepository(account: string, name: string): Promise<RepositoryLocation>
  /** The repository's image tag mutability and exclusion filters (DescribeRepositories). */
  tagMutability(repository: RepositoryLocation): Promise<TagMutability>
  /** Basic-auth credentials for docker, valid for 12 hours. */
  authorization(repository: RepositoryLocation): Promise<RegistryCredentials>
  /** The manifest `reference` (a digest, or a tag) names, as ECR stores it. */
  manifest(repository: RepositoryLocation, reference: string): Promise<StoredManifest>
  /** The manifest a tag names, or undefined when the repository has no image with that tag. */
  findTagged(repository: RepositoryLocation, tag: string): Promise<StoredManifest | undefined>
  /** Points `tag` at a manifest the repository holds (PutImage: no layer moves). */
  tagImage(repository: RepositoryLocation, manifest: StoredManifest, tag: string): Promise<void>
  /** The policy text, or undefined when the repository has none. */
  policy(repository: RepositoryLocation): Promise<string | undefined>
  setPolicy(repository: RepositoryLocation, text: string): Promise<void>
  /** Whether the repository exists (DescribeRepositories; RepositoryNotFoundException: no). */
  repositoryExists(repository: RepositoryLocation): Promise<boolean>
  /** CreateRepository with scan on push and the given tag mutability. */
  createRepository(
    repository: RepositoryLocation,
    tagMutability: 'MUTABLE' | 'IMMUTABLE'
  ): Promise<void>
}

/** What a missing repository's error says, wherever it is found missing. */
export function repositoryMissing(name: string, account: string, region: string): ActionError {
  return new ActionError(
    'repository-not-found',
    `There is no ECR repository "${name}" in account ${account}, region ${region}.`,
    `Set create-repository: true to have the action create it (opt-in; scan on push), create it yourself (aws ecr create-repository --repository-name ${name} --region ${region}), or check the repository input.`
  )
}

/** DescribeRepositories' answer for one repository, or MISSING_REPOSITORY when it does not exist. */
type RepositoryDescription =
  { readonly repository: Repository | undefined } | typeof MISSING_REPOSITORY
const MISSING_REPOSITORY = 'missing'

export interface RegistryCredentials {
  readonly username: string
  readonly password: string
}

export interface StoredManifest {
  readonly digest: string
  readonly mediaType: string
  readonly body: string
}

/** Ask for every manifest type so that an index is reported as one, not as "missing". */
const ANY_MANIFEST_TYPE = [
  DOCKER_MANIFEST_V2,
  OCI_IMAGE_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_IMAGE_INDEX
]

export function createContainerRegistry(client: ECRClient): ContainerRegistry {
  // A token is valid for 12 hours and covers the whole registry: the push, the base image and
  // the deployed image's config share one GetAuthorizationToken per account.
  const tokens = new Map<string, Promise<RegistryCredentials>>()
  const fetchToken = async (repository: RepositoryLocation): Promise<RegistryCredentials> => {
    try {
      const answer = await client.send(
        new GetAuthorizationTokenCommand({ registryIds: [repository.account] })
      )
      const token = answer.authorizationData?.[0]?.authorizationToken
      if (!token) {
        throw new ActionError(
          'registry-token-missing',
          `ECR answered GetAuthorizationToken for ${repository.registry} without a token.`,
          'Check that AWS_ENDPOINT_URL_ECR (if set) points at Amazon ECR, and run again.'
        )
      }
      const decoded = Buffer.from(token, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
    } catch (error) {
      throw explainAwsError(error, 'ecr:GetAuthorizationToken', `registry ${repository.registry}`)
    }
  }
  // One DescribeRepositories per repository and run: finding a named repository, checking that it
  // exists (create-repository) and reading its tag mutability all take the same answer. Only this
  // run's CreateRepository changes what the answer would be; a failed call is not remembered.
  const descriptions = new Map<string, Promise<RepositoryDescription>>()
  const describe = (account: string, name: string): Promise<RepositoryDescription> => {
    const key = `${account}/${name}`
    let description = descriptions.get(key)
    if (!description) {
      description = client
        .send(new DescribeRepositoriesCommand({ registryId: account, repositoryNames: [name] }))
        .then(
          answer => ({ repository: answer.repositories?.[0] }),
          (error: unknown) => {
            if (errorName(error) === 'RepositoryNotFoundException') return MISSING_REPOSITORY
            throw error
          }
        )
      description.catch(() => descriptions.delete(key))
      descriptions.set(key, description)
    }
    return description
  }
  return {
    async findRepository(account, name) {
      try {
        const description = await describe(account, name)
        if (description === MISSING_REPOSITORY) {
          throw repositoryMissing(name, account, await client.config.region())
        }
        const found = description.repository
        if (!found?.repositoryUri) {
          throw new ActionError(
            'repository-not-found',
            `ECR answered DescribeRepositories for "${name}" in account ${account} without the repository.`,
            'Check the repository name, or give the full repository URI; if AWS_ENDPOINT_URL_ECR is set, check that it points at Amazon ECR.'
          )
        }
        const region = await client.config.region()
        return repositoryLocation(found.registryId ?? account, region, name)
      } catch (error) {
        if (error instanceof ActionError) throw error
        throw explainAwsError(error, 'ecr:DescribeRepositories', `repository ${name}`)
      }
    },

    async tagMutability(repository) {
      let description: RepositoryDescription
      try {
        description = await describe(repository.account, repository.name)
      } catch (error) {
        throw explainAwsError(error, 'ecr:DescribeRepositories', `repository ${repository.uri}`)
      }
      if (description === MISSING_REPOSITORY) {
        throw repositoryMissing(repository.name, repository.account, repository.region)
      }
      const found = description.repository
      if (!found) return MUTABLE_TAGS
      return tagMutabilityOf(
        found.imageTagMutability,
        (found.imageTagMutabilityExclusionFilters ?? []).flatMap(f => f.filter ?? [])
      )
    },

    async repositoryExists(repository) {
      try {
        return (await describe(repository.account, repository.name)) !== MISSING_REPOSITORY
      } catch (error) {
        throw explainAwsError(error, 'ecr:DescribeRepositories', `repository ${repository.uri}`)
      }
    },

    async createRepository(repository, tagMutability) {
      const key = `${repository.account}/${repository.name}`
      try {
        const answer = await client.send(
          new CreateRepositoryCommand({
            registryId: repository.account,
            repositoryName: repository.name,
            imageTagMutability: tagMutability,
            imageScanningConfiguration: { scanOnPush: true }
          })
        )
        // The repository as created is the description later reads take.
        if (answer.repository) {
          descriptions.set(key, Promise.resolve({ repository: answer.repository }))
        } else descriptions.delete(key)
      } catch (error) {
        // Created meanwhile (another run): it is there, which is all this step wants; its
        // settings are that run's, so they are read again when needed.
        if (errorName(error) === 'RepositoryAlreadyExistsException') {
          descriptions.delete(key)
          return
        }
        throw explainAwsError(error, 'ecr:CreateRepository', `repository ${repository.uri}`)
      }
    },

    authorization(repository) {
      let token = tokens.get(repository.account)
      if (!token) {
        token = fetchToken(repository)
        // A failed call is not remembered: a retry of the step's work may succeed.
        token.catch(() => tokens.delete(repository.account))
        tokens.set(repository.account, token)
      }
      return token
    },

    async manifest(repository, reference) {
      const digest = reference
      try {
        const answer = await client.send(
          new BatchGetImageCommand({
            registryId: repository.account,
            repositoryName: repository.name,
            imageIds: [
              reference.startsWith('sha256:') ? { imageDigest: reference } : { imageTag: reference }
            ],
            acceptedMediaTypes: ANY_MANIFEST_TYPE
          })
        )
        const image = answer.images?.[0]
        if (!image?.imageManifest) {
          const failure = answer.failures?.[0]
          throw new ActionError(
            'pushed-image-missing',
            `ECR does not return the pushed image ${repository.uri}@${digest} (${failure?.failureCode ?? 'no image'}: ${failure?.failureReason ?? ''}).`,
            'Check the push output above; the repository may have a lifecycle rule or tag immutability that removed or refused it.'
          )
        }
        return {
          digest: image.imageId?.imageDigest ?? digest,
          mediaType: image.imageManifestMediaType ?? mediaTypeOf(image.imageManifest),
          body: image.imageManifest
        }
      } catch (error) {
        throw explainAwsError(error, 'ecr:BatchGetImage', `repository ${repository.uri}`)
      }
    },

    async findTagged(repository, tag) {
      try {
        const answer = await client.send(
          new BatchGetImageCommand({
            registryId: repository.account,
            repositoryName: repository.name,
            imageIds: [{ imageTag: tag }],
            acceptedMediaTypes: ANY_MANIFEST_TYPE
          })
        )
        const image = answer.images?.[0]
        if (!image?.imageManifest) return undefined
        return {
          digest: image.imageId?.imageDigest ?? '',
          mediaType: image.imageManifestMediaType ?? mediaTypeOf(image.imageManifest),
          body: image.imageManifest
        }
      } catch (error) {
        throw explainAwsError(error, 'ecr:BatchGetImage', `repository ${repository.uri}`)
      }
    },

    async tagImage(repository, manifest, tag) {
      try {
        await client.send(
          new PutImageCommand({
            registryId: repository.account,
            repositoryName: repository.name,
            imageManifest: manifest.body,
            imageManifestMediaType: manifest.mediaType,
            imageDigest: manifest.digest,
            imageTag: tag
          })
        )
      } catch (error) {
        // The tag names this manifest already: nothing to change.
        if (errorName(error) === 'ImageAlreadyExistsException') return
        if (errorName(error) === 'ImageTagAlreadyExistsException') {
          throw new ActionError(
            'image-tag-immutable',
            `${repository.uri}:${tag} names another image, and the repository's tags are immutable, so it cannot be moved to ${manifest.digest}.`,
            "Use tags that are new on every run (e.g. the commit SHA), add an exclusion filter for the tags that move (IMMUTABLE_WITH_EXCLUSION), or make the repository's tags mutable."
          )
        }
        throw explainAwsError(error, 'ecr:PutImage', `repository ${repository.uri}`)
      }
    },

    async policy(repository) {
      try {
        const answer = await client.send(
          new GetRepositoryPolicyCommand({
            registryId: repository.account,
            repositoryName: repository.name
          })
        )
        return answer.policyText
      } catch (error) {
        if (errorName(error) === 'RepositoryPolicyNotFoundException') return undefined
        throw explainAwsError(error, 'ecr:GetRepositoryPolicy', `repository ${repository.uri}`)
      }
    },

    async setPolicy(repository, text) {
      try {
        await client.send(
          new SetRepositoryPolicyCommand({
            registryId: repository.account,
            repositoryName: repository.name,
            policyText: text
          })
        )
      } catch (error) {
        throw explainAwsError(error, 'ecr:SetRepositoryPolicy', `repository ${repository.uri}`)
      }
    }
  }
}

function mediaTypeOf(manifest: string): string {
  try {
    return (JSON.parse(manifest) as { mediaType?: string }).mediaType ?? ''
  } catch {
    return ''
  }
}
