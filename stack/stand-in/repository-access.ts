import { LAMBDA_PULL_ACTIONS, LAMBDA_SERVICE_PRINCIPAL } from './aws-wording.js'
import { evaluatePolicy } from './iam-policy.js'

export {
  conditionsHold,
  evaluatePolicy,
  globMatches,
  principalMatches,
  statementsOf,
  type AccessRequest,
  type Decision,
  type Principal
} from './iam-policy.js'

/**
 * Whether Lambda may pull an image from a repository, decided from the repository policy the
 * way IAM evaluates a resource policy (explicit Deny wins, then any Allow, else no). Pure.
 *
 * In every account the repository policy must allow the service principal
 * `lambda.amazonaws.com` ecr:BatchGetImage and ecr:GetDownloadUrlForLayer (Knowledge Center
 * "lambda-ecr-image", step 1 for the same account). From another account it must also allow that
 * account (`arn:aws:iam::ACCOUNT:root` or `ACCOUNT`), and the service grant is normally limited by
 * `aws:sourceArn` (Lambda "Amazon ECR permissions", cross-account section). The deploying
 * principal's own identity policy is checked where requests are authorized (server.ts).
 *
 * Stricter than AWS on one point: when the caller of CreateFunction/UpdateFunctionCode in the
 * repository's own account may call ecr:SetRepositoryPolicy, Lambda adds the service grant itself
 * (Lambda "Amazon ECR permissions"); the stand-in never does (stack/README.md).
 */

export interface LambdaPull {
  readonly functionArn: string
  readonly functionAccount: string
  readonly repositoryAccount: string
  readonly policyText: string | undefined
}

export function lambdaMayPull(pull: LambdaPull): boolean {
  return LAMBDA_PULL_ACTIONS.every(
    action =>
      (pull.functionAccount === pull.repositoryAccount ||
        evaluatePolicy(pull.policyText, {
          principal: { kind: 'account', account: pull.functionAccount },
          action,
          context: { 'aws:PrincipalAccount': pull.functionAccount }
        }) === 'allow') &&
      evaluatePolicy(pull.policyText, {
        principal: { kind: 'service', service: LAMBDA_SERVICE_PRINCIPAL },
        action,
        context: { 'aws:SourceArn': pull.functionArn, 'aws:SourceAccount': pull.functionAccount }
      }) === 'allow'
  )
}
