import { GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr'
import topology from '../../stack/topology.json' with { type: 'json' }
import type { Sandbox } from './harness.js'

/**
 * What the two registry-gate suites share: aws/registry-gate.test.ts (the gate's answers to reads
 * of an image already in the registry) and engine/registry-gate.test.ts (what docker push sends
 * through it). Both put a gate of their own in front of the registry of one account and region,
 * and give its IAM user a policy of the registry actions a test allows.
 */

export const ACCOUNT = '222222222222'
export const REGION = 'eu-west-1'
export const REGISTRY = topology.ecrRegistries.find(
  r => r.account === ACCOUNT && r.region === REGION
)!
/** The principal the stand-in's credentials of ACCOUNT are. */
export const USER = `arn:aws:iam::${ACCOUNT}:user/stand-in`
export const repositoryArn = (name: string) => `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${name}`

/** docker reads a refused layer check (HEAD, no body) as "layer absent" and uploads it. */
export const LAYER_CHECK = 'ecr:BatchCheckLayerAvailability'
/** The registry actions of a docker push. */
export const PUSH = [
  'ecr:BatchCheckLayerAvailability',
  'ecr:InitiateLayerUpload',
  'ecr:UploadLayerPart',
  'ecr:CompleteLayerUpload',
  'ecr:PutImage'
]

/** An identity policy that allows the registry login, and `actions` on `resource`. */
export function allowOn(resource: string, ...actions: string[]) {
  return {
    Gate: {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
        { Effect: 'Allow', Action: actions, Resource: resource }
      ]
    }
  }
}

/** The registry password GetAuthorizationToken hands USER (the stand-in's token of its own). */
export async function userToken(sandbox: Sandbox): Promise<string> {
  const answer = await sandbox
    .clients(ACCOUNT, REGION)
    .ecr.send(new GetAuthorizationTokenCommand({}))
  return Buffer.from(answer.authorizationData![0]!.authorizationToken!, 'base64')
    .toString()
    .slice('AWS:'.length)
}
