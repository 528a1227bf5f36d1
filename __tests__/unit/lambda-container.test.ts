import { describe, expect, it } from '@jest/globals'
import {
  lambdaContainerArguments,
  type LambdaContainerSpec
} from '../../src/domain/lambda-container.js'

const spec: LambdaContainerSpec = {
  image: 'sha256:abc',
  facts: {
    os: 'linux',
    architecture: 'arm64',
    variant: 'v8',
    entrypoint: ['/lambda-entrypoint.sh'],
    cmd: ['index.handler'],
    env: ['PATH=/usr/bin', 'LAMBDA_TASK_ROOT=/srv/task'],
    workingDir: '/srv/task'
  },
  function: {
    name: 'orders',
    arn: 'arn:aws:lambda:eu-west-1:111111111111:function:orders',
    region: 'eu-west-1',
    memoryMb: 512,
    timeoutSeconds: 30
  },
  runtimeApi: '172.18.0.1:40000',
  network: 'lambda-smoke-1',
  now: new Date('2026-03-04T05:06:07Z'),
  streamId: '0123456789abcdef0123456789abcdef'
}

/** The values of every `--env NAME=VALUE` pair. */
function environment(args: readonly string[]): Record<string, string> {
  const found: Record<string, string> = {}
  args.forEach((arg, index) => {
    if (arg !== '--env') return
    const pair = args[index + 1] ?? ''
    found[pair.slice(0, pair.indexOf('='))] = pair.slice(pair.indexOf('=') + 1)
  })
  return found
}

describe('lambdaContainerArguments', () => {
  it('runs the image read-only, as uid 993:990 without capabilities, with a 512 MB /tmp', () => {
    const args = lambdaContainerArguments(spec)
    expect(args.slice(0, 11)).toEqual([
      '--pull=never',
      '--platform=linux/arm64/v8',
      '--network=lambda-smoke-1',
      '--read-only',
      '--tmpfs=/tmp:rw,exec,nosuid,nodev,size=512m,mode=1777',
      '--user=993:990',
      '--cap-drop=ALL',
      '--security-opt=no-new-privileges',
      '--memory=512m',
      '--memory-swap=512m',
      '--ulimit=nofile=1024:1024'
    ])
  })

  it('publishes no port', () => {
    const args = lambdaContainerArguments(spec)
    expect(args.some(arg => /^(-p|--publish)/.test(arg))).toBe(false)
  })

  it('sizes /tmp after the function ephemeral storage', () => {
    const args = lambdaContainerArguments({
      ...spec,
      function: { ...spec.function, ephemeralStorageMb: 2048 }
    })
    expect(args).toContain('--tmpfs=/tmp:rw,exec,nosuid,nodev,size=2048m,mode=1777')
  })

  it('sets the variables Lambda defines, the task root from the image', () => {
    expect(environment(lambdaContainerArguments(spec))).toEqual({
      AWS_LAMBDA_FUNCTION_NAME: 'orders',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/orders',
      AWS_LAMBDA_LOG_STREAM_NAME: '2026/03/04/[$LATEST]0123456789abcdef0123456789abcdef',
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      LAMBDA_TASK_ROOT: '/srv/task',
      LAMBDA_RUNTIME_DIR: '/var/runtime',
      TZ: ':UTC',
      AWS_LAMBDA_RUNTIME_API: '172.18.0.1:40000',
      _HANDLER: 'index.handler'
    })
  })

  it('passes no AWS credentials', () => {
    const names = Object.keys(environment(lambdaContainerArguments(spec)))
    expect(names.filter(name => /KEY|TOKEN|SECRET/.test(name))).toEqual([])
  })

  it("runs the image's entrypoint with its CMD, the CMD's first word as _HANDLER", () => {
    const args = lambdaContainerArguments(spec)
    expect(args.slice(-3)).toEqual([
      '--entrypoint=/lambda-entrypoint.sh',
      'sha256:abc',
      'index.handler'
    ])
  })

  it('applies ImageConfig overrides: entrypoint with arguments, command, working directory', () => {
    const args = lambdaContainerArguments({
      ...spec,
      function: {
        ...spec.function,
        overrides: {
          entryPoint: ['/usr/bin/node', '/ric/index.mjs'],
          command: ['admin.handler'],
          workingDirectory: '/app',
          environment: { MODE: 'admin' }
        }
      }
    })
    expect(args.slice(-5)).toEqual([
      '--workdir=/app',
      '--entrypoint=/usr/bin/node',
      'sha256:abc',
      '/ric/index.mjs',
      'admin.handler'
    ])
    const env = environment(args)
    expect(env._HANDLER).toBe('admin.handler')
    expect(env.MODE).toBe('admin')
  })

  it('passes an image without entrypoint its command alone', () => {
    const args = lambdaContainerArguments({
      ...spec,
      facts: { ...spec.facts, entrypoint: [], cmd: ['/app/server'] }
    })
    expect(args.some(arg => arg.startsWith('--entrypoint'))).toBe(false)
    expect(args.slice(-2)).toEqual(['sha256:abc', '/app/server'])
  })

  it('clears the entrypoint when the override is an empty list', () => {
    const args = lambdaContainerArguments({
      ...spec,
      function: { ...spec.function, overrides: { entryPoint: [] } }
    })
    expect(args.slice(-3)).toEqual(['--entrypoint=', 'sha256:abc', 'index.handler'])
  })

  it('defaults the task root and runtime dir when the image does not set them', () => {
    const env = environment(
      lambdaContainerArguments({ ...spec, facts: { ...spec.facts, env: [] } })
    )
    expect([env.LAMBDA_TASK_ROOT, env.LAMBDA_RUNTIME_DIR]).toEqual(['/var/task', '/var/runtime'])
  })
})
