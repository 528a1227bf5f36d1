import * as core from '@actions/core'
import type { AwsServices } from '../adapters/aws-clients.js'
import { repositoryLocation, type RepositoryLocation } from '../domain/aws-names.js'
import type { RepositoryCreation } from '../domain/create-missing.js'
import { isActionError } from '../domain/errors.js'

/** A repository create-repository made (or, in a dry run, would make). */
export interface RepositoryCreationOutcome {
  readonly repository: string
  readonly status: 'created' | 'would-create'
  readonly tagMutability: RepositoryCreation['tagMutability']
}

/**
 * A repository given by name, in the caller's account: DescribeRepositories finds it; when it is
 * missing and create-repository is set, its location is known all the same (ensureRepositories
 * creates it). Without the opt-in the not-found error stands, naming the opt-in.
 */
export async function locateRepository(
  aws: AwsServices,
  region: string,
  account: string,
  name: string,
  creation: RepositoryCreation | undefined
): Promise<RepositoryLocation> {
  try {
    return await aws.registry(region).findRepository(account, name)
  } catch (error) {
    if (!creation || !isActionError(error) || error.id !== 'repository-not-found') throw error
    return repositoryLocation(account, region, name)
  }
}

/**
 * Creates the run's missing repositories, when create-repository is set: only those in the
 * workflow's own account (another account's repository is that account's to create). Runs before
 * the build, because every check before the push (tag mutability, an image of the same inputs,
 * the policy grant) reads the repository; a build that then fails leaves an empty repository,
 * which the next run uses. In a dry run nothing is created.
 */
export async function ensureRepositories(
  repositories: readonly RepositoryLocation[],
  creation: RepositoryCreation | undefined,
  aws: AwsServices,
  dryRun: boolean
): Promise<RepositoryCreationOutcome[]> {
  if (!creation) return []
  const own = await aws.callerAccount()
  const outcomes: RepositoryCreationOutcome[] = []
  for (const repository of repositories) {
    if (repository.account !== own) continue
    const registry = aws.registry(repository.region)
    if (await registry.repositoryExists(repository)) continue
    if (dryRun) {
      core.info(`Would create the repository ${repository.uri} (create-repository).`)
      outcomes.push({
        repository: repository.uri,
        status: 'would-create',
        tagMutability: creation.tagMutability
      })
      continue
    }
    await registry.createRepository(repository, creation.tagMutability)
    core.notice(
      `Created the ECR repository ${repository.uri} (scan on push, ${creation.tagMutability} tags), as create-repository asks.`
    )
    outcomes.push({
      repository: repository.uri,
      status: 'created',
      tagMutability: creation.tagMutability
    })
  }
  return outcomes
}
