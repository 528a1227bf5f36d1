import * as core from '@actions/core'
import type { AwsServices } from '../adapters/aws-clients.js'
import type { ContainerRegistry } from '../adapters/ecr.js'
import type { RepositoryLocation } from '../domain/aws-names.js'
import { isActionError } from '../domain/errors.js'
import {
  configDigestOf,
  decideTagWrites,
  isTagImmutable,
  MUTABLE_TAGS,
  type ImageIdentity,
  type TagDecision,
  type TagMutability,
  type TaggedImage
} from '../domain/tag-mutability.js'

/** Per repository URI: its tag mutability. */
export type TagMutabilities = ReadonlyMap<string, TagMutability>

/**
 * Reads every repository's tag mutability before anything is built or pushed. A principal that
 * may not call DescribeRepositories gets ECR's default (MUTABLE) with a notice: the push then
 * works as before, and an immutable tag is still refused by ECR, only later.
 */
export async function readTagMutabilities(
  repositories: readonly RepositoryLocation[],
  aws: AwsServices
): Promise<TagMutabilities> {
  const found = new Map<string, TagMutability>()
  for (const repository of repositories) {
    try {
      found.set(repository.uri, await aws.registry(repository.region).tagMutability(repository))
    } catch (error) {
      if (!isActionError(error) || error.id !== 'access-denied') throw error
      core.notice(
        `Cannot read the tag mutability of ${repository.uri} (${error.reason}); pushing as to a MUTABLE repository. Allow ecr:DescribeRepositories to let a rerun leave immutable tags that are already in place alone.`
      )
      found.set(repository.uri, MUTABLE_TAGS)
    }
  }
  return found
}

/**
 * What to do with each tag in one repository (see decideTagWrites). Only tags that are
 * immutable are looked up: a MUTABLE repository costs no extra call.
 */
export async function planTagWrites(
  repository: RepositoryLocation,
  mutability: TagMutability,
  image: ImageIdentity,
  tags: readonly string[],
  registry: ContainerRegistry
): Promise<TagDecision[]> {
  const existing = new Map<string, TaggedImage | undefined>()
  for (const tag of tags) {
    if (!isTagImmutable(mutability, tag)) continue
    const manifest = await registry.findTagged(repository, tag)
    existing.set(
      tag,
      manifest && { digest: manifest.digest, configDigest: configDigestOf(manifest.body) }
    )
  }
  const decisions = decideTagWrites(repository.uri, mutability, image, existing, tags)
  for (const decision of decisions) {
    if (decision.action === 'keep') {
      core.info(
        `${repository.uri}:${decision.tag} names this image already (${decision.digest}) and is immutable: left as it is.`
      )
    }
  }
  return decisions
}
